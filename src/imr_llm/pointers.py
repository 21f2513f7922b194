"""The model points, Python copies: what `whole` asks a model for, and how its answer becomes a layout.

Generating a letter's long verbatim passages word by word (rationales, guideline lines) was most of
a small local model's time, and where it went wrong (a page copied from the other line, a sentence
dropped). So `whole` asks a model only for what takes judgement: which disputed items the letter
decides, what it decided on each, and where each item's passages begin, as their first few words
(`Pointed`). `locate` finds those words in the letter and cuts the passages out as `ItemLayout`
spans, the same spans the layout parser makes for letters it knows, so the same rules
(`imr_llm.rules`) read treatments, citations and pages from the letter's own words, and every value
keeps its offsets.

A passage ends where the letter moves on: at the next passage or item any answer points at, at a
heading ("EFFECT OF THIS DECISION", "Item 2 of 3"), or at the letter's closing. Small models copy
the first words of a passage reliably and its last words poorly, so ends are not asked.

The tool schema is the same for every letter, so llama.cpp evaluates it once per server, not once
per letter (the letter comes after it in the prompt); each pointer is capped at a few words in the
grammar (`maxLength`), not in validation, so a longer pointer from another backend still points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from imr_llm.layout import ItemLayout, Span, span, verdict_of
from imr_llm.structure import part_starts

FOUND = 90
"""rapidfuzz partial_ratio at or above which a model's words count as found where they best align."""
POINTER_CHARS = 48
"""The most characters a pointer's grammar lets a model write: six to eight words."""
PASSAGES = ("claims_administrator_guideline", "reviewer_guideline", "rationale")
MAX_ITEMS = 12
"""The most items one answer holds. Greedy decoding can fall into repeating a letter's items until
the bound (seen: three items listed twenty times, 1,785 tokens); repeats are dropped (`_distinct`),
and an answer at the bound is flagged, since the letter may hold more."""


def _pointer(description: str) -> Any:
    return Field(description=description, json_schema_extra={"maxLength": POINTER_CHARS})


def _untitled(schema: dict[str, Any]) -> None:
    """Drop the titles pydantic gives each property: tokens a model reads for nothing (the tool's
    own title is its name)."""
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class ItemPointer(BaseModel):
    """One disputed item."""

    model_config = ConfigDict(json_schema_extra=_untitled)

    request: str = Field(
        min_length=1,
        description="The disputed service exactly as the letter names it, without list numbering, labels or "
        'decision words, e.g. "Prescription of Ultram ER 200mg #30".',
    )
    finding: str = Field(
        description='The letter\'s sentence stating the decision on this item, copied, e.g. "Upheld" or "The '
        'reviewer found that the request is not medically necessary."'
    )
    decision: Literal["upheld", "overturned"] = Field(
        description='"upheld": the reviewer found the service NOT medically necessary, so the denial stands; '
        '"overturned": found it medically necessary, so the denial is reversed.'
    )
    claims_administrator_guideline: str = _pointer(
        "First words of the guideline the claims administrator (utilization review) relied on, after its label."
    )
    reviewer_guideline: str = _pointer(
        "First words of the guideline the independent (expert, MAXIMUS) reviewer relied on, after its label."
    )
    rationale: str = _pointer("First words of the reviewer's reasons for this decision, after its label.")


class Pointed(BaseModel):
    """The disputed items an IMR letter decides, and where the letter states each."""

    model_config = ConfigDict(title="DisputedItems", json_schema_extra=_untitled)

    requests: list[str] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="The request of every disputed item/service the letter decides, in order: the items below.",
    )
    items: list[ItemPointer] = Field(
        min_length=1, max_length=MAX_ITEMS, description="Each of those requests with its decision and passages."
    )


SAME_REQUEST = 90
"""rapidfuzz ratio at or above which a listed request and a detailed item's request are one."""


def undetailed(answer: Pointed) -> list[str]:
    """The requests an answer lists but does not detail: a small model names every item of a letter
    more reliably than it details them (on the samples it listed 2 and 4 requests, detailing 1 and 2)."""
    detailed = [" ".join(i.request.lower().split()) for i in answer.items]
    listed = dict.fromkeys(" ".join(r.split()) for r in answer.requests if r.strip())
    return [r for r in listed if not any(fuzz.ratio(r.lower(), d) >= SAME_REQUEST for d in detailed)]


@dataclass(frozen=True)
class Located:
    """The items a pointed answer locates in the letter, and the pointers that could not be found."""

    items: list[ItemLayout]
    lost: list[str]
    """Passages ("items.0.rationale") whose first words are not in the letter: left empty."""
    guessed: list[str]
    """Requests ("items.0.request") not in the letter: the model's words are kept, with no span."""


_LABEL = r"[A-Z][\w'()/&,. -]{0,60}?:"
_LEADING_LABEL = re.compile(rf"[ \t]*{_LABEL}[ \t]*\n?[ \t]*")
_SOURCE_WORDS = re.compile(r"\bMTUS\b|\bODG\b|\bACOEM\b|\bOfficial\b|\bGuidelines\b")
"""A label holding these names a source ("MTUS: ACOEM …"): part of the citation, never cut off."""
_LABEL_WORDS = 10
_LINE_LABEL = re.compile(rf"^[ \t]*{_LABEL}[ \t]*$")
_HEADING_LINE = re.compile(r"^[ \t]*[A-Z][^\n.,;:!?]{0,60}[ \t]*$")
_CLOSING = re.compile(r"^[ \t]*(?:Effect\s+of\s+(?:the|this)\s+Decision\b|Sincerely\b|cc\s*:)", re.M | re.I)
_SENTENCE_END = re.compile(r"[.;!?][\"')]*\s")
_HEADING_WORDS = 8
_DECISION_WORDS = re.compile(r"[ \t]*[:-]?[ \t]*\b(?:upheld|overturned)\b[ \t.]*$", re.I)


def _words(words: str, flags: int = re.I) -> re.Pattern[str] | None:
    """`words` as a pattern that takes any run of white space between them (None: no words)."""
    tokens = words.split()
    return re.compile(r"\s+".join(re.escape(t) for t in tokens), flags) if tokens else None


def _find(text: str, words: str, start: int = 0) -> int | None:
    """Where `words` begin in `text` at or after `start`: where they stand as written, else ignoring
    case, else where they align best with at least `FOUND` similarity (a model may drop a comma);
    of several places, the first that begins its line after at most a label ("Reasons: …"), since a
    passage's opening words can recur inside the passage before it."""
    for flags in (0, re.I):
        pattern = _words(words, flags)
        if pattern is None:
            return None
        hits = [m.start() for m in pattern.finditer(text, start)]
        if hits:
            return next((at for at in hits if _begins_line(text, at)), hits[0])
    needle = " ".join(words.split()).lower()
    if len(needle) < 12:  # too short to tell a near miss from a chance likeness
        return None
    hit = fuzz.partial_ratio_alignment(needle, text[start:].lower(), score_cutoff=FOUND)
    return start + hit.dest_start if hit else None


def _begins_line(text: str, at: int) -> bool:
    return _boundary(text, at) <= _line_start(text, at)


def _line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def _boundary(text: str, at: int) -> int:
    """Where the passage or item that begins at `at` takes over from the one before it: the start of
    its line when only a short label or numbering stands before it there ("MAXIMUS guideline:",
    "b)", "Service 2 -"), moved up over labels on lines of their own above it."""
    start = _line_start(text, at)
    before = text[start:at]
    if len(before.split()) > _LABEL_WORDS or _SENTENCE_END.search(before):
        return at
    probe = start
    while probe > 0:
        above = _line_start(text, probe - 1)
        line = text[above : probe - 1]
        if line.strip() and not _LINE_LABEL.match(line):
            break
        probe = above
        if line.strip():
            start = above
    return start


def _moves_on(text: str, start: int) -> int:
    """Where the letter moves on after `start`: a short heading line after a finished sentence
    ("EFFECT OF THIS DECISION", "Summary of the medical records", "Item 2 of 3"), or the closing."""
    closing = _CLOSING.search(text, start + 1)
    end = closing.start() if closing else len(text)
    previous = ""
    for m in re.finditer(r"[^\n]+", text[start:end]):
        line = m.group()
        if not line.strip():
            continue
        heading = _HEADING_LINE.match(line) and len(line.split()) <= _HEADING_WORDS
        if m.start() > 0 and heading and re.search(r"[.:;!?][\"')]*[ \t]*$", previous):
            return start + m.start()
        previous = line
    return end


def _trimmed(text: str, start: int, end: int, name: str) -> Span | None:
    """The passage text[start:end] without the label before it (a rationale's "Explanation:", a
    guideline's "What the reviewer relied on:"), unless the label names a source."""
    m = _LEADING_LABEL.match(text, start, end)
    if m and len(m.group().split()) <= _LABEL_WORDS and (name == "rationale" or not _SOURCE_WORDS.search(m.group())):
        start = m.end()
    return span(text, start, end)


def _request(text: str, item: ItemPointer, start: int) -> Span | None:
    """Where the item's request stands at or after `start` (else anywhere): the first place where it
    begins a line, after at most a label or numbering, else its first place; None if nowhere."""
    pattern = _words(_DECISION_WORDS.sub("", item.request))
    if pattern is None:
        return None
    hits = list(pattern.finditer(text, start)) or list(pattern.finditer(text))
    if not hits:
        return None
    best = next((m for m in hits if _begins_line(text, m.start())), hits[0])
    return Span(best.start(), best.end(), " ".join(best.group().split()))


@dataclass(frozen=True)
class _Pinned:
    """One pointed item with where its request and its passages begin in the letter (None: not found)."""

    pointer: ItemPointer
    request: Span | None
    starts: dict[str, int | None]


def _pin(text: str, pointers: list[ItemPointer]) -> list[_Pinned]:
    """Where each item's request and passages begin: its request after the previous item's passages,
    its passages after its request, each after the one before (two may begin with the same words:
    "Decision based on MTUS …"), else anywhere."""
    pinned = []
    cursor = 0
    for pointer in pointers:
        request = _request(text, pointer, cursor)
        after = request.start if request is not None else cursor
        starts: dict[str, int | None] = {}
        ahead = after
        for name in PASSAGES:
            words = getattr(pointer, name)
            tries = (_find(text, words, start) for start in (ahead, after, 0))  # lazily: stop at the first place
            starts[name] = at = next((a for a in tries if a is not None), None)
            ahead = ahead if at is None else at + 1
        pinned.append(_Pinned(pointer, request, starts))
        cursor = max([after, *(s for s in starts.values() if s is not None)]) + 1
    return pinned


def _distinct(pinned: list[_Pinned]) -> list[_Pinned]:
    """The items without repeats: a small model may list an item again (from a letter's opening list
    of decisions, then from its own section), pointing at the same rationale, or the same request."""
    kept: list[_Pinned] = []
    seen: set[tuple[str, int]] = set()
    for item in pinned:
        rationale = item.starts["rationale"]
        key = (
            ("rationale", rationale)
            if rationale is not None
            else ("request", item.request.start)
            if item.request
            else None
        )
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        kept.append(item)
    return kept


def _finding(text: str, at: int, said: re.Pattern[str]) -> Span | None:
    """The words stating a decision where the model's copy of them begins: its copy, or when that
    states no decision by itself (an answer's "No."), the rest of the line it begins."""
    stated = said.match(text, at)
    found = span(text, at, stated.end() if stated else at)
    if found is not None and verdict_of(found.value) is None:
        line_end = text.find("\n", at)
        found = span(text, at, max(found.end, line_end if line_end != -1 else len(text))) or found
    return found


def _item(text: str, item: _Pinned, marks: list[int]) -> ItemLayout:
    """The pinned item as layout spans: each passage runs to the next mark or to where the letter
    moves on; the decision is where the words the model copied stand (else only its judgement)."""
    parts: dict[str, Span | None] = {}
    for name, at in item.starts.items():
        end = min([m for m in marks if m > at] + [_moves_on(text, at)]) if at is not None else None
        parts[name] = _trimmed(text, at, end, name) if at is not None and end is not None else None
    pointer = item.pointer
    heading = item.request or Span(0, 0, " ".join(_DECISION_WORDS.sub("", pointer.request).split()))
    said = _words(pointer.finding)
    at = _find(text, pointer.finding, heading.start)
    at = at if at is not None else _find(text, pointer.finding)
    decision = _finding(text, at, said) if at is not None and said is not None else None
    return ItemLayout(
        heading=heading,
        request=heading,
        decision=decision or Span(heading.end, heading.end, ""),
        judged=pointer.decision,
        **parts,
    )


def locate(text: str, answer: Pointed) -> Located:
    """The letter's items where the model points (repeats dropped), as layout spans; each passage
    runs to the next place any pointer marks, the next line that starts an item or one of its parts
    (`part_starts`: a passage never runs into another item's heading or guideline line, even one the
    model did not point at), or to where the letter moves on."""
    pinned = _distinct(_pin(text, answer.items))
    marks = sorted(
        {_boundary(text, p.request.start) for p in pinned if p.request is not None}
        | {_boundary(text, at) for p in pinned for at in p.starts.values() if at is not None}
        | set(part_starts(text))
    )
    lost = [
        f"items.{i}.{name}"
        for i, p in enumerate(pinned)
        for name, at in p.starts.items()
        if at is None and getattr(p.pointer, name).strip()
    ]
    guessed = [f"items.{i}.request" for i, p in enumerate(pinned) if p.request is None]
    return Located([_item(text, p, marks) for p in pinned], lost, guessed)
