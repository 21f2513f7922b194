"""One way to read a letter: whatever form it arrives in, the canonical text every stage sees.

Every entry point (`extract` on a str, bytes or a file; batches; `imr-llm eval` and
`review`; the OpenAI Batch path) reads a letter through `read`, so a letter scores in the
eval exactly as it extracts, evidence offsets index the text a review page shows, and a
letter and its CRLF or cp1252 twin share one cache key and one record.

Canonical text, in order:

- bytes: a PDF (by its `%PDF-` signature) is read page by page from pdfminer.six's lines and
  their places, which keeps lines, pages and paragraphs (chosen by measurement: `pdf_pages`);
  other bytes lose a UTF-8 BOM and decode as UTF-8, else as Windows-1252 with a
  `LegacyEncodingWarning` that names the file (never the text); the five bytes cp1252 leaves
  undefined decode as Latin-1. No letter is refused for its encoding.
- CRLF and CR become LF; Unicode compatibility forms fold by NFKC (ligatures, NBSP and the
  other odd spaces, full-width forms), then curly quotes and primes become ASCII quotes,
  dashes "-", and soft hyphens and zero-width characters go. NFKC rather than NFC because the
  letters are English prose where compatibility forms only ever hide the plain characters the
  layout rules and the gold records use ("Certiﬁed" is "Certified").
- Page furniture goes wherever it falls, before the layout sees the text: pages come from
  form feeds (text) or page objects (PDF); lines repeated at the top or bottom of most pages
  (compared with digits masked), the state's running footer ("Final Determination Letter for
  IMR Case Number …"), "Page N of M" lines and bare page numbers at a page's edge are dropped.
  Pages then join with a paragraph break when the last line before the break is short (a
  paragraph's last line) and a line break otherwise (a paragraph running on).
- Words hyphenated across a line break are rejoined ("cri-\\nteria" -> "criteria") unless the
  hyphen is real: the second part starts with a capital or digit ("Non-\\nMTUS"), the text
  has the hyphenated form elsewhere and not the joined one, the first part is a word that
  forms compounds ("follow-\\nup", "non-\\nsedating"), or a vowel meets itself
  ("re-\\nevaluation"). A real hyphen is left exactly as written, so a value reads as the
  letter does, whitespace collapsed.

`read` also refuses what is not a letter, with an `InvalidLetterError` that says why: empty
text, binary data, text over `max_chars` (never truncated), a PDF without a text layer
(`NoTextLayerError`), and text that states no decision at all.
"""

from __future__ import annotations

import codecs
import io
import itertools
import logging
import os
import re
import statistics
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imr_llm.errors import InvalidLetterError

MAX_CHARS = 100_000
"""Longest letter accepted (real IMR letters run 3-15k characters); never truncated silently."""
MIN_PDF_CHARS = 200
"""Fewer characters than this in a whole PDF, once page furniture is gone, means no text layer."""


class NoTextLayerError(InvalidLetterError):
    """A PDF whose pages carry no extractable text: a scan, which needs OCR first."""


class LegacyEncodingWarning(UserWarning):
    """A letter was not UTF-8 and was decoded as Windows-1252 (read, not refused)."""


# ---------------------------------------------------------------------------------------------
# Bytes to text


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("imr-llm-latin1", _latin1_fallback)


def decode(data: bytes, name: str = "letter") -> str:
    """UTF-8 (a BOM dropped), else Windows-1252 with a warning naming `name`, never refused."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.warn(f"{name} is not UTF-8; read as Windows-1252", LegacyEncodingWarning, stacklevel=3)
        return data.decode("cp1252", errors="imr-llm-latin1")


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
    """The text of each page of a PDF, in order; an `InvalidLetterError` if it cannot be parsed.

    Lines come from pdfminer.six with their places on the page, so a paragraph the PDF wrapped
    comes out as lines with a blank line after it, whatever the line spacing (pypdf gives the
    lines with nothing between paragraphs). Rules field accuracy on the five samples typeset by
    `evals/forms.py` / set one PDF line per text line: this 1.000 / 1.000; pypdf plain or layout
    mode 0.246 / 1.000; pdfminer's own text 1.000 / 0.289; pdfplumber 0.246 / 0.246."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams
    from pdfminer.psexceptions import PSException

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # its warnings can quote page content
    try:
        pages = extract_pages(io.BytesIO(data), laparams=LAParams(char_margin=CHAR_MARGIN))
        return [_page_text(list(_lines(page))) for page in pages]
    except (PSException, ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError) as exc:
        raise InvalidLetterError(f"not a readable PDF ({type(exc).__name__})") from exc


# ---------------------------------------------------------------------------------------------
# Canonical characters

_ASCII = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
        **dict.fromkeys("\u2028\u2029\u0085", "\n"),
    }
)


def characters(text: str) -> str:
    """LF line ends; compatibility forms folded (NFKC); quotes and dashes ASCII; invisibles gone.
    Soft hyphens stay for `dehyphenate`, which needs them at line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFKC", text).translate(_ASCII)


# ---------------------------------------------------------------------------------------------
# Pages and their furniture

_RUNNING_FOOTER = re.compile(
    r"^\s*(?:Final\s+Determination\s+Letter\s+for\s+IMR\s+Case\s+Number\b.{0,80}|Page\s+\d+\s+of\s+\d+)\s*$", re.I
)
_PAGE_NUMBER = re.compile(r"^\s*(?:Page\s+)?[-\u2013(]?\s*\d{1,3}\s*[-\u2013)]?\s*$", re.I)
_TITLE = re.compile(r"^\s*[^a-z\n]*[A-Z]{3}[^a-z\n]*$")
EDGE_LINES = 3
"""Lines at the top and at the bottom of a page that running headers and footers occupy."""


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _edges(lines: list[str]) -> list[int]:
    """Indexes of the first and last `EDGE_LINES` non-blank lines of a page."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def _repeated(pages: list[list[str]]) -> set[str]:
    """Keys of lines at a page edge on most pages (at least two) and nowhere else: running
    headers and footers, whatever their wording."""
    if len(pages) < 2:
        return set()
    at_edge: Counter[str] = Counter()
    inside: set[str] = set()
    for lines in pages:
        edges = set(_edges(lines))
        at_edge.update({_key(lines[i]) for i in edges})
        inside.update(_key(line) for i, line in enumerate(lines) if i not in edges and line.strip())
    need = max(2, -(-3 * len(pages) // 5))
    return {k for k, n in at_edge.items() if n >= need and k not in inside and k}


def _furniture(lines: list[str], repeated: set[str], paged: bool) -> set[int]:
    """Indexes of a page's furniture lines and of the blank lines around them."""
    edges = set(_edges(lines))
    outer = {min(edges, default=-1), max(edges, default=-1)} if paged else set()
    found = {
        i
        for i, line in enumerate(lines)
        if _RUNNING_FOOTER.match(line)
        or (i in edges and _key(line) in repeated)
        or (i in outer and _PAGE_NUMBER.match(line))
    }
    for i in sorted(found):
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(lines) and not lines[j].strip() and j not in found:
                found.add(j)
                j += step
    return found


def _pieces(lines: list[str], drop: set[int]) -> list[str]:
    """The text between furniture blocks: each block, like a page break, separates two pieces."""
    pieces, current = [], []
    for i, line in enumerate(lines):
        if i not in drop:
            current.append(line)
        elif current:
            pieces.append("\n".join(current))
            current = []
    return [*pieces, "\n".join(current)]


def paragraph_gap(text: str) -> int:
    """Newlines that end a paragraph: 3 in double-spaced text (a blank line after every line, as
    text taken from the state's PDFs comes), else 2."""
    runs = [m.group().count("\n") for m in re.finditer(r"\n(?:[ \t]*\n)*", text)]
    return 3 if runs and statistics.median(runs) >= 2 else 2


def _join(pieces: list[str]) -> str:
    """Pieces of text split by page breaks or furniture, as one text. Their own blank lines stay;
    where those make less than a paragraph break, one is made when the text before the break
    ends on a short line (a paragraph's last) or the text after it opens with a title; else the
    paragraph runs on over the break, one line into the next."""
    pieces = [p for p in pieces if p.strip()]
    if len(pieces) < 2:
        return "".join(pieces)
    whole = "\n".join(pieces)
    gap = paragraph_gap(whole)
    widths = sorted(len(line.rstrip()) for line in whole.split("\n") if line.strip())
    full = widths[int(0.8 * (len(widths) - 1))]
    text = pieces[0]
    for piece in pieces[1:]:
        before = text.rstrip()
        after = piece.lstrip(" \t\n")
        spacing = text[len(before) :] + "\n" + piece[: len(piece) - len(after)]
        opening = piece[: len(piece) - len(after)].rsplit("\n", 1)[-1] + after
        last = before.rsplit("\n", 1)[-1]
        short = len(last) < 0.75 * full or bool(_TITLE.match(opening.split("\n", 1)[0]))
        if spacing.count("\n") < gap and short:
            spacing = "\n" * gap
        text = before + re.sub(r"[^\n]*$", "", spacing) + opening
    return text


def unpaginate(pages: list[str]) -> str:
    """The pages as one text with their running headers, footers and page numbers removed."""
    split = [page.split("\n") for page in pages]
    repeated = _repeated(split)
    paged = len(pages) > 1
    return _join([piece for lines in split for piece in _pieces(lines, _furniture(lines, repeated, paged))])


# ---------------------------------------------------------------------------------------------
# Hyphenated line breaks

COMPOUND_PREFIXES = frozenset({
    "non", "self", "follow", "long", "short", "well", "half", "cross", "double", "left", "right", "low",
    "high", "full", "part", "post", "semi", "multi", "x", "first", "second", "third", "side",
})  # fmt: skip
"""Words that begin hyphenated compounds ("non-certified", "follow-up") and are never the first
syllables of a longer word a typesetter split to fit a line."""
_HYPHEN_BREAK = re.compile(r"(?<![\w-])([A-Za-z]+)([-\u00ad])[ \t]*(\n(?:[ \t]*\n)*)[ \t]*([A-Za-z0-9]\S*)[ \t]*")


def _real_hyphen(first: str, second: str, words: Counter[str]) -> bool:
    """Whether "first-" + line break + "second" is a hyphenated word, not a word split to fit."""
    rest = re.match(r"[A-Za-z]*", second)
    tail = rest.group().lower() if rest else ""
    if not second[0].islower() or not tail:
        return True
    joined, hyphenated = (first + tail).lower(), f"{first}-{tail}".lower()
    if words[joined]:
        return False
    if words[hyphenated] or first.lower() in COMPOUND_PREFIXES:
        return True
    return first[-1].lower() == tail[0] and tail[0] in "aeiou"


def dehyphenate(text: str) -> str:
    """Rejoin words split across a line break (see the module docstring for the rule)."""
    gap = paragraph_gap(text)
    words = Counter(re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower()))

    def fix(m: re.Match[str]) -> str:
        first, hyphen, breaks, second = m.groups()
        if breaks.count("\n") >= gap or (hyphen == "-" and _real_hyphen(first, second, words)):
            return m.group()
        line_ends = m.end() == len(text) or text[m.end()] == "\n"
        return first + second + ("" if line_ends else breaks)

    return _HYPHEN_BREAK.sub(fix, text).replace("\u00ad", "")


# ---------------------------------------------------------------------------------------------
# The one path

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_DECISION = re.compile(
    r"\b(?:upheld|overturned)\b"
    r"|\bfinal\s+determination\s*:\s*(?:uphold|overturn)"
    r"|\bis\s+(?:not\s+)?medically\s+necessary\s+and\s+appropriate\b",
    re.I,
)


def canonical(pages: list[str]) -> str:
    """The canonical text of a letter given as pages (one page for text without form feeds)."""
    pages = [characters(page) for page in pages]
    return dehyphenate(unpaginate(pages))


def read(source: str | bytes | os.PathLike[str], *, max_chars: int = MAX_CHARS, name: str | None = None) -> str:
    """The canonical text of a letter given as text, bytes or a file (`.txt` or PDF).

    Raises `InvalidLetterError` (or `NoTextLayerError`) naming what is wrong, never quoting
    the letter; `OSError` if a file cannot be read."""
    if isinstance(source, os.PathLike):
        name = name or Path(source).name
        source = Path(source).read_bytes()
    if isinstance(source, bytes):
        if b"%PDF-" in source[:1024]:
            return read_pdf(source, max_chars=max_chars)
        if b"\x00" in source:
            raise _binary()
        source = decode(source, name or "letter")
    if not isinstance(source, str):
        raise InvalidLetterError(f"letter must be str, bytes or a file path, not {type(source).__name__}")
    if "\x00" in source or len(_CONTROL.findall(source[:20_000])) > 0.01 * min(len(source), 20_000):
        raise _binary()
    if len(source) > max_chars:
        raise _too_long(len(source), max_chars)
    return _checked(canonical(source.split("\f")), max_chars, pdf=False)


def read_pdf(data: bytes, *, max_chars: int = MAX_CHARS) -> str:
    """The canonical text of a PDF's pages; `NoTextLayerError` when only furniture has text."""
    return _checked(canonical(pdf_pages(data)), max_chars, pdf=True)


def _binary() -> InvalidLetterError:
    return InvalidLetterError("letter contains NUL or control bytes: binary data, not text")


def _too_long(size: int, max_chars: int) -> InvalidLetterError:
    return InvalidLetterError(
        f"letter is {size:,} characters, over the {max_chars:,} limit; "
        "split it or raise Options.max_chars (nothing is truncated)"
    )


def _checked(text: str, max_chars: int, *, pdf: bool) -> str:
    size = len(text.strip())
    if pdf and size < MIN_PDF_CHARS:
        raise NoTextLayerError(
            f"PDF has only {size} characters of text besides page furniture: "
            "a scanned letter without a text layer; run OCR (e.g. ocrmypdf) and try again"
        )
    if not size:
        raise InvalidLetterError("letter is empty")
    if len(text) > max_chars:
        raise _too_long(len(text), max_chars)
    if not _DECISION.search(text):
        raise InvalidLetterError(
            "no Upheld or Overturned decision anywhere in the text: not an IMR determination letter"
        )
    return text
