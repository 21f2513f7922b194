"""Text for the pages of a PDF that have none: each is rendered, straightened and read by tesseract.

Most letters users hold are scans: image-only PDFs. `imr_llm.reading` sends every page whose
text layer is (nearly) empty here and gets back its text and how sure the engine was, then makes
it canonical like any PDF's pages (furniture removed, words rejoined).

A page, in order:

- rendered by pypdfium2 at the resolution of the image it holds (a 200 dpi scan at 200 dpi),
  within 150-300 dpi; 300 dpi when it holds none. Reading 150 dpi scans at 300 dpi moved their
  scores both ways at twice the time (`evals/README.md`, "OCR"). PDFium may be called from one
  thread at a time, so rendering takes a lock; tesseract runs outside it.
- straightened: the skew angle (up to `SKEW_LIMIT` degrees either way) is the one at which the
  ink's projection profile is sharpest, along rows or, on a page scanned sideways, along
  columns. On a page scanned 2-3 degrees crooked this took the word error rate from 5.3% to
  1.2%; tesseract finds tilted lines but does not level them.
- read by tesseract (`--psm 1`: page segmentation with orientation and script detection), which
  turns a page scanned sideways or upside down (90/180/270 degrees) upright in the same pass, and
  reports each word's confidence and box. Lines are laid out as a PDF's are (`imr_llm.pdftext`:
  a blank line where the gap above a line is wider than the page's usual pitch); specks that
  tesseract read as marks of punctuation are dropped.

The engine is Debian's `tesseract-ocr` (with `tesseract-ocr-eng` and `tesseract-ocr-osd`), run as
a program with the page piped in and its TSV piped out: no page image is ever written to disk,
and each run is held to one thread (`OMP_THREAD_LIMIT`, unless set) so a batch's letters share
the cores instead of fighting over them. Chosen by measurement (`evals/README.md`): 0.2% character
and 0.9% word errors on noisy 200 dpi scans, where RapidOCR (ONNX models in its wheel) dropped the
spaces between English words (54-57% word errors).
Nothing is downloaded at run time. When tesseract or its language data is missing,
`OcrUnavailableError` names the line that installs them.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import io
import os
import shutil
import statistics
import subprocess
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imr_llm.errors import InvalidLetterError, OcrUnavailableError, shown
from imr_llm.pdftext import PageLine, page_text  # the paragraph-by-pitch rule every page is laid out by
from imr_llm.result import Provenance

if TYPE_CHECKING:  # numpy, Pillow and PDFium are imported by the first scan, not by every start
    from PIL import Image

INSTALL = "apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd"
"""What puts the engine and its English and orientation data on a Debian or Ubuntu machine."""
DEFAULT_DPI = 300
"""Rendering resolution of a page that holds no image (text drawn as outlines, say)."""
MIN_DPI, MAX_DPI = 150, 300
"""A page's own image resolution is used within these: above 300 dpi reads no better, and costs time."""
SKEW_LIMIT = 5.0
"""Largest skew (degrees either way) straightened; a page worse than this is a badly fed sheet."""
MIN_SKEW = 0.1
"""Smaller skews are left alone: rotating costs time and sharpness for nothing."""
PAGE_TIMEOUT = 300
"""Seconds tesseract may take over one page before the letter fails (a page takes seconds)."""
LANGUAGES = ("eng", "osd")
SPECK_HEIGHT, SPECK_CONFIDENCE, SPECK_SIZE = 0.5, 0.6, 0.25
"""Specks of dust or toner that tesseract reads as words: a "word" shorter than `SPECK_HEIGHT` of the
page's usual word height read with less confidence than `SPECK_CONFIDENCE`, or one whose box is
under `SPECK_SIZE` of that height both ways, however sure (a spaced dash is wider than that)."""
LOW_CONFIDENCE = 0.94
"""A letter whose OCR'd words average less confidence than this needs a person to check its record
(`doubts`). Chosen by measurement (`evals/README.md`, "OCR")."""

_PDFIUM = threading.Lock()
"""PDFium is not thread-safe, even across documents: one render at a time in this process."""


@dataclass(frozen=True)
class OcrPage:
    """One page as OCR read it: its text, the number of words, and their mean confidence (0-1)."""

    text: str
    words: int
    confidence: float | None
    """Mean of tesseract's word confidences, as a fraction; None for a page with no words."""
    skew: float
    """Degrees the page was turned to straighten it (before tesseract's own 90-degree turns)."""


def mean_confidence(pages: Sequence[OcrPage]) -> float | None:
    """The mean word confidence over every word on `pages` (each word counts once); None with no words."""
    words = sum(page.words for page in pages)
    if not words:
        return None
    return sum(page.words * (page.confidence or 0.0) for page in pages) / words


def doubts(provenance: Provenance) -> list[str]:
    """Why a record's text casts doubt on it, in words for `Determination.needs_review`: OCR that
    was not sure of its words."""
    confidence = provenance.ocr_confidence
    if provenance.source != "ocr" or confidence is None or confidence >= LOW_CONFIDENCE:
        return []
    return [
        f"text read by OCR with mean word confidence {confidence:.2f} (under {LOW_CONFIDENCE:.2f}): "
        "check the values against the scan"
    ]


# ---------------------------------------------------------------------------------------------
# The engine


def engine() -> str:
    """The tesseract program to run; `OcrUnavailableError` naming `INSTALL` when it cannot read English here."""
    program = shutil.which("tesseract")
    if program is None:
        raise OcrUnavailableError(f"this PDF is a scan without a text layer, and no OCR engine is installed: {INSTALL}")
    missing = [lang for lang in LANGUAGES if lang not in _languages(program, os.environ.get("TESSDATA_PREFIX"))]
    if missing:
        data = "/".join(missing)
        raise OcrUnavailableError(
            f"this PDF is a scan without a text layer, and tesseract has no {data} language data: {INSTALL}"
        )
    return program


@functools.cache
def _languages(program: str, tessdata: str | None) -> frozenset[str]:
    """The language data `program` finds (`--list-langs`) in `tessdata` (`TESSDATA_PREFIX`, None:
    its own), asked once per program and folder."""
    environment = {k: v for k, v in os.environ.items() if k != "TESSDATA_PREFIX"}
    if tessdata is not None:
        environment["TESSDATA_PREFIX"] = tessdata
    try:
        listed = subprocess.run([program, "--list-langs"], capture_output=True, text=True, timeout=60, check=False,
                                env=environment)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(line.strip() for line in listed.stdout.splitlines()[1:])


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}


def recognise(program: str, image: Image.Image, dpi: int) -> tuple[str, list[float]]:
    """The page's text (its lines, a blank line between paragraphs) and each word's confidence
    (0-1). The image goes in and the words come out through pipes."""
    picture = io.BytesIO()
    image.save(picture, "PPM")
    command = [program, "stdin", "stdout", "--psm", "1", "--dpi", str(dpi), "-l", "eng", "tsv"]
    try:
        done = subprocess.run(command, input=picture.getvalue(), capture_output=True, timeout=PAGE_TIMEOUT,
                              env=_environment(), check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise InvalidLetterError(f"OCR took over {PAGE_TIMEOUT} s on a page; the scan cannot be read") from None
    if done.returncode != 0:
        raise InvalidLetterError(f"OCR failed on a page (tesseract exit status {done.returncode})")
    return _from_tsv(done.stdout.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class _Word:
    """One word of tesseract's TSV: its line, its box (pixels, y down) and confidence (0-100)."""

    line: tuple[str, str, str]
    left: int
    top: int
    width: int
    height: int
    conf: float
    text: str

    def turned(self, quarter: int, width: int, height: int) -> _Word:
        """This word's box on the page turned `quarter` quarter-turns clockwise (the page `width` x `height`)."""
        if quarter == 2:
            return dataclasses.replace(self, left=width - self.left - self.width, top=height - self.top - self.height)
        if quarter == 1:  # the text ran down the page: its right-hand edge is the new top
            left, top = self.top, width - self.left - self.width
        elif quarter == 3:  # the text ran up the page
            left, top = height - self.top - self.height, self.left
        else:
            return self
        return dataclasses.replace(self, left=left, top=top, width=self.height, height=self.width)


def _quarter_turns(words: Sequence[_Word]) -> int:
    """How the page lay when tesseract read it upright (`--psm 1` turns a page but gives its boxes
    as scanned): which way each line's words run, summed over lines. 0 upright, 1 text running down
    the page, 2 upside down, 3 running up."""
    dx = dy = 0.0
    lines: dict[tuple[str, str, str], list[_Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    for line in lines.values():
        first, last = line[0], line[-1]
        dx += (last.left + last.width / 2) - (first.left + first.width / 2)
        dy += (last.top + last.height / 2) - (first.top + first.height / 2)
    if abs(dx) >= abs(dy):
        return 0 if dx >= 0 else 2
    return 1 if dy > 0 else 3


def _from_tsv(tsv: str) -> tuple[str, list[float]]:
    """The page's text and its words' confidences from tesseract's TSV (a row for the page, level 1,
    and one per word, level 5, with its box and its block, paragraph and line numbers).

    Boxes are first turned to the upright page tesseract read. Lines are then laid out by
    `imr_llm.pdftext`'s rule, as a PDF's are: top to bottom, a blank line where the gap to the line
    above is wider than the page's usual line pitch (tesseract's own paragraphs ran an item heading
    into the label under it). Specks read as words are dropped (`SPECK_HEIGHT`)."""
    words: list[_Word] = []
    size = (0, 0)
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        box = [int(row[key]) for key in ("left", "top", "width", "height")]
        if row["level"] == "1":
            size = (box[2], box[3])
        elif row["level"] == "5" and (text := (row["text"] or "").strip()):
            words.append(_Word((row["block_num"], row["par_num"], row["line_num"]), *box, float(row["conf"]), text))
    if not words:
        return "", []
    quarter = _quarter_turns(words)
    words = [word.turned(quarter, *size) for word in words]
    usual = statistics.median(word.height for word in words)

    def speck(word: _Word) -> bool:
        if max(word.height, word.width) < SPECK_SIZE * usual:
            return True
        return word.height < SPECK_HEIGHT * usual and word.conf < 100 * SPECK_CONFIDENCE

    lines: dict[tuple[str, str, str], list[_Word]] = {}
    for word in words:
        if not speck(word):
            lines.setdefault(word.line, []).append(word)
    placed = []
    for line in lines.values():
        # Placed by its baseline: the highest foot of its full-height words (a word with a descender
        # reaches below it, a dash or a mark stops above it, a speck over a word leaves it alone).
        full = [word for word in line if word.height >= 0.5 * usual] or line
        foot = min(word.top + word.height for word in full)
        height = statistics.median(word.height for word in line)
        text = " ".join(word.text for word in line)
        placed.append(PageLine(top=-foot, height=height, left=min(word.left for word in line), text=text))
    confidences = [max(0.0, word.conf) / 100 for line in lines.values() for word in line]
    return page_text(placed), confidences


# ---------------------------------------------------------------------------------------------
# Straightening


def skew_angle(image: Image.Image, limit: float = SKEW_LIMIT) -> float:
    """Degrees to turn `image` counter-clockwise (`Image.rotate`) to level its lines of text.

    The ink is projected onto the rows (or, for a page turned sideways, the columns) along each
    candidate slope; where the lines are level the profile is sharpest (largest sum of squares).
    Searched on a copy of at most ~1,300 pixels a side, a quarter degree apart, then a twentieth."""
    import numpy as np

    small = np.asarray(image.reduce(max(1, min(image.size) // 1000)))
    ys, xs = np.nonzero(small < 128)
    if len(ys) < 100:
        return 0.0
    height, width = small.shape
    best: tuple[float, float] = (0.0, 0.0)
    for along, across, sign in ((ys, xs - width / 2, 1.0), (xs, ys - height / 2, -1.0)):

        def sharpness(degrees: float, along: Any = along, across: Any = across) -> float:
            bins = np.round(along - across * np.tan(np.radians(degrees))).astype(np.int64)
            return float(np.square(np.bincount(bins - bins.min()).astype(np.float64)).sum())

        coarse = max(np.arange(-limit, limit + 1e-9, 0.25), key=sharpness)
        fine = max(np.arange(coarse - 0.25, coarse + 0.25 + 1e-9, 0.05), key=sharpness)
        if (score := sharpness(fine)) > best[0]:
            best = (score, sign * float(fine))
    return round(best[1], 2)


def straightened(image: Image.Image) -> tuple[Image.Image, float]:
    """`image` turned level (paper colour filling the corners) and the angle it was turned by."""
    import numpy as np
    from PIL import Image

    angle = skew_angle(image)
    if abs(angle) < MIN_SKEW:
        return image, 0.0
    paper = int(np.median(np.asarray(image.reduce(4))))
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=paper), angle


# ---------------------------------------------------------------------------------------------
# Pages


def _images(page: Any) -> list[Any]:
    """The images a PDFium page draws (in forms too)."""
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    found = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3)
    return [obj for obj in found if isinstance(obj, pypdfium2.PdfImage)]


@contextlib.contextmanager
def _document(data: bytes) -> Iterator[Any]:
    """The PDF opened by PDFium, under the lock; `InvalidLetterError` when PDFium cannot read it."""
    import pypdfium2

    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            raise InvalidLetterError("the PDF's pages cannot be rendered for OCR") from exc
        try:
            yield document
        finally:
            document.close()


def image_pages(data: bytes) -> set[int]:
    """Indexes (0-based) of the pages of the PDF `data` that draw an image, as a scanned page does."""
    with _document(data) as document:
        return {index for index, page in enumerate(document) if _images(page)}


def _render(data: bytes, index: int) -> tuple[Image.Image, int]:
    """Page `index` (0-based) as a greyscale image, rendered at the resolution of the largest image
    it draws (within `MIN_DPI`-`MAX_DPI`; `DEFAULT_DPI` with none), and that resolution."""
    with _document(data) as document:
        page = document[index]
        found = max((float(image.get_metadata().horizontal_dpi) for image in _images(page)), default=0.0)
        dpi = round(min(max(found, MIN_DPI), MAX_DPI)) if found else DEFAULT_DPI
        return page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L"), dpi


def read_page(program: str, data: bytes, index: int) -> OcrPage:
    """Page `index` of the PDF `data`, rendered, straightened and read."""
    image, dpi = _render(data, index)
    image, angle = straightened(image)
    text, confidences = recognise(program, image, dpi)
    confidence = sum(confidences) / len(confidences) if confidences else None
    return OcrPage(text=text, words=len(confidences), confidence=confidence, skew=angle)


def read_pages(data: bytes, indexes: Sequence[int], *, progress: bool = False, name: str = "") -> list[OcrPage]:
    """Pages `indexes` (0-based) of the PDF `data` read by OCR, in that order, as many at once as
    there are cores. With `progress`, a bar on stderr counts pages (it names the file, never its text).

    Raises `OcrUnavailableError` (before any page) when tesseract cannot run here."""
    from tqdm import tqdm

    program = engine()
    workers = max(1, min(len(indexes), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imr-llm-ocr") as pool:
        pages: Iterator[OcrPage] = pool.map(lambda index: read_page(program, data, index), indexes)
        bar = tqdm(pages, total=len(indexes), desc=shown(f"OCR {name}".strip()), unit="page", leave=False,
                   disable=not progress)  # fmt: skip
        return list(bar)
