"""The typeset letters as a scanner gives them back: image-only PDFs, and how well OCR reads them.

    python evals/scans.py build [--dpi 150 200 300] [--out DIR]   # default evals/corpus/scans/<dpi>dpi
    python evals/scans.py eval --dpi 200 [--strategy rules] [--fail-under 0.97]

`build` takes every typeset PDF `evals/forms.py` wrote (`evals/corpus/forms/pdf/`: the samples and
the corpus letters), renders each page with pypdfium2 at the scan's resolution and degrades it
as a sheet-fed office scanner does: grey paper and ink, a small rotation (0.3-1.5 degrees either
way) on every page, one page skewed more (`SKEWED`, 2-3 degrees), one letter fed in sideways
(`SIDEWAYS`: every page turned 90 degrees), optical blur, speckle, sensor noise and JPEG
compression; each page is then wrapped as a PDF page holding only that picture (no text layer).
The noise comes from a generator seeded by the letter's name and the resolution, and the PDF
carries no date, so a build writes the same bytes every time.

The scans are not committed (a few MB a resolution): `build` makes them in seconds, and `eval`
builds a resolution that is missing. `eval` scores a resolution's folder against the gold
records with the library's own evaluation (`imr_llm.evals.run`, through `forms.evaluate`), so a
scan scores exactly as `imr-llm extract` reads it: through OCR (`imr_llm.ocr`).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import forms
import numpy as np
import pypdfium2
from fpdf import FPDF
from PIL import Image, ImageFilter

PDFS = forms.DEFAULT_OUT / "pdf"
DEFAULT_OUT = forms.ROOT / "evals" / "corpus" / "scans"
RESOLUTIONS = (150, 200, 300)
SEED = 2014
SKEWED = ("modern_03", 1)
"""(letter, page) scanned more crooked than the rest: 2-3 degrees."""
SIDEWAYS = "notice2013_02"
"""The letter fed into the scanner sideways: every page turned 90 degrees."""
PAPER, INK = 236, 28
"""Grey levels a scanner gives white paper and black toner."""


def folder(out: Path, dpi: int) -> Path:
    return out / f"{dpi}dpi"


def _rng(name: str, dpi: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{SEED}:{name}:{dpi}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def degrade(page: Image.Image, dpi: int, rng: np.random.Generator, *, angle: float, quarter_turns: int = 0) -> bytes:
    """One rendered page (mode L, white paper) as a scanner's JPEG of it.

    Blur and speckle are sized in inches, so every resolution sees the same sheet of paper."""
    scale = dpi / 300
    tones = np.asarray(page, dtype=np.float32) / 255.0
    image = Image.fromarray((INK + tones * (PAPER - INK)).astype(np.uint8), "L")
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=PAPER)
    image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.5, 1.0) * scale))
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0.0, 6.0, (image.height, image.width))
    area_in2 = image.width * image.height / dpi**2
    for _ in range(int(rng.uniform(40, 80) * area_in2 / 93.5)):  # 40-80 specks on a letter-size page
        x, y = rng.integers(0, image.width), rng.integers(0, image.height)
        r = max(1, round(rng.uniform(0.5, 2.0) * scale))
        pixels[max(0, y - r) : y + r, max(0, x - r) : x + r] = rng.uniform(INK, 120)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    if quarter_turns:
        image = image.rotate(90 * quarter_turns, expand=True)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(45, 76)), dpi=(dpi, dpi))
    return buffer.getvalue()


def scan(pdf: bytes, dpi: int, seed: str, *, skewed: int | None = None, sideways: bool = False) -> bytes:
    """The PDF `pdf` as an image-only PDF scanned at `dpi`, its noise drawn from `seed`: page
    `skewed` (1-based) 2-3 degrees crooked, and with `sideways` every page turned 90 degrees."""
    rng = _rng(seed, dpi)
    doc = pypdfium2.PdfDocument(pdf)
    out = FPDF(unit="pt")
    out.set_creation_date(forms.PDF_DATE)
    out.set_producer("imr-llm evals/scans.py")
    try:
        for number, page in enumerate(doc, start=1):
            rendered = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            angle = rng.uniform(0.3, 1.5) * rng.choice((-1, 1))
            if number == skewed:
                angle = rng.uniform(2.0, 3.0) * rng.choice((-1, 1))
            jpeg = degrade(rendered, dpi, rng, angle=angle, quarter_turns=int(sideways))
            with Image.open(io.BytesIO(jpeg)) as image:
                size = (image.width * 72 / dpi, image.height * 72 / dpi)
            out.add_page(format=size)
            out.image(io.BytesIO(jpeg), x=0, y=0, w=size[0], h=size[1])
    finally:
        doc.close()
    return bytes(out.output())


def build(out: Path, resolutions: tuple[int, ...] = RESOLUTIONS, only: list[str] | None = None) -> Iterator[Path]:
    """Write every typeset letter (or those named in `only`) as a scan at each resolution."""
    sources = sorted(p for p in PDFS.glob("*.pdf") if only is None or p.stem in only)
    for dpi in resolutions:
        target = folder(out, dpi)
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            path = target / source.name
            skewed = SKEWED[1] if source.stem == SKEWED[0] else None
            sideways = source.stem == SIDEWAYS
            path.write_bytes(scan(source.read_bytes(), dpi, source.stem, skewed=skewed, sideways=sideways))
            yield path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="write every typeset letter as a scan at each resolution")
    p_build.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p_build.add_argument("--dpi", type=int, nargs="+", default=list(RESOLUTIONS))
    p_eval = sub.add_parser("eval", help="score the scans at one resolution (built first if missing)")
    p_eval.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the folder `build` wrote")
    p_eval.add_argument("--dpi", type=int, required=True)
    forms.eval_arguments(p_eval)
    args = parser.parse_args(argv)
    if args.command == "build":
        written = list(build(args.out, tuple(args.dpi)))
        print(f"wrote {len(written)} files under {args.out}")
        return 0
    scans = folder(args.out, args.dpi)
    if not scans.is_dir():
        list(build(args.out, (args.dpi,)))
    return forms.gate(
        forms.evaluate(args.out, args.strategy, cache=not args.no_cache, names=[scans.name]), args.fail_under
    )


if __name__ == "__main__":
    sys.exit(main())
