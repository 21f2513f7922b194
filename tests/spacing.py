"""The samples with the line breaks other text sources give them: the same letter, other spacing.

The text reaching the layout is canonical (LF only, no form feeds or page furniture) but may be
double-spaced like the samples, single-spaced, or paragraph-wrapped with no blank lines at all
(what PDF text extraction gives), and an item heading may wrap: its request over two lines, or
its decision alone on the next line.
"""

from __future__ import annotations

import re
import textwrap

from variants import single_spaced

_HEADING = re.compile(r"^(?P<request>.+?):\s*(?P<decision>Upheld|Overturned)$")


_OWN_LINE = re.compile(r"^[^a-z]*[A-Z]{4}[^a-z]*$")
"""A section title (capitals only) sits on its own line even where no blank line follows it."""
_FIELD = re.compile(r"^[A-Z][A-Za-z()/ ]{2,40}:\s")
"""A "Label: value" line starts a line of its own."""


def _paragraphs(text: str) -> list[str]:
    out: list[str] = []
    for block in single_spaced(text.replace("\f", "")).split("\n\n"):
        current: list[str] = []
        for line in block.split("\n"):
            if _OWN_LINE.match(line.strip()):
                out += [" ".join(current), line.strip()]
                current = []
            elif _FIELD.match(line.strip()):
                out.append(" ".join(current))
                current = [line]
            else:
                current.append(line)
        out.append(" ".join(current))
    return [" ".join(p.split()) for p in out if p.strip()]


def double(text: str) -> str:
    return text.replace("\f", "")


def single(text: str) -> str:
    return single_spaced(text.replace("\f", ""))


def wrapped(text: str, width: int = 90) -> str:
    """Each paragraph wrapped at `width` columns, no blank line anywhere."""
    return "\n".join(textwrap.fill(p, width, break_on_hyphens=False) for p in _paragraphs(text))


def wrapped_headings(text: str) -> str:
    """Wrapped at 50 columns (long requests wrap) with every other decision alone on its line."""
    out, n = [], 0
    for p in _paragraphs(text):
        heading = _HEADING.match(p)
        if heading and n % 2 == 0:
            p = f"{textwrap.fill(heading['request'] + ':', 50, break_on_hyphens=False)}\n{heading['decision']}"
        elif heading:
            p = textwrap.fill(p, 50, break_on_hyphens=False)
        else:
            p = textwrap.fill(p, 50, break_on_hyphens=False)
        n += bool(heading)
        out.append(p)
    return "\n".join(out)


def rejoined(text: str) -> str:
    """Wrapped at 70 columns, with every third plain line joined to the next, as rejoining words
    hyphenated across lines does: a few lines twice as long as the rest."""
    lines = wrapped(text, 70).split("\n")
    out: list[str] = []
    for n, line in enumerate(lines):
        plain = (
            ":" not in out[-1] + line and not _OWN_LINE.match(out[-1]) and not _OWN_LINE.match(line) if out else False
        )
        if plain and n % 3 == 1:
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


FORMS = {
    "double": double,
    "single": single,
    "wrapped": wrapped,
    "wrapped_headings": wrapped_headings,
    "rejoined": rejoined,
}
