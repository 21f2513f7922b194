"""Benchmark batch extraction: letters/min by concurrency on the embedded model, the cached
rerun, peak memory, and the `rules` strategy's letters/s over a large generated corpus.

    python evals/bench_batch.py [--strategy per_item] [--concurrency 1,2,4] [--rules-letters 10000]

The model corpus is the five samples, the layout variants the tests use, and each sample
with its disputed treatments renamed to ones the rules cannot classify — so `per_item`
must ask the model about every item of those. Each concurrency level starts from an empty
cache on an already-started server. The rules corpus is the samples with a distinct case
number and dates per copy (no two letters alike), written to a temporary folder.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from imr_llm import extract_many, layout
from imr_llm.batch import Tally, extract_one
from imr_llm.embedded import default_server
from imr_llm.extract import Extractor
from imr_llm.sources import discover

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from variants import VARIANTS  # noqa: E402 - the tests' layout variants, built from the samples

SAMPLES = sorted((ROOT / "evals" / "samples").glob("*.txt"))
UNKNOWN = ["Functional restoration program x 10 days", "Interferential stimulator rental",
           "Gym membership x 6 months", "Home health aide 4 hours per day", "Theramine #90"]  # fmt: skip
"""Requests the rules classify as "other": `per_item` asks the model for each."""


def renamed_treatments(text: str) -> str:
    """The letter with each disputed item's request replaced by one the rules do not know."""
    for n, item in enumerate(reversed(layout.parse(text).items)):
        span = item.request
        text = text[: span.start] + UNKNOWN[n % len(UNKNOWN)] + text[span.end :]
    return text


def model_corpus(folder: Path) -> int:
    for path in SAMPLES:
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(text, encoding="utf-8")
        (folder / f"{path.stem}-unknown.txt").write_text(renamed_treatments(text), encoding="utf-8")
    for name, (base, build) in VARIANTS.items():
        (folder / f"{base}-{name}.txt").write_text(build((ROOT / "evals" / "samples" / f"{base}.txt").read_text()))
    return len(list(folder.glob("*.txt")))


def rules_corpus(folder: Path, n: int) -> None:
    rng = random.Random(0)
    texts = [p.read_text(encoding="utf-8") for p in SAMPLES]
    for i in range(n):
        text = texts[i % len(texts)]
        day = f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/2015"
        stamp = f"Case Number: CM{rng.randrange(10**7):07d}\n\nDate Assigned: {day}\n\n"
        (folder / f"{i:05d}.txt").write_text(stamp + text, encoding="utf-8")


def server_peak_mb() -> float:
    proc = default_server._proc
    if proc is None:
        return 0.0
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(folder: Path, concurrency: int, cache: Path | None, **kwargs) -> dict:
    """One batch into a fresh output file; outcomes are tallied as they stream, not kept."""
    out = Path(tempfile.mkdtemp(prefix="imr-bench-out-")) / "results.jsonl"
    tally = Tally()
    for outcome in extract_many([folder], concurrency=concurrency, out=out, cache=cache, **kwargs):
        tally.add(outcome)
    n = tally.ok + tally.failed
    return {"letters": n, "failed": tally.failed, "seconds": tally.seconds, "per_min": tally.per_minute,
            "calls": tally.calls, "tokens": tally.usage.total_tokens, "cached": tally.cache_hits}  # fmt: skip


def show(label: str, r: dict) -> None:
    print(f"{label:<22} {r['letters']:>6} letters {r['failed']:>3} failed {r['seconds']:>9.2f}s "
          f"{r['per_min']:>10.1f}/min {r['calls']:>5} calls {r['tokens']:>8} tokens {r['cached']:>6} cached",
          flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategy", default="per_item", choices=["per_item", "whole"])
    parser.add_argument("--concurrency", default="1,2,4", help="comma-separated levels")
    parser.add_argument("--rules-letters", type=int, default=10_000)
    parser.add_argument("--skip-model", action="store_true", help="only the rules corpus")
    args = parser.parse_args(argv)

    if not args.skip_model:
        folder = Path(tempfile.mkdtemp(prefix="imr-bench-letters-"))
        n = model_corpus(folder)
        t = time.perf_counter()
        default_server.base_url()
        print(f"embedded server start-up {time.perf_counter() - t:.1f}s; {n} letters, strategy {args.strategy}")
        cache = None
        for level in (int(c) for c in args.concurrency.split(",")):
            cache = Path(tempfile.mkdtemp(prefix="imr-bench-cache-"))
            show(f"concurrency {level}", run(folder, level, cache, strategy=args.strategy))
        show("cached rerun (c=4)", run(folder, 4, cache, strategy=args.strategy))
        print(f"peak RSS: this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
              f"llama.cpp server {server_peak_mb():.0f} MB\n")  # fmt: skip

    if args.rules_letters:
        folder = Path(tempfile.mkdtemp(prefix="imr-bench-rules-"))
        rules_corpus(folder, args.rules_letters)
        for level in (1, 4):
            r = run(folder, level, None, strategy="rules")
            show(f"rules, concurrency {level}", r)
            print(f"{'':<22} {r['letters'] / r['seconds']:.0f} letters/s")
        profile = cProfile.Profile()
        sample = Path(tempfile.mkdtemp(prefix="imr-bench-profile-"))
        rules_corpus(sample, 500)
        letters = discover([sample])
        rules = Extractor.resolve(strategy="rules", cache=False)
        profile.enable()
        for letter in letters:  # in this thread: cProfile sees only the thread it runs in
            extract_one(letter, rules)
        profile.disable()
        print("\nwhere the time goes (rules, 500 letters, one thread; imr_llm functions by cumulative time):")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(r"imr_llm", 16)
        print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
