"""Find a letter's structure deterministically, with character offsets into the original text.

IMR letters are formulaic where it matters: section headings, one heading per disputed item
ending in "Upheld"/"Overturned", a "Claims Administrator guideline:" line, a "MAXIMUS
guideline:" line and a "Decision rationale:". `parse` finds those (and an optional header
block of "Label: value" lines) and never raises on odd text: what it cannot find is listed
in `Layout.missing`. Every `Span` slices back to its text: `" ".join(text[start:end].split())`.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field


def _line_start(names: dict[str, str], tail: str) -> re.Pattern[str]:
    """A line that starts with one of `names` (its group named by the key), then `tail`."""
    alternatives = "|".join(f"(?P<{k}>{v})" for k, v in names.items())
    return re.compile(rf"^[ \t]*(?:{alternatives}){tail}", re.MULTILINE | re.IGNORECASE)


SECTIONS = {
    "credentials": r"HOW THE IMR FINAL DETERMINATION WAS MADE",
    "documents": r"DOCUMENTS REVIEWED",
    "summary": r"CLINICAL CASE SUMMARY",
    "items": r"IMR ISSUES,? DECISIONS,? AND RATIONALES|IMR DECISION\(S\) AND RATIONALE\(S\)",
}
_SECTION = _line_start(SECTIONS, r"[ \t]*:?[ \t]*$")
LABELS = {
    "claims_administrator_guideline": r"Claims\s+Administrator\s+guideline",
    "reviewer_guideline": r"(?:MAXIMUS|Expert\s+Reviewer|Reviewer)\s+guideline",
    "rationale": r"Decision\s+rationale",
}
_LABEL = _line_start(LABELS, r"[ \t]*:")
_DECISION_LINE = re.compile(r":[ \t]*(?:\n[ \t]*)*(Upheld|Overturned)\b[ \t.]*$", re.MULTILINE | re.IGNORECASE)
_HEADING = re.compile(
    r"^(?:\(\s*\d+\s*\)|\d+\s*[.)])?\s*(?P<request>.+?)[ \t]*:\s*(?P<decision>Upheld|Overturned)[ \t.]*$",
    re.S | re.I,
)
_HEADER_FIELD = re.compile(
    r"^[ \t]*(?P<label>[A-Za-z][A-Za-z ()/#.'-]{1,40}?)[ \t]*:[ \t]*(?P<value>\S[^\n]*?)[ \t]*$", re.M
)
MAX_HEADING = 400


@dataclass(frozen=True)
class Span:
    """A stretch of the letter: `text[start:end]`, and its whitespace-collapsed value."""

    start: int
    end: int
    value: str


def span(text: str, start: int, end: int) -> Span | None:
    """The trimmed span of `text[start:end]`, or None when it holds only whitespace."""
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return None
    lead = len(chunk) - len(chunk.lstrip())
    start += lead
    end = start + len(stripped)
    return Span(start, end, " ".join(stripped.split()))


@dataclass(frozen=True)
class ItemLayout:
    """One disputed item: its heading and the three labelled parts that follow it."""

    heading: Span
    request: Span
    decision: Span
    claims_administrator_guideline: Span | None = None
    reviewer_guideline: Span | None = None
    rationale: Span | None = None

    @property
    def end(self) -> int:
        parts = [self.heading, self.claims_administrator_guideline, self.reviewer_guideline, self.rationale]
        return max(p.end for p in parts if p is not None)


@dataclass(frozen=True)
class Layout:
    text: str
    sections: dict[str, Span] = field(default_factory=dict)
    header: dict[str, Span] = field(default_factory=dict)
    items: list[ItemLayout] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _paragraph_gap(text: str) -> int:
    """Newlines that end a paragraph: 3 in double-spaced PDF text, else 2."""
    runs = [r.count("\n") for r in re.findall(r"\n(?:[ \t]*\n)*", text)]
    return 3 if runs and statistics.median(runs) >= 2 else 2


def _segments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] at paragraph breaks, before label lines and after decision lines."""
    gap = _paragraph_gap(text)
    cuts = {start, end}
    body = text[start:end]
    for m in re.finditer(r"\n(?:[ \t]*\n)+", body):
        if m.group().count("\n") >= gap:
            cuts.add(start + m.start())
    cuts.update(start + m.start() for m in _LABEL.finditer(body))
    cuts.update(start + m.end() for m in _DECISION_LINE.finditer(body))
    points = sorted(cuts)
    return [(a, b) for a, b in itertools.pairwise(points) if text[a:b].strip()]


def _sections(text: str) -> tuple[dict[str, Span], int]:
    """Section spans (heading excluded) and where the first section heading begins."""
    found = [(m.start(), m.end(), m.lastgroup) for m in _SECTION.finditer(text)]
    sections: dict[str, Span] = {}
    for i, (_, body_start, name) in enumerate(found):
        body_end = found[i + 1][0] if i + 1 < len(found) else len(text)
        piece = span(text, body_start, body_end)
        if name and name not in sections and piece is not None:
            sections[name] = piece
    return sections, (found[0][0] if found else len(text))


def _header(text: str, end: int) -> dict[str, Span]:
    fields: dict[str, Span] = {}
    for m in _HEADER_FIELD.finditer(text, 0, end):
        label = " ".join(m["label"].split())
        value = span(text, m.start("value"), m.end("value"))
        if value is not None and label not in fields:
            fields[label] = value
    return fields


def _items(text: str, section: Span) -> list[ItemLayout]:
    items: list[dict[str, Span]] = []
    current_label: str | None = None
    for a, b in _segments(text, section.start, section.end):
        chunk = text[a:b]
        heading = _HEADING.match(chunk.strip())
        label = _LABEL.match(chunk)
        if heading and not label and len(chunk.strip()) <= MAX_HEADING:
            lead = len(chunk) - len(chunk.lstrip())
            base = a + lead
            items.append({
                "heading": span(text, a, b),
                "request": span(text, base + heading.start("request"), base + heading.end("request")),
                "decision": span(text, base + heading.start("decision"), base + heading.end("decision")),
            })  # fmt: skip
            current_label = None
        elif label and items:
            current_label = label.lastgroup
            value = span(text, a + label.end(), b)
            if value is not None and current_label not in items[-1]:
                items[-1][current_label] = value
        elif items and current_label == "rationale" and "rationale" in items[-1]:
            previous = items[-1]["rationale"]
            items[-1]["rationale"] = span(text, previous.start, b) or previous
    return [ItemLayout(**parts) for parts in items]


def parse(text: str) -> Layout:
    """The letter's sections, header fields and items; never raises on odd text."""
    if not isinstance(text, str):
        return Layout(text="", missing=["text"])
    sections, first = _sections(text)
    header = _header(text, first)
    items_section = sections.get("items")
    items = _items(text, items_section) if items_section else []
    missing = [name for name in ("credentials", "summary", "items") if name not in sections]
    if items_section and not items:
        missing.append("item headings")
    for i, item in enumerate(items):
        missing += [f"items.{i}.{k}" for k in LABELS if getattr(item, k) is None]
    return Layout(text=text, sections=sections, header=header, items=items, missing=missing)
