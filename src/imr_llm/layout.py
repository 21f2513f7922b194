"""Find a letter's structure deterministically, with character offsets into the original text.

IMR letters are formulaic where it matters, in two layouts:

- the 2014-on letters: section titles, one heading per disputed item ending in ": Upheld" /
  ": Overturned", a "Claims Administrator guideline:" line, a "MAXIMUS guideline:" line and a
  "Decision rationale:";
- the 2013 "Notice of Independent Medical Review Determination": header lines ("Date of
  Injury:", "Date of UR Decision:" …), a numbered list "1) MAXIMUS Federal Services, Inc. has
  determined the request for <item> is [not] medically necessary …" that holds the decisions,
  titled sections ending in ":", and per item "1) Regarding the request for <item>:" with
  "Medical Treatment Guideline(s) Used by the Claims Administrator / Expert Reviewer:" and
  "Rationale for the Decision:".

Both parse into the same `Layout`, so rules and strategies need not know which one they read.
Items are found line by line from their own signals — a heading is a line (or two) that ENDS
with the decision, a label line starts a part — never from blank lines, so double-spaced,
single-spaced and paragraph-wrapped text (what PDF extraction gives) parse alike.

`parse` never raises on odd text: what it cannot find is listed in `Layout.missing`, text in
the items section it cannot place in `Layout.unplaced`, and every decision the letter states
in `Layout.decisions` (so `imr_llm.consistency` can tell a layout that adds up from one that
does not). Every `Span` slices back to its text: `" ".join(text[start:end].split())`.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from imr_llm.vocabulary import CLOSING, DECISION_WORD, NECESSARY, NOT, OVERTURNED_WORD, UPHELD_WORD, any_phrase, phrase


def _line_start(names: dict[str, str], tail: str) -> re.Pattern[str]:
    """A line that starts with one of `names` (its group named by the key), then `tail`."""
    alternatives = "|".join(f"(?P<{k}>{v})" for k, v in names.items())
    return re.compile(rf"^[ \t]*(?:{alternatives}){tail}", re.MULTILINE | re.IGNORECASE)


SECTIONS = {
    "credentials": phrase("HOW THE IMR FINAL DETERMINATION WAS MADE"),
    "documents": phrase("DOCUMENTS REVIEWED"),
    "summary": phrase("CLINICAL CASE SUMMARY"),
    "items": any_phrase("IMR ISSUES, DECISIONS, AND RATIONALES", "IMR DECISION(S) AND RATIONALE(S)"),
}
SECTIONS_2013 = {
    "credentials": phrase("Medical Qualifications of the Expert Reviewer"),
    "summary": rf"{phrase('Expert Reviewer')}(?:'s)?\s*{phrase('Case Summary')}",
    "documents": phrase("Documents Reviewed for Determination"),
}
"""2013 section titles end in ":" (and may carry their first words on the same line) or the line.
A title may end in a stray full stop: OCR reads one from a speck after it."""
_SECTION = _line_start(SECTIONS, r"[ \t]*[:.]?[ \t]*$")
_SECTION_2013 = _line_start(SECTIONS_2013, r"[ \t]*(?::|$)")
_GUIDELINES_USED = rf"{phrase('Medical Treatment Guideline')}(?:s|\(s\))?\s*{phrase('Used by the')}"
LABELS = {
    "claims_administrator_guideline": rf"{phrase('Claims Administrator guideline')}|{_GUIDELINES_USED}\s*"
    + phrase("Claims Administrator"),
    "reviewer_guideline": rf"{any_phrase('MAXIMUS', 'Expert Reviewer', 'Reviewer')}\s*{phrase('guideline')}"
    rf"|{_GUIDELINES_USED}\s*{phrase('Expert Reviewer')}",
    "rationale": any_phrase("Decision rationale", "Rationale for the Decision"),
}
_LABEL = _line_start(LABELS, r"[ \t]*:")
_NUMBERING = r"(?:(?:\(\s*\d+\s*\)|\d+\s*[.)])(?=\s|$))"  # "1." "1)" "(1)", not the "0." of "0.025%"
_HEADING = re.compile(rf"^{_NUMBERING}?\s*(?P<request>.+?)[ \t]*:\s*(?P<decision>{DECISION_WORD})[ \t.]*$", re.S | re.I)
_ENDS_WITH_DECISION = re.compile(rf":[ \t]*{DECISION_WORD}[ \t.]*$", re.I)
_DECISION_ALONE = re.compile(rf"^{DECISION_WORD}[ \t.]*$", re.I)
_STATED = re.compile(rf":\s*({DECISION_WORD})", re.I)
"""Every decision an items section states, found independently of the headings."""
_MARKER = rf"(?:{_NUMBERING}|\S{{1,3}}\)(?=\s))"
"""Before "Regarding the request for", any short mark ending in ")" numbers the item: OCR reads "1)" as "+)"."""
_REGARDING_START = re.compile(rf"^{_MARKER}?\s*{phrase('Regarding the request for')}", re.I)
_REGARDING = re.compile(
    rf"^{_MARKER}?\s*{phrase('Regarding the request for')}\s*(?P<request>\S.*?)[ \t]*:$", re.S | re.I
)
_FINDING_WORDS = rf"(?:is|are)\s*(?:{NOT}\s*)?{NECESSARY}"
"""A finding on a request: "is (not) medically necessary", however a PDF or OCR spaced it."""
_DETERMINED = re.compile(
    rf"^[ \t]*(?:\d+\s*[.)]|[-*\u2022])?[ \t]*{phrase('MAXIMUS Federal Services, Inc. has determined')}\s*"
    rf"(?:{phrase('that')}\s*)?{phrase('the request for')}\s*(?P<request>\S.{{0,400}}?)\s+"
    rf"(?P<verdict>{_FINDING_WORDS}(?:\s*{phrase('and appropriate')})?)",
    re.M | re.S | re.I,
)
_FINAL_2013 = re.compile(rf"{phrase('Final Determination')}\s*:\s*{DECISION_WORD}", re.I)
_SENTENCE_END = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")
_SENTENCE_BREAK = re.compile(r"(?:[a-z]{2}|\d)[.!?][\"'\u201d\u2019)\]]*\s+[A-Z]")
"""A full stop that ends a sentence: after a word or number, not an abbreviation ("Dr. Lee")."""
HEADER_FIELDS = {
    name: phrase(name)
    for name in (
        "Dated",
        "IMR Case Number",
        "Case Number",
        "Date of UR Decision",
        "UR Denial Date",
        "Date of Injury",
        "Date Assigned",
        "Claim Number",
        "Final Determination",
    )
}
"""Header labels known by name: found even when several share a line, and keyed by these names."""
_KNOWN = "|".join(HEADER_FIELDS.values())
_KNOWN_FIELD = re.compile(
    rf"(?<![A-Za-z])(?P<label>{_KNOWN})[ \t]*:[ \t]*(?P<value>[^\n]*?)[ \t]*(?=(?<![A-Za-z])(?:{_KNOWN})[ \t]*:"
    r"|[ \t]+[A-Z][A-Za-z]*(?:[ \t]+[A-Z][A-Za-z]*){0,3}[ \t]*:|\n|$)",
    re.I,
)
_HEADER_FIELD = re.compile(
    r"^[ \t]*(?P<label>[A-Za-z][A-Za-z ()/#.'-]{1,40}?)[ \t]*:[ \t]*(?P<value>\S[^\n]*?)[ \t]*$", re.M
)
MAX_HEADING = 400
WRAPPED = 0.6
"""A line ended by wrapping, plus the word that did not fit, is at least this share of the
section's usual line width."""


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
    """One disputed item: its heading and the three labelled parts that follow it.

    `decision` is where the letter states the outcome: the "Upheld"/"Overturned" after the
    heading, or in a 2013 letter the "is [not] medically necessary" of its numbered list."""

    heading: Span
    request: Span
    decision: Span
    claims_administrator_guideline: Span | None = None
    reviewer_guideline: Span | None = None
    rationale: Span | None = None
    judged: str | None = None
    """A model's decision for the item (`imr_llm.pointers`): what counts when `decision`'s words state none."""

    @property
    def end(self) -> int:
        parts = [self.heading, self.claims_administrator_guideline, self.reviewer_guideline, self.rationale]
        return max(p.end for p in parts if p is not None)

    @property
    def verdict(self) -> str:
        """The decision in the schema's terms: "upheld" (the denial stands) or "overturned"."""
        words = self.decision.value
        return verdict_of(words) or self.judged or ("upheld" if re.search(r"\bnot\b", words, re.I) else "overturned")


_NOT_NECESSARY = re.compile(
    rf"{NOT}(?:\s+(?:\w+\s+){{0,2}}?{phrase('necessary')}|\s*{NECESSARY})|\bunnecessary\b", re.I
)
"""A finding that a request is not medically necessary: "is not medically necessary", "is not considered
medically necessary", "is notmedically necessary" (a space lost), "was unnecessary"."""
_UPHELD = re.compile(
    rf"{UPHELD_WORD}|\b(?:denial|non-?certification|decision)\s+(?:\w+\s+){{0,3}}?(?:stands|is\s+affirmed)\b",
    re.I,
)
_OVERTURNED = re.compile(rf"{OVERTURNED_WORD}|\breversed\b", re.I)
_NECESSARY = re.compile(NECESSARY, re.I)


def verdict_of(words: str) -> str | None:
    """The decision that `words` state ("Upheld", "is not medically necessary", "the denial is
    reversed", "the denial stands"), or None when they state none or both."""
    negated = list(_NOT_NECESSARY.finditer(words))
    upheld = bool(negated or _UPHELD.search(words))
    necessary = any(not any(n.start() <= m.start() < n.end() for n in negated) for m in _NECESSARY.finditer(words))
    overturned = bool(necessary or _OVERTURNED.search(words))
    if upheld == overturned:
        return None
    return "upheld" if upheld else "overturned"


@dataclass(frozen=True)
class Layout:
    text: str
    sections: dict[str, Span] = field(default_factory=dict)
    header: dict[str, Span] = field(default_factory=dict)
    items: list[ItemLayout] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    decisions: list[Span] = field(default_factory=list)
    """Every decision the letter states, found apart from the items (one per item if all adds up)."""
    unplaced: list[Span] = field(default_factory=list)
    """Text in the items section that belongs to no item part (nothing is dropped silently)."""
    doubts: list[str] = field(default_factory=list)
    """What parsing could not settle (`imr_llm.consistency` reports them with its own reasons)."""
    letters: int = 1
    """How many letters the text holds, by the titles each has once (files get merged)."""


_IMR = re.compile(rf"\b{phrase('Independent Medical Review')}\b|\bIMR\b|\b{phrase('MAXIMUS')}\b", re.I)


def states_decision(text: str) -> bool:
    """Whether `text` reads as an IMR decision: in a layout this module knows ("Upheld"/"Overturned",
    a 2013 letter's "Final Determination: UPHOLD" / "has determined the request for …"), or in words
    of its own — an Independent Medical Review finding a request (not) medically necessary ("the
    denial is reversed", "the decision is left in place", a table of findings), which the model reads."""
    known = re.search(DECISION_WORD, text, re.I) or _FINAL_2013.search(text) or _DETERMINED.search(text)
    return bool(known or (_IMR.search(text) and _NECESSARY.search(text)))


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Mark:
    """A line (or lines) that starts an item (`request` set) or one of its labelled parts (`label`)."""

    last: int
    start: int
    value_start: int
    label: str | None = None
    request: Span | None = None
    decision: Span | None = None


@dataclass(frozen=True)
class _Verdict:
    """One entry of a 2013 letter's numbered list of decisions."""

    request: str
    verdict: Span


def _lines(text: str, start: int, end: int) -> list[_Line]:
    """The non-blank lines of text[start:end], trimmed, with their offsets."""
    return [
        _Line(start + m.start(), start + m.end(), m.group()) for m in re.finditer(r"\S(?:[^\n]*\S)?", text[start:end])
    ]


def closing(text: str, start: int) -> int | None:
    """Where the letter's closing (`CLOSING`) starts after the last item part that begins after
    `start`: a rationale may hold a line that reads like one ("CC: …", a line starting "Sincerely"),
    so only what follows the last label can close the letter. A title ("Effect of the Decision",
    "Sincerely,") is preferred to a "cc:" list or typist's initials before it."""
    last = max((m.end() for m in _LABEL.finditer(text, start)), default=start)
    found = list(CLOSING.finditer(text, last))
    title = next((m for m in found if m["title"]), None)
    first = title or next(iter(found), None)  # a real letter's list and initials follow its titles
    return first.start() if first is not None else None


def _sections(text: str) -> tuple[dict[str, Span], int]:
    """Section spans (title excluded) and where the first section title begins.

    A 2013 letter has no items title: its items section starts at the first
    "Regarding the request for" line (included in the section)."""
    found = [(m.start(), m.end(), m.lastgroup) for m in _SECTION.finditer(text)]
    found += [(m.start(), m.end(), m.lastgroup) for m in _SECTION_2013.finditer(text)]
    if not any(name == "items" for *_, name in found):
        after = max((end for _, end, _ in found), default=0)
        first_item = next((line for line in _lines(text, after, len(text)) if _REGARDING_START.match(line.text)), None)
        if first_item is not None:
            found.append((first_item.start, first_item.start, "items"))
    items_at = next((start for start, _, name in found if name == "items"), None)
    ends = closing(text, items_at) if items_at is not None else None
    if ends is not None:  # the letter's closing ends the last item: not part of its rationale
        found.append((ends, ends, None))
    found.sort()
    sections: dict[str, Span] = {}
    for i, (_, body_start, name) in enumerate(found):
        body_end = found[i + 1][0] if i + 1 < len(found) else len(text)
        if name and i and found[i - 1][2] == name and name in sections:  # one section under two titles
            body_start = sections.pop(name).start
        piece = span(text, body_start, body_end)
        if name and name not in sections and piece is not None:
            sections[name] = piece
    return sections, (found[0][0] if found else len(text))


def _header(text: str, end: int) -> dict[str, Span]:
    """'Label: value' fields before the first section; known labels even when several share a line."""
    fields: dict[str, Span] = {}
    for m in _KNOWN_FIELD.finditer(text, 0, end):
        label = next(k for k, v in HEADER_FIELDS.items() if re.fullmatch(v, m["label"], re.I))
        value = span(text, m.start("value"), m.end("value"))
        if value is not None and label not in fields:
            fields[label] = value
    for m in _HEADER_FIELD.finditer(text, 0, end):
        label = " ".join(m["label"].split())
        value = span(text, m.start("value"), m.end("value"))
        known = any(re.fullmatch(v, label, re.I) for v in HEADER_FIELDS.values())
        if value is not None and label not in fields and not known:
            fields[label] = value
    return fields


def _width(lines: list[_Line]) -> float:
    """The section's usual line width: the median line length (most lines of a wrapped paragraph
    are full; a median ignores the lines that rejoined hyphenation made twice as long)."""
    return statistics.median(len(line.text) for line in lines) if lines else 0


_PROSE = re.compile(r"^[a-z]|\b(?:is|are|was|were|has|have|had|been|not|does|did|would|should|could|therefore|which)\b")
"""A line that continues a sentence (a lower-case start) or says something (a verb): a rationale's
last line whose full stop is missing, never the first line of a request (a heading names a service)."""


def _wraps_into(prev: _Line, line: _Line, width: float) -> bool:
    """Whether `prev` is the first part of a request that wrapped onto `line`: it ends no
    sentence, is no label line and no prose, and was full enough that `line`'s first word did not fit."""
    if _SENTENCE_END.search(prev.text) or _LABEL.match(prev.text) or re.match(_NUMBERING, line.text):
        return False
    breaks = list(_SENTENCE_BREAK.finditer(prev.text))
    if _PROSE.search(prev.text[breaks[-1].end() - 1 :] if breaks else prev.text):  # what would open the request
        return False
    return len(prev.text) + 1 + len(line.text.split()[0]) >= WRAPPED * width


def _heading(text: str, lines: list[_Line], i: int, floor: int, width: float) -> _Mark | None:
    """An item heading whose decision (or, in a 2013 letter, whose "Regarding … :") ends at line
    i or i+1; it may start on line i-1 when the request wrapped (never below `floor`), and after
    the last full stop on its line when a rationale's last sentence ran on into it."""
    line = lines[i]
    if _LABEL.match(line.text):
        return None
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    first, last, pattern = i, None, _HEADING
    if _REGARDING_START.match(line.text):
        pattern = _REGARDING  # its own start marks it: the request may wrap over several lines, up to its ":"
        ends = (j for j in range(i, min(i + 4, len(lines))) if j == i or not _LABEL.match(lines[j].text))
        last = next((j for j in ends if lines[j].text.endswith(":")), None)
    elif _ENDS_WITH_DECISION.search(line.text):
        last = i
    elif line.text.endswith(":") and nxt is not None and _DECISION_ALONE.match(nxt.text):
        last = i + 1
    if last is None:
        return None
    if pattern is _HEADING and i - 1 >= floor and _wraps_into(lines[i - 1], line, width):
        first = i - 1
    start, end = lines[first].start, lines[last].end
    if pattern is _HEADING:  # a heading run on from the sentence before it starts after that sentence
        numbering = re.match(rf"{_NUMBERING}\s*", text[start:end])
        after = start + (numbering.end() if numbering else 0)
        breaks = list(_SENTENCE_BREAK.finditer(text, after, lines[i].end))
        start = breaks[-1].end() - 1 if breaks else start
    m = pattern.match(text[start:end])
    if m is None or end - start > MAX_HEADING:
        return None
    request = span(text, start + m.start("request"), start + m.end("request"))
    decision = span(text, start + m.start("decision"), start + m.end("decision")) if pattern is _HEADING else None
    if request is None:
        return None
    return _Mark(last, start, end, request=request, decision=decision)


def _marks(text: str, lines: list[_Line]) -> list[_Mark]:
    """Item headings and label lines, in order."""
    width, floor, i = _width(lines), 0, 0
    marks: list[_Mark] = []
    while i < len(lines):
        heading = _heading(text, lines, i, floor, width)
        label = _LABEL.match(lines[i].text)
        if heading is not None:
            marks.append(heading)
            i = floor = heading.last + 1
            continue
        if label is not None:
            marks.append(_Mark(i, lines[i].start, lines[i].start + label.end(), label=label.lastgroup))
            floor = i + 1
        i += 1
    return marks


def _is_intro(piece: Span) -> bool:
    """The one sentence that may open an items section ("… set forth below:")."""
    return piece.value.endswith(":") and not _SENTENCE_BREAK.search(piece.value)


def _verdicts(text: str, end: int) -> list[_Verdict]:
    """A 2013 letter's numbered list of decisions, before its items section."""
    found = []
    for m in _DETERMINED.finditer(text, 0, end):
        verdict = span(text, m.start("verdict"), m.end("verdict"))
        if verdict is not None:
            found.append(_Verdict(" ".join(m["request"].split()).lower(), verdict))
    return found


LIST_MATCH = 60
"""rapidfuzz token_sort_ratio at or above which a heading's request and a list entry's can be one item."""
LIST_MARGIN = 10
"""How far the best list entry must score above the next for the words alone to settle the match."""


def _assign(requests: list[str], verdicts: list[_Verdict]) -> tuple[list[Span | None], list[int]]:
    """Each 2013 heading's decision from the numbered list, and the headings whose entry the words
    did not settle. An entry is taken by its words when it is the heading's clear best (`LIST_MATCH`,
    by `LIST_MARGIN` over the next) and no other heading's; where the words do not settle it and the
    list has one entry per heading, the entry at the heading's place in the list, listed as unsettled
    (the letter is then checked by each item's own closing finding, or flagged); else none."""
    scores = [[fuzz.token_sort_ratio(r.lower(), v.request) for v in verdicts] for r in requests]
    chosen: list[int | None] = []
    for row in scores:
        ranked = sorted(range(len(row)), key=lambda n: (-row[n], n))
        best = ranked[0] if ranked and row[ranked[0]] >= LIST_MATCH else None
        clear = best is not None and (len(ranked) < 2 or row[best] - row[ranked[1]] >= LIST_MARGIN)
        chosen.append(best if clear else None)
    taken = [n for n in chosen if n is not None]
    chosen = [n if n is not None and taken.count(n) == 1 else None for n in chosen]
    unsettled = [k for k, n in enumerate(chosen) if n is None]
    if len(requests) == len(verdicts):
        chosen = [k if n is None and k not in chosen else n for k, n in enumerate(chosen)]
    return [verdicts[n].verdict if n is not None else None for n in chosen], unsettled


_FINDING = re.compile(_FINDING_WORDS, re.I)


def _closing_finding(text: str, passage: Span | None) -> Span | None:
    """Where an item's rationale ends on its finding ("… is not medically necessary and
    appropriate."): the last finding in it, if it states a decision."""
    found = list(_FINDING.finditer(text, passage.start, passage.end)) if passage is not None else []
    last = span(text, found[-1].start(), found[-1].end()) if found else None
    return last if last is not None and verdict_of(last.value) else None


def _items(text: str, section: Span, verdicts: list[_Verdict]) -> tuple[list[ItemLayout], list[Span], list[str]]:
    """The items in `section`, the passages in it that belong to no item part, and the doubts the
    numbered list leaves (a heading matched to its entry by place, not words, whose rationale does
    not confirm it)."""
    lines = _lines(text, section.start, section.end)
    marks = _marks(text, lines)
    items: list[dict[str, Span]] = []
    unplaced: list[Span] = []
    listed, unsettled = _assign(
        [m.request.value for m in marks if m.request is not None and m.decision is None], verdicts
    )
    from_list = iter(listed)
    bounds = [m.start for m in marks[1:]] + [section.end] if marks else []
    first = span(text, section.start, marks[0].start if marks else section.end)
    if first is not None and not (marks and _is_intro(first)):
        unplaced.append(first)
    for mark, end in zip(marks, bounds, strict=True):
        piece = span(text, mark.value_start, end)
        whole = span(text, mark.start, end) or Span(mark.start, mark.start, "")  # a mark's line is never blank
        if mark.request is not None:
            decision = mark.decision or next(from_list)  # 2013: the decision is in the numbered list
            if decision is None:
                unplaced.append(whole)
                items.append({})  # an item with no decision: what follows belongs to no item either
                continue
            heading = span(text, mark.start, mark.value_start) or mark.request
            items.append({"heading": heading, "request": mark.request, "decision": decision})
            if piece is not None:  # text between a heading and its first label
                unplaced.append(piece)
        elif mark.label is not None and items and items[-1] and mark.label not in items[-1]:
            if piece is not None:
                items[-1][mark.label] = piece
        else:  # a label before any item, after an item with no decision, or a second one of its kind
            unplaced.append(whole)
    found = [ItemLayout(**parts) for parts in items if parts]
    doubts = []
    for n, item in enumerate(found):
        if not any(listed[k] is item.decision for k in unsettled):
            continue
        finding = _closing_finding(text, item.rationale)
        if finding is not None:  # the item's own last finding settles what the list's words did not
            found[n] = dataclasses.replace(item, decision=finding)
        else:
            doubts.append(
                f"layout: items.{n}'s request is worded unlike any one entry of the letter's numbered list, and "
                "its rationale states no finding: its decision was taken from the entry at its place"
            )
    return found, unplaced, doubts


_LETTER_START = re.compile(rf"^[ \t]*{phrase('Notice of Independent Medical Review Determination')}", re.M | re.I)


def starts_part(line: str) -> bool:
    """Whether a line starts an item or one of its parts in a layout this module knows: a label, a
    heading that ends on its decision, a 2013 "Regarding the request for"."""
    return bool(_LABEL.match(line) or _ENDS_WITH_DECISION.search(line) or _REGARDING_START.match(line))


def _letters(text: str) -> int:
    """How many letters `text` holds, by the titles each letter has once (files are merged: PDFs of
    several letters bound into one, text files concatenated)."""
    counts = [sum(1 for m in _SECTION.finditer(text) if m.lastgroup == name) for name in SECTIONS]
    counts += [sum(1 for m in _SECTION_2013.finditer(text) if m.lastgroup == name) for name in SECTIONS_2013]
    return max([len(_LETTER_START.findall(text)), *counts])


def parse(text: str) -> Layout:
    """The letter's sections, header fields and items; never raises on odd text."""
    if not isinstance(text, str):
        return Layout(text="", missing=["text"])
    sections, first = _sections(text)
    header = _header(text, first)
    section = sections.get("items")
    items: list[ItemLayout] = []
    unplaced: list[Span] = []
    decisions: list[Span] = []
    doubts: list[str] = []
    if section is not None:
        verdicts = _verdicts(text, section.start)
        items, unplaced, doubts = _items(text, section, verdicts)
        stated = [span(text, m.start(1), m.end(1)) for m in _STATED.finditer(text, section.start, section.end)]
        decisions = [v.verdict for v in verdicts] or [s for s in stated if s is not None]
    missing = [name for name in ("credentials", "summary", "items") if name not in sections]
    if section is not None and not items:
        missing.append("item headings")
    for i, item in enumerate(items):
        missing += [f"items.{i}.{k}" for k in LABELS if getattr(item, k) is None]
    return Layout(text, sections, header, items, missing, decisions, unplaced, doubts, _letters(text))
