"""PDF text that keeps lines, pages and paragraphs: what `imr_llm.reading` reads a PDF letter into.

Lines come from pdfminer.six with their places on the page, so a paragraph the PDF wrapped comes
out as its lines with a blank line after it, whatever the line spacing: pypdf gives the lines
with nothing between paragraphs, and pdfminer's own text puts a blank line after every line of a
PDF set one text line per line. Rules field accuracy on the five samples typeset by
`evals/forms.py` / set one PDF line per text line: this 1.000 / 1.000; pypdf (plain or layout
mode) 0.246 / 1.000; pdfminer's `extract_text` 1.000 / 0.289; pdfplumber 0.246 / 0.246.
"""

from __future__ import annotations

import io
import itertools
import logging
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from imr_llm.errors import InvalidLetterError

CHAR_MARGIN = 6.0
"""Widest gap (in character widths) inside one line of a PDF. Justified lines stretch the spaces
between words; at pdfminer's default of 2 a stretched line breaks into pieces."""
PARAGRAPH_PITCH = 1.3
"""A line this many times the page's usual line pitch below the one before starts a paragraph."""


@dataclass(frozen=True)
class _Line:
    top: float
    height: float
    left: float
    text: str


def _lines(item: Any) -> Iterator[_Line]:
    """Every non-blank text line in a pdfminer layout object, at its place on the page."""
    from pdfminer.layout import LTTextLine

    if isinstance(item, LTTextLine):
        if text := item.get_text().strip():
            yield _Line(item.y1, item.height, item.x0, text)
    elif isinstance(item, Iterable):
        for child in item:
            yield from _lines(child)


def _page_text(lines: list[_Line]) -> str:
    """A page's lines top to bottom (pieces of one line joined), a blank line before each line
    set further below the one before than the page's usual line pitch: a paragraph break."""
    rows: list[list[_Line]] = []
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


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF, in order; an `InvalidLetterError` if it cannot be parsed."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams
    from pdfminer.psexceptions import PSException

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # its warnings can quote page content
    try:
        pages = extract_pages(io.BytesIO(data), laparams=LAParams(char_margin=CHAR_MARGIN))
        return [_page_text(list(_lines(page))) for page in pages]
    except (PSException, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError) as exc:
        raise InvalidLetterError(f"not a readable PDF ({type(exc).__name__})") from exc
