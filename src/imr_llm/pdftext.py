"""PDF text that keeps lines, pages and paragraphs: what `imr_llm.reading` reads a PDF letter into.

Lines come from pdfminer.six with their places on the page, so a paragraph the PDF wrapped comes
out as its lines with a blank line after it, whatever the line spacing: pypdf gives the lines
with nothing between paragraphs, and pdfminer's own text puts a blank line after every line of a
PDF set one text line per line. Rules field accuracy on the five samples typeset by
`evals/forms.py` / set one PDF line per text line: this 1.000 / 1.000; pypdf (plain or layout
mode) 0.246 / 1.000; pdfminer's `extract_text` 1.000 / 0.289; pdfplumber 0.246 / 0.246.

A page whose text runs sideways or upside down (a page turned with /Rotate, or text drawn in a
turned frame) is laid out again turned so that its text runs left to right: pdfminer builds lines
only from characters side by side, so a sideways page would come out as one letter per line.
Anything pdfminer raises on a malformed file (fuzzed PDFs make it fail an `assert`) is an
`InvalidLetterError`, so one bad file is a recorded failure and never stops a batch.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from imr_llm.errors import InvalidLetterError

CHAR_MARGIN = 6.0
"""Widest gap (in character widths) inside one line of a PDF. Justified lines stretch the spaces
between words; at pdfminer's default of 2 a stretched line breaks into pieces."""
BOXES_FLOW = None
"""pdfminer's ordering of text boxes, off: `page_text` orders lines by their places itself, and
pdfminer's ordering compares every box with every other, which takes seconds on a sideways page
(one box per character) before `_laid_out` turns it. The lines come out the same either way."""
PARAGRAPH_PITCH = 1.3
"""A line this many times the page's usual line pitch below the one before starts a paragraph."""


@dataclass(frozen=True)
class PageLine:
    """One line of text at its place on a page (PDF points, y up): what a PDF page or an OCR'd scan is laid out from."""

    top: float
    height: float
    left: float
    text: str


def _text_lines(item: Any) -> Iterator[Any]:
    """Every pdfminer text line (`LTTextLine`) in a pdfminer layout object."""
    from pdfminer.layout import LTTextLine

    if isinstance(item, LTTextLine):
        yield item
    elif isinstance(item, Iterable):
        for child in item:
            yield from _text_lines(child)


def _lines(item: Any) -> Iterator[PageLine]:
    """Every non-blank text line in a pdfminer layout object, at its place on the page."""
    for line in _text_lines(item):
        if text := line.get_text().strip():
            yield PageLine(line.y1, line.height, line.x0, text)


def page_text(lines: list[PageLine]) -> str:
    """A page's lines top to bottom (pieces of one line joined), a blank line before each line
    set further below the one before than the page's usual line pitch: a paragraph break."""
    rows: list[list[PageLine]] = []
    for line in sorted(lines, key=lambda x: (-x.top, x.left)):
        if rows and abs(rows[-1][0].top - line.top) < 0.5 * max(line.height, rows[-1][0].height):
            rows[-1].append(line)
        else:
            rows.append([line])
    tops = [row[0].top for row in rows]
    pitches = [a - b for a, b in itertools.pairwise(tops)]
    usual = statistics.median(pitches) if pitches else 0.0
    out: list[str] = []
    for i, row in enumerate(rows):
        if i and pitches[i - 1] > PARAGRAPH_PITCH * usual:
            out.append("")
        out.append(" ".join(part.text for part in sorted(row, key=lambda x: x.left)))
    return "\n".join(out)


def _turn(page: Any) -> int:
    """Degrees (0, 90, 180 or 270) the direction most of a laid-out page's lines run in is turned
    counterclockwise from left to right: the turn to undo before reading the page. A line's first
    character tells its direction; on a sideways page every character is a line of its own."""
    from pdfminer.layout import LTChar

    turns: Counter[int] = Counter()
    for line in _text_lines(page):
        if char := next((c for c in line if isinstance(c, LTChar)), None):
            a, b = char.matrix[:2]
            turns[round(math.degrees(math.atan2(b, a)) / 90) % 4 * 90] += 1
    return turns.most_common(1)[0][0] if turns else 0


def _laid_out(page: Any, interpreter: Any, device: Any) -> Any:
    """A page's layout with its text running left to right: laid out once more, with the page's
    /Rotate changed to undo the turn, when most of its characters run another way."""
    interpreter.process_page(page)
    layout = device.get_result()
    if turn := _turn(layout):
        page.rotate = (page.rotate + turn) % 360
        interpreter.process_page(page)
        layout = device.get_result()
    return layout


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF, in order; an `InvalidLetterError` if it cannot be parsed."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # its warnings can quote page content
    resources = PDFResourceManager()
    device = PDFPageAggregator(resources, laparams=LAParams(char_margin=CHAR_MARGIN, boxes_flow=BOXES_FLOW))
    interpreter = PDFPageInterpreter(resources, device)
    try:  # each page's layout becomes text at once: a long file's layouts together would fill memory
        return [
            page_text(list(_lines(_laid_out(page, interpreter, device))))
            for page in PDFPage.get_pages(io.BytesIO(data))
        ]
    except MemoryError:
        raise
    except Exception as exc:  # a parser of untrusted bytes raises anything: `assert`s, recursion, arithmetic
        raise InvalidLetterError(f"not a readable PDF ({type(exc).__name__})") from exc
