"""Extract a folder of letters (.txt and .pdf) to JSONL, then flatten it to one CSV row per item.

python examples/batch_folder.py [FOLDER] [--out results.jsonl] [--strategy per_item] [--concurrency 4]

Run it twice: the second run finds every letter already in the output and does nothing.
"""

import argparse
from collections import Counter
from pathlib import Path

from imr_llm import extract_many
from imr_llm.export import write_csv

SAMPLES = Path(__file__).resolve().parents[1] / "evals" / "samples"

parser = argparse.ArgumentParser()
parser.add_argument("folder", nargs="?", default=str(SAMPLES))
parser.add_argument("--out", default="results.jsonl")
parser.add_argument("--strategy", default="per_item", choices=["per_item", "whole", "rules"])
parser.add_argument("--concurrency", type=int, default=4)
args = parser.parse_args()

decisions: Counter[str] = Counter()
failed = 0
for outcome in extract_many([args.folder], out=args.out, strategy=args.strategy, concurrency=args.concurrency):
    if outcome.result is None:
        failed += 1
        print(f"{outcome.letter.id}: {type(outcome.error).__name__}: {outcome.error}")
        continue
    decisions.update(item.decision.value for item in outcome.result.determination.items)
    print(f"{outcome.letter.id}: {len(outcome.result.determination.items)} item(s)")

items_csv = Path(args.out).with_suffix(".items.csv")
rows = write_csv(args.out, items_csv)
print(f"this run: {dict(decisions)} decisions, {failed} failed; {rows} item rows in {items_csv}")
