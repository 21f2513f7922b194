"""OCR's cost and accuracy by scan resolution: seconds a page, peak memory, and the eval's scores.

    python evals/bench_ocr.py [--dpi 150 200 300] [--letters N]

For each resolution, the scans `evals/scans.py` builds (built first if missing) are evaluated on
`rules` exactly as `python evals/scans.py eval` does (`imr_llm.evals.run`, cache off), so every
page is read by OCR (`imr_llm.ocr`) once. Prints one Markdown row per resolution: letters, pages,
field accuracy, decisions right, item F1, letters failed; wall seconds a page (pages run as many at
once as there are cores, so on 2 cores two at a time) and tesseract's CPU seconds a page; peak
resident memory (`ru_maxrss`) of this process (rendering, straightening; a high-water mark over
the run so far) and of tesseract reading the first page, measured from a small launcher process:
a child forked from this one reports this one's size as its own. Run it on an otherwise idle
machine: a shared one inflates the wall time.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import forms
import pypdfium2
import scans

from imr_llm import ocr
from imr_llm.evals.dataset import load
from imr_llm.evals.run import evaluate


def pages(folder: Path, names: list[str]) -> int:
    total = 0
    for name in names:
        with pypdfium2.PdfDocument(folder / f"{name}.pdf") as document:
            total += len(document)
    return total


LAUNCHER = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdin=sys.stdin, stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
"""Runs tesseract from a fresh, small interpreter and prints its peak resident memory (KiB)."""


def tesseract_peak_mb(scan: Path) -> float:
    """Peak memory of tesseract reading page 1 of `scan` as `imr_llm.ocr` has it read."""
    image, dpi = ocr._render(scan.read_bytes(), 0)
    image, _ = ocr.straightened(image)
    picture = io.BytesIO()
    image.save(picture, "PPM")
    command = [ocr.engine(), "stdin", "stdout", "--psm", "1", "--dpi", str(dpi), "-l", "eng", "tsv"]
    done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *command], input=picture.getvalue(),
                          capture_output=True, check=True, env=ocr._environment())  # fmt: skip
    return int(done.stdout) / 1024


def bench(dpi: int, limit: int | None) -> str:
    """One Markdown row: the scans at `dpi` evaluated, timed and measured."""
    folder = scans.folder(scans.DEFAULT_OUT, dpi)
    if not folder.is_dir():
        list(scans.build(scans.DEFAULT_OUT, (dpi,)))
    cases = load(folder, [gold for gold in forms.GOLDS if gold.is_dir()])[:limit]
    count = pages(folder, [case.name for case in cases])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    report = evaluate(cases, strategy="rules", cache=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = tesseract_peak_mb(cases[0].path)
    s, meta = report.summary, report.meta
    return (
        f"| {dpi} | {meta.letters} | {count} | {s.headline:.3f} | {s.decision_accuracy:.3f} | {s.item_f1:.3f} "
        f"| {meta.failed} | {wall / count:.2f} | {cpu / count:.2f} | {own_mb:.0f} | {child_mb:.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dpi", type=int, nargs="+", default=list(scans.RESOLUTIONS))
    parser.add_argument("--letters", type=int, help="only the first N letters (default: all)")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores; OMP_THREAD_LIMIT={os.environ.get('OMP_THREAD_LIMIT', '1 (imr_llm.ocr default)')}")
    print("| dpi | letters | pages | field accuracy | decisions | item F1 | failed | s/page (wall) "
          "| tesseract CPU s/page | peak RSS python MB | peak RSS tesseract MB (page 1) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for dpi in args.dpi:
        print(bench(dpi, args.letters), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
