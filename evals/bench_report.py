"""Benchmark `imr-llm report`: seconds and peak memory per million items on a generated results file.

    python evals/bench_report.py [--items 1000000] [--out DIR]

The results file is generated (`generate`): the gold records of the project's letters,
copied with distinct ids, random decisions, dates, reviewer specialties, cited pages and
generic names (their drug class kept consistent), plus 1% failed letters in the errors file
and 2% records flagged for review — the shape `imr-llm extract --out` writes at scale. The report
runs in a child process (the CLI, as a user runs it), so its peak RSS is its own, not the
generator's; an import-only child gives the fixed cost of starting Python and the library.
`tests/test_report_duckdb.py` uses `generate` for its Parquet shards.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLD = [*sorted((ROOT / "evals" / "gold").glob("*.json")), *sorted((ROOT / "evals" / "corpus" / "gold").glob("*.json"))]
GENERICS = ["hydrocodone/acetaminophen", "oxycodone", "tramadol", "tapentadol", "cyclobenzaprine", "tizanidine",
            "carisoprodol", "gabapentin", "pregabalin", "naproxen", "meloxicam", "diclofenac", "omeprazole",
            "pantoprazole", "lidocaine", "flurbiprofen/capsaicin/menthol/camphor", "duloxetine", "amitriptyline",
            "zolpidem", "eszopiclone", "alprazolam", "ondansetron", "theramine", "some unlisted drug"]  # fmt: skip
SPECIALTIES = ["Physical Medicine and Rehabilitation", "Family Practice", "Internal Medicine", "Orthopedic Surgery",
               "Anesthesiology", "Neurology", "Psychology", "Chiropractic", "Occupational Medicine"]  # fmt: skip


def templates() -> list[dict[str, Any]]:
    """The gold records as `extract --out` dumps them (derived values included)."""
    from imr_llm.schema import Determination

    return [Determination.model_validate_json(p.read_text(encoding="utf-8")).model_dump(mode="json") for p in GOLD]


def generate(items: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Batch rows holding at least `items` items in all: records, with failures (`ok: false`) among them.
    Ids are `gen<seed>-<n>`, so files generated with different seeds hold different letters."""
    from imr_llm.drugs import drug_class

    rng = random.Random(seed)
    pool = templates()
    made, n = 0, 0
    while made < items:
        n += 1
        if rng.random() < 0.01:
            yield {"id": f"gen{seed}-{n:08d}", "ok": False, "error": {"type": "ExtractionError", "kind": "validation"}}
            continue
        record = json.loads(json.dumps(rng.choice(pool)))
        record["ur_decision_date"] = f"{rng.randint(2013, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        record["reviewer"]["specialties"] = rng.sample(SPECIALTIES, rng.choice((1, 1, 2)))
        record["needs_review"] = ["generated: flagged"] if rng.random() < 0.02 else []
        for item in record["items"]:
            item["decision"] = "overturned" if rng.random() < 0.12 else "upheld"
            treatment = item["treatment"]
            if treatment["category"] == "medication":
                treatment["name"] = treatment["generic_name"] = rng.choice(GENERICS)  # the name decides the generic
                found = drug_class(treatment["generic_name"])
                treatment["drug_class"] = found.value if found else None
            pages = item["reviewer_guideline"]["pages"]
            if pages:
                item["reviewer_guideline"]["pages"] = sorted({p + rng.choice((0, 0, 1, 2)) for p in pages})
        made += len(record["items"])
        yield {"id": f"gen{seed}-{n:08d}", "sha256": f"{seed:08x}{n:056x}", "ok": True, "determination": record}


def write_results(path: Path, items: int, seed: int = 0) -> int:
    """The generated rows to `path` (records) and `<path stem>.errors.jsonl` (failures); returns the items."""
    total = 0
    errors = path.with_name(f"{path.stem}.errors.jsonl")
    with path.open("w", encoding="utf-8") as good, errors.open("w", encoding="utf-8") as bad:
        for row in generate(items, seed):
            (good if row["ok"] else bad).write(json.dumps(row) + "\n")
            total += len(row["determination"]["items"]) if row["ok"] else 0
    return total


def _child(code: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of `python -c code` (Linux reports ru_maxrss in KiB)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="items in the generated results file")
    parser.add_argument("--out", help="folder for the results, page and CSVs (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.out or tempfile.mkdtemp(prefix="imr-report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.jsonl"
    start = time.perf_counter()
    items = write_results(results, args.items)
    print(f"generated {items} items ({results.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f}s")
    _, base_rss = _child("import imr_llm")
    code = (f"import imr_llm; r = imr_llm.report({str(results)!r}, {str(folder / 'report.html')!r}); "
            "print(r.quality.letters_counted, 'letters', r.quality.items_counted, 'items counted')")  # fmt: skip
    seconds, rss = _child(code)
    print(f"report: {seconds:.1f}s, peak RSS {rss:.0f} MiB (importing imr_llm alone: {base_rss:.0f} MiB)")
    print(f"per million items: {seconds * 1_000_000 / items:.1f}s")


if __name__ == "__main__":
    main()
