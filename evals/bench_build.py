"""Tokens per second of the installed llama-cpp-python build on the embedded model.

What a portable build (`CMAKE_ARGS="-DGGML_NATIVE=OFF"`, the README's install: AVX2/FMA/F16C
baseline, runs on any x86-64 machine with AVX2) costs against a native one (`-march=native`,
which may use AVX-512 or AMX and crashes on machines without them). Run it once per build,
e.g. a native wheel installed elsewhere put first on the path:

    python evals/bench_build.py
    PYTHONPATH=/tmp/native-site python evals/bench_build.py

Prints the build's CPU features, then prompt processing (prefill) and generation speed, each
the median of `--repeats` runs of a sample letter's first `--prompt-tokens` tokens, greedy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import llama_cpp

from imr_llm.embedded import QWEN_1_5B, assemble

SAMPLE = Path(__file__).parent / "samples" / "001_63c5b1a966744848.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--gen-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    print(f"llama-cpp-python {llama_cpp.__version__} from {Path(llama_cpp.__file__).parent}")
    print(llama_cpp.llama_print_system_info().decode().strip())
    llm = llama_cpp.Llama(
        model_path=str(assemble(QWEN_1_5B)), n_ctx=2048, n_threads=args.threads,
        n_threads_batch=args.threads, verbose=False,
    )  # fmt: skip
    tokens = llm.tokenize(SAMPLE.read_text(encoding="utf-8").encode())[: args.prompt_tokens]
    prefill, generate = [], []
    for _ in range(args.repeats):
        llm.reset()  # no prefix reuse between runs: each one evaluates the whole prompt
        started = time.perf_counter()
        llm.eval(tokens)
        prefill.append(len(tokens) / (time.perf_counter() - started))
        started = time.perf_counter()
        for n, token in enumerate(llm.generate([], temp=0.0, reset=False), start=1):
            if n == args.gen_tokens or token == llm.token_eos():
                break
        generate.append(n / (time.perf_counter() - started))
    print(f"threads {args.threads}: prompt {statistics.median(prefill):.1f} tokens/s "
          f"({len(tokens)} tokens), generation {statistics.median(generate):.1f} tokens/s "
          f"(median of {args.repeats})")  # fmt: skip


if __name__ == "__main__":
    main()
