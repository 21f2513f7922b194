"""Extract one sample letter and print what an analyst would count.

python examples/quickstart.py [letter.txt] [--strategy whole]
"""

import argparse
from pathlib import Path

from imr_llm import extract_result

SAMPLE = Path(__file__).resolve().parents[1] / "evals" / "samples" / "002_53cd04ea59152e39.txt"

parser = argparse.ArgumentParser()
parser.add_argument("letter", nargs="?", default=str(SAMPLE))
parser.add_argument("--strategy", default="per_item", choices=["per_item", "whole", "rules"])
args = parser.parse_args()

result = extract_result(Path(args.letter).read_text(encoding="utf-8"), strategy=args.strategy)
record = result.determination
print(f"reviewer: {', '.join(record.reviewer.specialties)} ({', '.join(record.reviewer.licensed_states)})")
for item in record.items:
    pages = item.reviewer_guideline.pages
    print(f"- {item.request}: {item.decision.value} · {item.treatment.category.value}"
          f" · {item.treatment.generic_name or item.treatment.name} · MTUS pages {pages or '-'}")  # fmt: skip
print(f"{result.usage.total_tokens} tokens, {result.attempts} model call(s), {result.latency_s:.2f}s"
      + (" (cached)" if result.cache_hit else ""))  # fmt: skip
