"""A letter's structure: the layouts `imr_llm.layout` knows, else items found from the sentences
that state their decisions, in a letter of a layout of its own.

Not every IMR letter heads its items "<request>: Upheld" or lists them as a 2013 notice does. Some
state each decision only in a sentence ("The requested sertraline 100mg #30 is medically
necessary.", "… is not medically necessary. The denial stands.") under a heading of their own
("DETERMINATION", "FINDINGS"), and name each item's parts with labels of their own ("Guideline
used by the reviewer:", "Reason for the determination:"). What such letters share is what an item
is: a request, the sentence that decides it, the claims administrator's guideline, the reviewer's
guideline and the reasons. So `items` reads them by role, not by wording:

- a label line ("<a few words>:") is classed by what its words name (`label_kind`): a guideline or
  criteria of the claims administrator / utilization review, one of the reviewer, or the reasons;
- labels group into items, a new item starting where a kind repeats;
- before each item's first label stands its head: the sentence that states its decision (read by
  `layout.verdict_of`), and above it, where the letter has one, a short title line naming the
  request ("Disputed item 2: Celebrex 200mg #30", "Request: …");
- the request is the title's words after its own label, else the decision sentence's subject.

`parse` looks for these items only where the layouts `imr_llm.layout` knows find none, so a letter
those read is never read another way; the result is the same `Layout` of `ItemLayout` spans,
checked by `imr_llm.consistency` like any other. Its credentials and summary are the sections its
own titles name ("REVIEWER QUALIFICATIONS", "SUMMARY OF THE RECORDS"), before or after its items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imr_llm import layout
from imr_llm.canonical import paragraph_gap
from imr_llm.layout import ItemLayout, Layout, Span, span, verdict_of
from imr_llm.vocabulary import CLOSING, NECESSARY

_LABEL_LINE = re.compile(r"^[ \t]*(?P<label>[A-Za-z][\w'()/&,.-]*(?:[ \t]+[\w'()/&,.-]+){0,9})[ \t]*:", re.M)
_REASONS = re.compile(r"rationale|reason|explanation|discussion|analysis|justification", re.I)
_GUIDELINE = re.compile(r"guideline|criteri|standard|relied|cited|citation|reference|basis|used|applied", re.I)
_CLAIMS = re.compile(r"claims\s+administrator|utilization\s+review|\bUR\b|carrier|insurer", re.I)
_REVIEWER = re.compile(r"review|maximus|expert|independent|\bIMR\b|physician", re.I)
_PART_KINDS = ("claims_administrator_guideline", "reviewer_guideline", "rationale")


def label_kind(label: str) -> str | None:
    """Which part of an item a label starts, by what its words name (None: not an item part): the
    reasons ("Reason for the determination", "Clinical reasoning", "Basis for the decision"), else
    what a party relied on ("Claims administrator's basis", "Guideline used by the reviewer")."""
    if _REASONS.search(label):
        return "rationale"
    if _GUIDELINE.search(label):
        if _CLAIMS.search(label):
            return "claims_administrator_guideline"
        if _REVIEWER.search(label):
            return "reviewer_guideline"
        if re.search(r"\bbasis\b", label, re.I):
            return "rationale"
    return None


@dataclass(frozen=True)
class _Label:
    kind: str
    start: int
    value_start: int


def _labels(text: str, start: int) -> list[_Label]:
    return [
        _Label(kind, m.start("label"), m.end())
        for m in _LABEL_LINE.finditer(text, start)
        if (kind := label_kind(m["label"])) is not None
    ]


def part_starts(text: str) -> list[int]:
    """Where each line begins that starts an item or one of its parts, in a layout `imr_llm.layout`
    knows (`layout.starts_part`) or by what its label names (`label_kind`)."""
    lines = re.finditer(r"^[^\n]*", text, re.M)
    return sorted(
        {m.start() for m in lines if layout.starts_part(m.group())} | {label.start for label in _labels(text, 0)}
    )


def _groups(labels: list[_Label]) -> list[list[_Label]]:
    """Labels in the letter's order, one group an item: a kind seen again starts the next item."""
    groups: list[list[_Label]] = []
    for label in labels:
        if not groups or any(seen.kind == label.kind for seen in groups[-1]):
            groups.append([])
        groups[-1].append(label)
    return groups


_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s\"')])|\n(?![ \t]*\n))+[.!?]?")
"""A sentence: up to a full stop before white space ("7.5mg" and "Dr.Lee" do not end one) or a blank line."""
_TITLE_END = re.compile(r"[.!?;][\"')]*[ \t]*$")
_TITLE_WORDS = 20
_TITLE_LABEL = re.compile(r"^[^:\n]{1,40}:[ \t]*(?=\S)")
_NUMBERED = re.compile(r"^(?:\(?\d+[.)]|\(?[a-z][.)]|item\s+\d+(?:\s+of\s+\d+)?\s*[:.-]?)\s*", re.I)
_SUBJECT = re.compile(
    r"\s*(?:the\s+)?(?:(?:requested|request\s+for|requests?\s+for)\s+)?(?P<request>.+?)\s+(?:is|are|was|were)\s",
    re.I | re.S,
)


def _decision(text: str, start: int, end: int) -> Span | None:
    """The paragraph of sentences in text[start:end] that states a decision: the last sentence that
    states one, with the sentences before it in its paragraph that state one too ("X is medically
    necessary. The utilization review decision is reversed.")."""
    gap = paragraph_gap(text)
    stated = [
        piece
        for m in _SENTENCE.finditer(text, start, end)
        if (piece := span(text, m.start(), m.end())) is not None and verdict_of(piece.value) is not None
    ]
    if not stated:
        return None
    first = stated[-1]
    for before in reversed(stated[:-1]):
        if text.count("\n", before.end, first.start) >= gap:
            break
        first = before
    return span(text, first.start, stated[-1].end)


def _title(text: str, floor: int, before: int) -> Span | None:
    """The short line just above a decision sentence that names the request (no full stop at its
    end, a few words), if the letter has one there."""
    above = text[floor:before].rstrip()
    line_start = above.rfind("\n") + 1
    line = span(text, floor + line_start, floor + len(above))
    if line is None or _TITLE_END.search(line.value) or len(line.value.split()) > _TITLE_WORDS:
        return None
    return line


def _request(text: str, title: Span | None, decision: Span) -> Span | None:
    """The request: the title's words after its own label or numbering, else the subject of the
    sentence that decides it."""
    if title is not None:
        raw = text[title.start : title.end]
        cut = _TITLE_LABEL.match(raw) or _NUMBERED.match(raw)
        return span(text, title.start + (cut.end() if cut else 0), title.end)
    m = _SUBJECT.match(text, decision.start, decision.end)
    return span(text, m.start("request"), m.end("request")) if m else None


def _end_of(text: str, start: int, limit: int) -> int:
    """Where a last item's reasons end: the letter's closing, else an all-capitals title line."""
    closing = CLOSING.search(text, start, limit)
    title = re.search(r"^[ \t]*[A-Z][A-Z ,'&/-]{6,}[ \t]*$", text[start:limit], re.M)
    ends = [closing.start() if closing else limit, start + title.start() if title else limit]
    return min(ends)


def items(text: str, start: int = 0) -> list[ItemLayout]:
    """The items of a letter whose decisions are stated in sentences, from `start` on (see the
    module docstring); [] when it has none that read as items (no labelled parts, no decision)."""
    groups = _groups(_labels(text, start))
    heads: list[tuple[Span, Span, Span] | None] = []
    floor = start
    for group in groups:
        first = group[0].start
        decision = _decision(text, floor, first)
        title = _title(text, floor, decision.start) if decision is not None else None
        request = _request(text, title, decision) if decision is not None else None
        heads.append((title or decision, request, decision) if decision and request else None)
        floor = group[-1].value_start
    found: list[ItemLayout] = []
    for n, (group, head) in enumerate(zip(groups, heads, strict=True)):
        if head is None:
            continue
        after = next((h[0].start for h in heads[n + 1 :] if h is not None), len(text))
        stops = [label.start for label in group[1:]] + [after]
        parts = {label.kind: span(text, label.value_start, stop) for label, stop in zip(group, stops, strict=True)}
        if "rationale" in parts and group[-1].kind == "rationale" and n + 1 == len(groups):
            parts["rationale"] = span(text, group[-1].value_start, _end_of(text, group[-1].value_start, after))
        heading, request, decision = head
        found.append(ItemLayout(heading=heading, request=request, decision=decision, **parts))
    return found


_TITLE_LINE = re.compile(r"^[ \t]*(?P<title>[A-Z][A-Z ,'&/()-]{4,60}?|[A-Z][A-Za-z ,'&/()-]{4,60}?:)[ \t]*$", re.M)
_SECTION_WORDS = {
    "credentials": re.compile(r"qualif|reviewer|credential", re.I),
    "summary": re.compile(r"summary|history|background|records", re.I),
}


def _sections(text: str, start: int, end: int) -> dict[str, Span]:
    """Credentials and summary by what their titles name, before the items (`start`) or after them
    (`end`): letters of their own layout put the reviewer's credentials last as often as first. A
    section the letter does not title is left out, so a model that reads the letter reads it whole."""
    titles = [m for m in _TITLE_LINE.finditer(text) if len(m["title"].split()) <= 8 and not start <= m.start() < end]
    sections: dict[str, Span] = {}
    for n, m in enumerate(titles):
        stop = titles[n + 1].start() if n + 1 < len(titles) else len(text)
        stop = min(stop, start) if m.start() < start else stop
        for name, words in _SECTION_WORDS.items():
            if name not in sections and words.search(m["title"]) and (body := span(text, m.end(), stop)):
                sections[name] = body
                break
    return sections


_NOT_A_SERVICE = re.compile(
    r"[:;]|[a-z]{2}\.\s|\b(?:is|are|was|were|has|have|finds?|found|reviewer|determined|decision|determination"
    r"|upheld|overturned|reversed|stands)\b"
    rf"|{NECESSARY}|^(?:(?:this|that|these|the|its)\s+)?(?:requests?|services?|treatments?|items?|criteria|medications?)\b",
    re.I,
)
MAX_SERVICE_WORDS = 25


def names_a_service(request: str) -> bool:
    """Whether words read as an item's request name a service ("Celebrex 200mg #30 with 3 refills"),
    not a title ("THE REVIEWER'S DETERMINATIONS"), a clause ("reviewer found that the treatment"), a
    label run on into its value, or a pointer ("This request")."""
    words = request.split()
    if not words or len(words) > MAX_SERVICE_WORDS or request.isupper():
        return False
    return not _NOT_A_SERVICE.search(request)


def parse(text: str) -> Layout:
    """The letter's layout: as `imr_llm.layout` parses it, else, where that finds no items, the items
    its decision sentences state (see the module docstring); never raises on odd text."""
    known = layout.parse(text)
    found = items(text) if not known.items and known.text else []
    if not found:
        return known
    sections = {**_sections(text, found[0].heading.start, max(i.end for i in found)), **known.sections}
    sections["items"] = span(text, found[0].heading.start, max(i.end for i in found)) or found[0].heading
    missing = [f"items.{i}.{k}" for i, item in enumerate(found) for k in _PART_KINDS if getattr(item, k) is None]
    decisions = [item.decision for item in found]
    doubts = [
        f"layout: items.{i}.request, read from the sentence that decides it, does not read as the name of a service"
        for i, item in enumerate(found)
        if not names_a_service(item.request.value)
    ]
    doubts += [
        f"layout: items.{i} has no title line naming its request: read from its decision sentence alone"
        for i, item in enumerate(found)
        if item.heading is item.decision
    ]
    return Layout(text, sections, known.header, found, missing, decisions, [], [*known.doubts, *doubts], known.letters)
