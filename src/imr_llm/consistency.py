"""Whether a letter's parsed layout adds up: `reasons(layout)` lists what does not.

A layout that misread a letter — a heading swallowed by a rationale, a request that ran into
the next paragraph, a page footer inside a value, an item with no rationale — still yields a
record that validates. Returned as a plain success it would be silently wrong, so strategies
check the layout first: `per_item` hands an inconsistent letter to the model (`whole`), and a
record built or checked against such a layout carries these reasons in
`Determination.needs_review`, where an analyst can filter on them.

Each reason starts with "layout:" and names the field or part and the rule it breaks, never
the letter's words (letters hold medical information); offsets locate unplaced text.
"""

from __future__ import annotations

import re

from imr_llm.layout import LABELS, ItemLayout, Layout, Span

MAX_REQUEST = 250
"""Characters: the longest item heading in real letters is well under this; longer means a
paragraph was read as (part of) a heading."""
MAX_GUIDELINE = 800
"""Characters: a guideline line (or a 2013 letter's guideline sentences) is shorter than this;
longer means the parts after it were not told apart."""
FURNITURE = re.compile(
    r"\bPage\s+\d+\s+of\s+\d+\b|Final\s+Determination\s+Letter\s+for\b|\bIMR\s+Case\s+(?:Number|No\.?)\s*:?\s*CM\d",
    re.I,
)
"""Page headers and footers: in a value they mean a page break was read as letter text."""
_PART_NAMES = {
    "claims_administrator_guideline": "claims administrator guideline",
    "reviewer_guideline": "reviewer guideline",
    "rationale": "decision rationale",
}
_FINAL = re.compile(r"(OVERTURN\s+IN\s+PART|OVERTURN|UPHOLD)\b", re.I)
_FINAL_VERDICTS = {"UPHOLD": {"upheld"}, "OVERTURN": {"overturned"}, "OVERTURN IN PART": {"upheld", "overturned"}}


def _parts(item: ItemLayout) -> dict[str, Span | None]:
    return {"request": item.request, **{name: getattr(item, name) for name in LABELS}}


def _item_reasons(i: int, item: ItemLayout) -> list[str]:
    reasons = []
    if len(item.request.value) > MAX_REQUEST:
        reasons.append(
            f"layout: items.{i}.request is {len(item.request.value)} characters, longer than an item heading "
            f"can be (at most {MAX_REQUEST})"
        )
    for name in ("claims_administrator_guideline", "reviewer_guideline"):
        part = getattr(item, name)
        if part is not None and len(part.value) > MAX_GUIDELINE:
            reasons.append(
                f"layout: items.{i}.{name} is {len(part.value)} characters, longer than a guideline citation "
                f"can be (at most {MAX_GUIDELINE})"
            )
    for name, part in _parts(item).items():
        if part is not None and FURNITURE.search(part.value):
            reasons.append(f"layout: items.{i}.{name} holds page header or footer text")
    return reasons


def _final_determination(layout: Layout) -> list[str]:
    """A 2013 letter's "Final Determination: UPHOLD / OVERTURN / OVERTURN IN PART" against its items."""
    final = layout.header.get("Final Determination")
    said = _FINAL.match(final.value) if final else None
    allowed = _FINAL_VERDICTS[" ".join(said[1].upper().split())] if said else None
    found = {item.verdict for item in layout.items}
    if allowed is None or not found or found == allowed:
        return []
    return ["layout: the letter's final determination does not match the decisions of its items"]


_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]]*$")


def _cut_short(layout: Layout) -> list[str]:
    """A last rationale that stops mid-sentence: the letter's last page is missing, or it was cut."""
    last = layout.items[-1].rationale if layout.items else None
    if last is None or _ENDS_SENTENCE.search(last.value):
        return []
    return [
        f"layout: items.{len(layout.items) - 1}.rationale ends mid-sentence: the letter may be cut short "
        "(a page missing)"
    ]


def reasons(layout: Layout) -> list[str]:
    """Why records read off this layout cannot be trusted as they stand; [] when it adds up."""
    items = layout.items
    if not items:
        return ["layout: no disputed item headings found; the record could not be checked against the letter"]
    found: list[str] = []
    for i, item in enumerate(items):
        found += _item_reasons(i, item)
    for name, label in _PART_NAMES.items():
        lacking = sum(getattr(item, name) is None for item in items)
        if lacking:
            found.append(f"layout: {lacking} of {len(items)} item(s) have no {label}")
    if len(layout.decisions) != len(items):
        found.append(
            f"layout: the letter states {len(layout.decisions)} decision(s) but {len(items)} item(s) were found"
        )
    if layout.unplaced:
        where = ", ".join(f"{s.start}-{s.end}" for s in layout.unplaced[:5])
        found.append(
            f"layout: {len(layout.unplaced)} passage(s) in the items section belong to no item part "
            f"(characters {where})"
        )
    return found + _final_determination(layout) + layout.doubts


def letter_doubts(layout: Layout) -> list[str]:
    """Why the letter itself, not its reading, is in doubt: several letters in one text, or one cut
    short. No model reads what is not there, so these flag a record and never send it to one."""
    found = _cut_short(layout)
    if layout.letters > 1:
        found.append(f"layout: the text holds {layout.letters} letters (their titles repeat); only the first was read")
    return found
