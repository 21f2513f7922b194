"""Benchmark extraction on the embedded model: cold vs cached seconds per letter, tokens per letter.

    python evals/bench.py [--strategy whole|per_item|rules] [--samples evals/samples] [--limit N]

Prints one row per letter and a summary. "Cold" is a cache miss on a warm server (server
start-up is timed on its own); "cached" is the same call again, answered from the disk cache.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from imr_llm import extract_result
from imr_llm.embedded import default_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategy", default="whole", choices=["whole", "per_item", "rules"])
    parser.add_argument("--samples", default=str(Path(__file__).parent / "samples"))
    parser.add_argument("--limit", type=int, help="only the first N letters (whole-letter runs take minutes each)")
    args = parser.parse_args(argv)
    letters = sorted(Path(args.samples).glob("*.txt"))[: args.limit]

    started = time.perf_counter()
    if args.strategy != "rules":
        default_server.base_url()
    startup = time.perf_counter() - started
    cache = Path(tempfile.mkdtemp(prefix="imr-bench-"))
    rows = []
    for path in letters:
        text = path.read_text(encoding="utf-8")
        cold = extract_result(text, strategy=args.strategy, cache=cache)
        t = time.perf_counter()
        warm = extract_result(text, strategy=args.strategy, cache=cache)
        cached_s = time.perf_counter() - t
        assert warm.cache_hit and warm.usage.total_tokens == 0
        rows.append((path.stem, cold.latency_s, cached_s, cold.usage.total_tokens, cold.attempts))
        print(f"{path.stem}  cold {cold.latency_s:7.2f}s  cached {cached_s * 1000:7.2f}ms  "
              f"{cold.usage.total_tokens:6d} tokens  {cold.attempts} call(s)", flush=True)  # fmt: skip

    cold_s = statistics.mean(r[1] for r in rows)
    cached_s = statistics.mean(r[2] for r in rows)
    tokens = statistics.mean(r[3] for r in rows)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nstrategy {args.strategy} · {len(rows)} letters · server start-up {startup:.1f}s")
    print(f"cold   {cold_s:.2f} s/letter")
    print(f"cached {cached_s * 1000:.2f} ms/letter  (cold/cached ratio {cold_s / cached_s:,.0f}x)")
    print(f"tokens {tokens:.0f} /letter · calls {statistics.mean(r[4] for r in rows):.1f} /letter")
    print(f"peak RSS of this process {peak_mb:.0f} MB (the llama.cpp server runs in its own process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
