"""Benchmark extraction on the embedded model: cold vs cached seconds per letter, tokens per letter,
and the llama.cpp server's peak memory.

    python evals/bench.py [--strategy whole|per_item|rules] [--samples DIR …] [--limit N] [--longest]
                          [--unknown-treatments] [--server-setting NAME=VALUE …]

Prints one row per letter and a summary. "Cold" is a cache miss on a warm server (server
start-up is timed on its own); "cached" is the same call again, answered from the disk cache.
The server's peak resident memory is its process's high-water mark (`VmHWM` in
/proc/<pid>/status, Linux), read after the last letter: the server is started fresh for the run.
`--longest` runs only the longest letter of the folders; `--unknown-treatments` renames each
letter's requests to treatments the rules do not know, so `per_item` asks the model about each
(its gap questions); `--server-setting` overrides one of `imr_llm.embedded.SETTINGS` (e.g.
`logits_all=true use_mmap=true n_batch=512 n_ubatch=512 type_k=1` is llama_cpp.server's own
defaults, as before issue 26).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from imr_llm import embedded, extract_result
from imr_llm.reading import read


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategy", default="whole", choices=["whole", "per_item", "rules"])
    parser.add_argument("--samples", action="append", help="a folder of .txt letters (again for more)")
    parser.add_argument("--limit", type=int, help="only the first N letters (whole-letter runs take minutes each)")
    parser.add_argument("--longest", action="store_true", help="only the longest letter (in characters)")
    parser.add_argument("--unknown-treatments", action="store_true", help="rename requests: per_item asks about each")
    parser.add_argument("--server-setting", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    folders = args.samples or [str(Path(__file__).parent / "samples")]
    letters = {path: read(path) for folder in folders for path in sorted(Path(folder).glob("*.txt"))}
    if args.unknown_treatments:
        from bench_batch import renamed_treatments  # this folder's batch benchmark: one renaming rule

        letters = {path: renamed_treatments(text) for path, text in letters.items()}
    chosen = [max(letters, key=lambda p: len(letters[p]))] if args.longest else list(letters)[: args.limit]
    settings = dict(s.split("=", 1) for s in args.server_setting)
    server = embedded.default_server = embedded.EmbeddedServer(settings=settings)

    started = time.perf_counter()
    if args.strategy != "rules":
        server.base_url()
    startup = time.perf_counter() - started
    pid = server.pid
    cache = Path(tempfile.mkdtemp(prefix="imr-bench-"))
    rows = []
    for path in chosen:
        text = letters[path]
        cold = extract_result(text, strategy=args.strategy, cache=cache)
        t = time.perf_counter()
        warm = extract_result(text, strategy=args.strategy, cache=cache)
        cached_s = time.perf_counter() - t
        assert warm.cache_hit and warm.usage.total_tokens == 0
        rows.append((path.stem, cold.latency_s, cached_s, cold.usage.total_tokens, cold.attempts))
        print(f"{path.stem}  {len(text):,} chars  cold {cold.latency_s:7.2f}s  cached {cached_s * 1000:7.2f}ms  "
              f"{cold.usage.prompt_tokens:6d} + {cold.usage.completion_tokens:4d} tokens  {cold.attempts} call(s)  "
              f"decisions {[i.decision.value for i in cold.determination.items]}", flush=True)  # fmt: skip

    cold_s = statistics.mean(r[1] for r in rows)
    cached_s = statistics.mean(r[2] for r in rows)
    tokens = statistics.mean(r[3] for r in rows)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nstrategy {args.strategy} · {len(rows)} letters · server start-up {startup:.1f}s")
    print(f"cold   {cold_s:.2f} s/letter")
    print(f"cached {cached_s * 1000:.2f} ms/letter  (cold/cached ratio {cold_s / cached_s:,.0f}x)")
    print(f"tokens {tokens:.0f} /letter · calls {statistics.mean(r[4] for r in rows):.1f} /letter")
    print(f"peak RSS of this process {peak_mb:.0f} MiB")
    if pid is not None:
        server_mb = peak_rss_mb(pid)
        print(f"peak RSS of the llama.cpp server {server_mb:,.0f} MiB ({server_mb * 2**20 / 1e9:.2f} GB); "
              f"settings {' '.join(f'{k}={v}' for k, v in server.settings.items())}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
