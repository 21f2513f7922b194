"""One way to read a letter: whatever form it arrives in, the canonical text every stage sees.

Every entry point (`extract` on a str, bytes or a file; batches; `imr-llm eval` and
`review`; the OpenAI Batch path) reads a letter through `read`, so a letter scores in the
eval exactly as it extracts, evidence offsets index the text a review page shows, and a
letter and its CRLF or cp1252 twin share one cache key and one record.

Canonical text, in order:

- bytes: a PDF (by its `%PDF-` signature) is read page by page into lines and paragraphs
  (`imr_llm.pdftext`, which says how that engine was chosen);
  UTF-16 (Windows Notepad's "Unicode") decodes by its BOM, or without one where the first
  kilobyte has a NUL in every other byte and almost nowhere else, as English text in UTF-16
  has; other bytes lose a UTF-8 BOM and decode as UTF-8, else as Windows-1252 with a
  `LegacyEncodingWarning` that names the file (never the text); the five bytes cp1252 leaves
  undefined decode as Latin-1. No letter is refused for its encoding.
- then the text is made canonical (`imr_llm.canonical`): plain characters, page furniture
  gone, words hyphenated across line breaks whole again. `read_canonical` gives the case
  numbers the removed furniture stated with it (`CanonicalText`); `read` the text alone.

A PDF without a text layer (a scan) is read by OCR (`imr_llm.ocr`): every page when the PDF
has no text layer at all, else each (nearly) textless page that draws an image, a scanned page
inside a typed letter. `read_letter` says where the text came from (`Provenance`: text, the
PDF's text layer, or OCR with its pages and mean word confidence).

`read` also refuses what is not a letter, with an `InvalidLetterError` that says why: empty
text, binary data, text over `max_chars` (never truncated), a scan with OCR turned off or one
OCR finds no letter on (`NoTextLayerError`), a scan where no OCR engine is installed
(`OcrUnavailableError`, naming the install line), and text that states no decision at all.
"""

from __future__ import annotations

import codecs
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from imr_llm.canonical import CanonicalText, canonical_text
from imr_llm.errors import InvalidLetterError, NoTextLayerError
from imr_llm.layout import states_decision
from imr_llm.ocr import image_pages, mean_confidence, read_pages
from imr_llm.pdftext import pdf_pages
from imr_llm.result import Provenance

MAX_CHARS = 100_000
"""Longest letter accepted (real IMR letters run 3-15k characters); never truncated silently."""
MIN_PDF_CHARS = 200
"""Fewer characters than this in a whole PDF, once page furniture is gone, means no text layer."""
MIN_PAGE_CHARS = 20
"""A page of a typed PDF with fewer characters than this (spaces aside) that draws an image is a scanned page."""
MAX_OCR_PAGES = 60
"""Most pages read by OCR in one letter (letters run 2-8 pages; OCR takes seconds a page)."""


@dataclass(frozen=True)
class Reading:
    """A letter's canonical text, where it came from, and what its removed page furniture stated."""

    letter: CanonicalText
    provenance: Provenance

    @property
    def text(self) -> str:
        return self.letter.text


class LegacyEncodingWarning(UserWarning):
    """A letter was not UTF-8 and was decoded as Windows-1252 (read, not refused)."""


# ---------------------------------------------------------------------------------------------
# Bytes to text


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("imr-llm-latin1", _latin1_fallback)


_UTF16_SHARE = 0.9
"""Share of the first kilobyte's two-byte units that must be ASCII (a NUL high byte) for bytes
without a BOM to be taken for UTF-16: English letters are; binary data seldom is, and what is
anyway decodes to control characters, which `read` refuses."""


def _utf16(data: bytes) -> str | None:
    """The codec of UTF-16 text, by its BOM or, without one, by where its NULs fall; else None."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[: min(len(data), 1024) // 2 * 2]
    units = len(head) // 2
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if units and len(data) % 2 == 0 and max(even, odd) >= _UTF16_SHARE * units and min(even, odd) <= units // 100:
        return "utf-16-le" if odd > even else "utf-16-be"
    return None


def decode(data: bytes, name: str = "letter") -> str:
    """UTF-16 (see the module docstring); UTF-8 (a BOM dropped); else Windows-1252 with a warning
    naming `name`. Refused only as binary data (NUL bytes outside UTF-16), never for its encoding."""
    if codec := _utf16(data):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            raise _binary() from None
    if b"\x00" in data:
        raise _binary()
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.warn(f"{name} is not UTF-8; read as Windows-1252", LegacyEncodingWarning, stacklevel=4)
        return data.decode("cp1252", errors="imr-llm-latin1")


# ---------------------------------------------------------------------------------------------
# The one path

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def read(source: str | bytes | os.PathLike[str], *, max_chars: int = MAX_CHARS, name: str | None = None) -> str:
    """The canonical text of a letter given as text, bytes or a file (`.txt` or PDF; a scan is read by OCR).

    Raises `InvalidLetterError` (or `NoTextLayerError`) naming what is wrong, never quoting
    the letter; `OSError` if a file cannot be read."""
    return read_letter(source, max_chars=max_chars, name=name).text


def read_letter(
    source: str | bytes | os.PathLike[str],
    *,
    max_chars: int = MAX_CHARS,
    name: str | None = None,
    ocr: bool = True,
    progress: bool = False,
) -> Reading:
    """`read`, with where the text came from and what its removed page furniture stated (the case
    number of a running footer, pages counted and missing). `ocr=False` refuses a scan
    (`NoTextLayerError`) instead of reading it; `progress` shows a bar per OCR'd page on stderr."""
    if isinstance(source, os.PathLike):
        name = name or Path(source).name
        source = Path(source).read_bytes()
    if isinstance(source, bytes):
        if b"%PDF-" in source[:1024]:
            return _pdf(source, max_chars=max_chars, ocr=ocr, progress=progress, name=name or "")
        source = decode(source, name or "letter")
    if not isinstance(source, str):
        raise InvalidLetterError(f"letter must be str, bytes or a file path, not {type(source).__name__}")
    if "\x00" in source or len(_CONTROL.findall(source[:20_000])) > 0.01 * min(len(source), 20_000):
        raise _binary()
    if len(source) > max_chars:
        raise _too_long(len(source), max_chars)
    letter = canonical_text(source.split("\f"))
    return _checked(letter, Provenance(source="text"), max_chars, pdf=False)


def read_pdf(data: bytes, *, max_chars: int = MAX_CHARS, ocr: bool = True) -> str:
    """The canonical text of a PDF's pages, pages without a text layer read by OCR (unless `ocr`
    is False); `NoTextLayerError` when only furniture has text."""
    return _pdf(data, max_chars=max_chars, ocr=ocr, progress=False, name="").text


def _pdf(data: bytes, *, max_chars: int, ocr: bool, progress: bool, name: str) -> Reading:
    """A PDF's text layer, with the pages that have none read by OCR. When the whole PDF has none
    (a scan), every page that draws an image or has no text (text drawn as outlines); else each
    textless page that draws an image (a page scanned into a typed letter)."""
    pages = pdf_pages(data)
    typed = canonical_text(pages)
    if not ocr:
        return _checked(typed, Provenance(source="pdf"), max_chars, pdf=True)
    blank = {i for i, page in enumerate(pages) if len("".join(page.split())) < MIN_PAGE_CHARS}
    scan = len(typed.text.strip()) < MIN_PDF_CHARS
    pictures = image_pages(data) if scan or blank else set()
    todo = sorted(blank | pictures if scan else blank & pictures)
    if scan and not todo:
        raise NoTextLayerError(
            f"PDF has only {len(typed.text.strip())} characters of text besides page furniture, and no page "
            "without a text layer for OCR to read: no letter in it"
        )
    if not todo:
        return _checked(typed, Provenance(source="pdf"), max_chars, pdf=True)
    if len(todo) > MAX_OCR_PAGES:
        raise InvalidLetterError(
            f"PDF has {len(todo)} pages without a text layer, over the {MAX_OCR_PAGES} OCR reads in one letter; "
            "split it into letters"
        )
    read = read_pages(data, todo, progress=progress, name=name)
    for index, page in zip(todo, read, strict=True):
        pages[index] = page.text
    letter = canonical_text(pages)
    if len(letter.text.strip()) < MIN_PDF_CHARS:
        raise NoTextLayerError(
            f"PDF is without a text layer, and OCR read only {len(letter.text.strip())} characters besides page "
            f"furniture on its {len(todo)} page(s): no letter on them, or a scan too faint or too coarse to read"
        )
    confidence = mean_confidence(read)
    if confidence is None:  # the scanned pages were blank: the text is all the text layer's
        return _checked(letter, Provenance(source="pdf"), max_chars, pdf=True)
    provenance = Provenance(source="ocr", ocr_pages=sum(bool(page.words) for page in read),
                            ocr_confidence=round(confidence, 3))  # fmt: skip
    return _checked(letter, provenance, max_chars, pdf=True)


def _binary() -> InvalidLetterError:
    return InvalidLetterError("letter contains NUL or control bytes: binary data, not text")


def _too_long(size: int, max_chars: int) -> InvalidLetterError:
    return InvalidLetterError(
        f"letter is {size:,} characters, over the {max_chars:,} limit; "
        "split it or raise Options.max_chars (nothing is truncated)"
    )


def _checked(letter: CanonicalText, provenance: Provenance, max_chars: int, *, pdf: bool) -> Reading:
    """The letter as read, once its text is checked to be a letter (`InvalidLetterError` naming why not)."""
    text, ocr = letter.text, provenance if provenance.source == "ocr" else None
    size = len(text.strip())
    if pdf and size < MIN_PDF_CHARS:
        raise NoTextLayerError(
            f"PDF has only {size} characters of text besides page furniture: a scanned letter without a "
            "text layer, and OCR, which would read it, is turned off (Options(ocr=False), --no-ocr)"
        )
    if not size:
        raise InvalidLetterError("letter is empty")
    if len(text) > max_chars:
        raise _too_long(len(text), max_chars)
    if not states_decision(text):
        raise InvalidLetterError(
            'no decision anywhere in the text (Upheld/Overturned, a 2013 letter\'s "Final Determination", or an '
            "Independent Medical Review finding a request medically necessary or not): not an IMR determination letter"
            + (f" (its text was read by OCR, mean word confidence {ocr.ocr_confidence:.2f})" if ocr else "")
        )
    return Reading(letter, provenance)
