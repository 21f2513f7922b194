"""A letter's canonical text: plain characters, no page furniture, words whole again.

Pure functions of text that `imr_llm.reading` applies to every letter (`canonical`, which is
idempotent: canonical text is its own canonical text). In order:

- CRLF and CR become LF; Unicode compatibility forms fold by NFKC (ligatures, NBSP and the
  other odd spaces, full-width forms), then curly quotes and primes become ASCII quotes,
  dashes "-", and soft hyphens and zero-width characters go. NFKC rather than NFC because the
  letters are English prose where compatibility forms only ever hide the plain characters the
  layout rules and the gold records use ("Certiﬁed" is "Certified").
- Page furniture goes wherever it falls, before the layout sees the text: pages come from
  form feeds (text) or page objects (PDF); lines repeated at the top or bottom of most pages
  (compared with digits masked), the state's running footer ("Final Determination Letter for
  IMR Case Number …"), "Page N of M" lines and bare page numbers at a page's edge are dropped.
  A line repeated word for word is furniture only while such lines are a small share of the
  text (`FURNITURE_SHARE`): a form or table that repeats on every page of a long file is the
  letter. A line whose numbers change from page to page (a page counter, a Bates number, a fax
  machine's stamp) is furniture always, so a scan whose only text is its stamp stays a scan.
  The case numbers the furniture stated are kept beside the text (`CanonicalText`): the state
  posts letters with page 1's header redacted, where only the running footer says the case.
  The text either side of a page break or a furniture block joins keeping its own blank lines;
  where they make less than a paragraph break, one is made when the line before is short (a
  paragraph's last) or the line after is a title, else the paragraph runs on.
- Words hyphenated across a line break are rejoined ("cri-\\nteria" -> "criteria") unless the
  hyphen is real: the second part starts with a capital or digit ("Non-\\nMTUS"), the text
  has the hyphenated form elsewhere and not the joined one, the first part is a word that
  forms compounds ("follow-\\nup", "non-\\nsedating"), or a vowel meets itself
  ("re-\\nevaluation"). A real hyphen is left exactly as written, so a value reads as the
  letter does, whitespace collapsed.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Canonical characters

_ASCII = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ""),
        **dict.fromkeys("\u2028\u2029\u0085", "\n"),
        "\u2044": "/",  # NFKC writes "½" as 1, FRACTION SLASH, 2
    }
)


def characters(text: str) -> str:
    """LF line ends; compatibility forms folded (NFKC); quotes and dashes ASCII; invisibles gone.
    Soft hyphens stay for `dehyphenate`, which needs them at line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFKC", text).translate(_ASCII)


# ---------------------------------------------------------------------------------------------
# Pages and their furniture

_PAGE_OF_WORDS = r"Page\s+(\d+)\s+of\s+(\d+)"
"""A page counter, "Page N of M": furniture, and what tells a letter's last pages did not come."""
RUNNING_FOOTER = re.compile(
    rf"^\s*(?:Final\s+Determination\s+Letter\s+for\s+IMR\s+Case\s+Number\b.{{0,80}}|{_PAGE_OF_WORDS})\s*$", re.I
)
"""A line of the state's running footer ("Final Determination Letter for IMR Case Number …", "Page N of M")."""
CASE_NUMBER = re.compile(r"\bCase\s*(?:Number|No\b\.?|#)\s*[:#]?\s*(?P<number>[A-Z]{1,3}\d{2}-\d{4,8})\b", re.I)
"""An IMR case number where a letter labels it: "IMR Case Number: CM15-0104512", "IMR Case No.
CM13-0021874", "Case #: …", "Case# …", a running footer's "… for IMR Case Number CM14-0087654"."""
_PAGE_NUMBER = re.compile(r"^\s*(?:Page\s+)?[-\u2013(]?\s*\d{1,3}\s*[-\u2013)]?\s*$", re.I)
_TITLE = re.compile(r"^\s*[^a-z\n]*[A-Z]{3}[^a-z\n]*$")
EDGE_LINES = 3
"""Lines at the top and at the bottom of a page that running headers and footers occupy."""
FURNITURE_SHARE = 0.25
"""Most of a letter's text (once running footers and page counters are gone) that lines repeated
word for word at page edges may make and still be furniture. A running header takes a line or
three of a page; a file whose pages repeat the same lines of a form or table is mostly those lines."""


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _edges(lines: list[str]) -> list[int]:
    """Indexes of the first and last `EDGE_LINES` non-blank lines of a page."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


def _repeated(pages: list[list[str]]) -> set[str]:
    """Keys of lines at a page edge on most pages (at least two) and nowhere else: running
    headers and footers, whatever their wording. Of those, the lines repeated word for word are
    left out when together they are more than `FURNITURE_SHARE` of the text: then they are the
    letter's own (a form or table on every page), not its furniture."""
    if len(pages) < 2:
        return set()
    at_edge: Counter[str] = Counter()
    inside: set[str] = set()
    spellings: defaultdict[str, set[str]] = defaultdict(set)
    for lines in pages:
        edges = set(_edges(lines))
        at_edge.update({_key(lines[i]) for i in edges})
        inside.update(_key(line) for i, line in enumerate(lines) if i not in edges and line.strip())
        for i in edges:
            spellings[_key(lines[i])].add(" ".join(lines[i].split()))
    need = max(2, -(-3 * len(pages) // 5))
    found = {k for k, n in at_edge.items() if n >= need and k not in inside and k}
    counters = {k for k in found if len(spellings[k]) > 1}
    text = repeated = 0
    for lines in pages:
        edges = set(_edges(lines))
        for i, line in enumerate(lines):
            key = _key(line)
            if key and key not in counters and not RUNNING_FOOTER.match(line):
                text += len(key)
                repeated += len(key) if i in edges and key in found else 0
    return counters if repeated > FURNITURE_SHARE * text else found


def _furniture(lines: list[str], repeated: set[str], paged: bool) -> set[int]:
    """Indexes of a page's furniture lines and of the blank lines around them."""
    edges = set(_edges(lines))
    outer = {min(edges, default=-1), max(edges, default=-1)} if paged else set()
    found = {
        i
        for i, line in enumerate(lines)
        if RUNNING_FOOTER.match(line)
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


def _unpaginated(pages: list[str]) -> tuple[str, list[str]]:
    """The pages as one text without their furniture, and the furniture lines removed."""
    split = [page.split("\n") for page in pages]
    repeated = _repeated(split)
    paged = len(pages) > 1
    pieces: list[str] = []
    removed: list[str] = []
    for lines in split:
        drop = _furniture(lines, repeated, paged)
        pieces += _pieces(lines, drop)
        removed += [lines[i] for i in sorted(drop) if lines[i].strip()]
    return _join(pieces), removed


def unpaginate(pages: list[str]) -> str:
    """The pages as one text with their running headers, footers and page numbers removed."""
    return _unpaginated(pages)[0]


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


@dataclass(frozen=True)
class CanonicalText:
    """A letter's canonical text and the case numbers its page furniture stated, which the text
    no longer holds (the state posts letters with page 1's header redacted: then only the running
    footer "Final Determination Letter for IMR Case Number CM14-0087654" says which case it is)."""

    text: str
    footer_case_numbers: tuple[str, ...] = ()
    """Each case number the removed furniture stated (upper case), in the order first stated."""

    @property
    def footer_case_number(self) -> str | None:
        """The case number the furniture stated, where every footer that states one agrees."""
        return self.footer_case_numbers[0] if len(self.footer_case_numbers) == 1 else None

    pages_missing: tuple[int, ...] = ()
    """The last pages the furniture's "Page N of M" counts and the file does not hold: a letter cut short."""

    @property
    def footers_disagree(self) -> bool:
        """Footers stating two or more case numbers: letters of different cases in one file."""
        return len(self.footer_case_numbers) > 1


def canonical_text(pages: list[str]) -> CanonicalText:
    """The canonical text of a letter given as pages (one page for text without form feeds), with
    the case numbers its furniture stated."""
    text, furniture = _unpaginated([characters(page) for page in pages])
    numbers = (m["number"].upper() for line in furniture for m in CASE_NUMBER.finditer(line))
    return CanonicalText(dehyphenate(text), tuple(dict.fromkeys(numbers)), _pages_missing(furniture))


_PAGE_OF = re.compile(rf"\b{_PAGE_OF_WORDS}\b", re.I)


def _pages_missing(furniture: list[str]) -> tuple[int, ...]:
    """The last pages a letter's "Page N of M" counters say it has and none of its pages carries (a
    letter whose last page did not come), where the counters agree on M (a file of several letters
    has several Ms). A page missing before the last counted one is not told: a cover page may carry
    no counter."""
    stated = [(int(m[1]), int(m[2])) for line in furniture for m in _PAGE_OF.finditer(line)]
    totals = {total for _, total in stated}
    if len(totals) != 1:
        return ()
    return tuple(range(max(page for page, _ in stated) + 1, totals.pop() + 1))
