"""Three ways to turn a letter into a `Determination`, compared by the eval.

- `whole`: the model reads the whole letter in one call and points (`imr_llm.pointers`): each
  disputed item's request, the words stating its decision, and the first words of its guideline
  lines and rationale. Python cuts the passages out of the letter, and the same rules as
  `per_item` read treatments, citations and pages from them and the letter-level fields from the
  rest of the letter; the model is asked only for the gaps the rules leave, as `per_item` asks.
  A layout that adds up checks the items — their number, each decision, the reviewer's pages —
  and on disagreement the model is re-asked with the reason (`Options.max_checks`); what still
  disagrees is taken from the layout. A letter that tells the model to change its answers cannot
  change a decision.
- `per_item`: the layout splits the letter; verbatim fields (request, decision, guideline
  lines, rationale) and everything a rule can read (counts, pages, dates, states) come from
  it. The model is asked only for what the rules left open, one field a question
  (`imr_llm.questions`) — a letter-level field from the sentences of the credentials and summary
  that state it, an item's treatment name or category from its own heading — and each answer is
  kept only if it is grounded in what it was shown. A letter
  whose layout shows no items, or does not add up (`imr_llm.consistency`), goes to `whole`.
- `rules`: the layout and rules alone, no model: the floor, and the fields a model must beat.

Every record carries `evidence` (source and span per field) and lists `ungrounded` values; a
record read off (or checked against) a layout that does not add up lists why in `needs_review`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rapidfuzz import fuzz

from imr_llm import consistency, fields, normalize, pointers, questions, rules, salvage, vocabulary
from imr_llm.errors import ExtractionError
from imr_llm.fields import GUIDELINE_LINES, ITEMS, Field
from imr_llm.layout import ItemLayout, Layout, Span, span
from imr_llm.paths import FieldPath
from imr_llm.schema import Determination, Evidence, Item, Treatment

if TYPE_CHECKING:
    from imr_llm.job import Job
    from imr_llm.prompts import Prompt

GROUNDED = 90
"""rapidfuzz partial_ratio at or above which a model's phrase counts as found in its block."""


# --- grounding --------------------------------------------------------------------------


def find(text: str, value: str) -> Span | None:
    """The span of `value` in `text`, ignoring case and differences in whitespace."""
    words = value.split()
    if not words:
        return None
    m = re.search(r"\s+".join(re.escape(w) for w in words), text, re.IGNORECASE)
    return Span(m.start(), m.end(), " ".join(m.group().split())) if m else None


def grounded(value: Any, block: str) -> bool:
    """Whether a model's value can be found in (or, for numbers and dates, read off) its block."""
    if value is None or value == []:
        return True
    if isinstance(value, list):
        return all(grounded(v, block) for v in value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool | int):
        return str(value) in block
    if isinstance(value, date):
        return any(_safe_date(d) == value for d in re.findall(rules.DATE, block))
    text = " ".join(str(value).lower().split())
    return fuzz.partial_ratio(text, " ".join(block.lower().split())) >= GROUNDED


def _safe_date(text: str) -> Any:
    try:
        return normalize.parse_date(text)
    except ValueError:
        return None


def _derivable(item: Item, found: ItemLayout | None) -> list[str]:
    """Normalised item values that cannot be read off their span (heading or guideline line)."""
    bad = []
    treatment, request = item.treatment, item.request
    if treatment.quantity is not None and not re.search(rf"\b{treatment.quantity}\b", request):
        bad.append("treatment.quantity")
    heading_strength = (normalize.strength(request) or "").replace(" ", "")
    if treatment.strength and treatment.strength.replace(" ", "") not in heading_strength:
        bad.append("treatment.strength")
    for name in GUIDELINE_LINES:
        line = getattr(found, name) if found is not None else None
        read = rules.citation(line)
        if read is not None and getattr(item, name).pages != read.pages:
            bad.append(f"{name}.pages")
    return bad


def _evidence(
    record: Determination, layout: Layout, spans: dict[str, Span], model_paths: list[FieldPath] | None
) -> Determination:
    """Attach a source and span to each quoted field (`fields`, origin "quote") and to each
    model-filled one (`model_paths`; None: the model gave everything), and list what cannot be
    found in or derived from the letter."""
    text = layout.text
    evidence: list[Evidence] = []
    noted: list[FieldPath] = []
    ungrounded: list[str] = []

    def source(path: FieldPath) -> str:
        by_model = str(path) not in spans if model_paths is None else any(path.under(p) for p in model_paths)
        return "model" if by_model else "layout"

    def note(path: FieldPath, value: Any, where: Span | None = None) -> None:
        if isinstance(value, list):
            for j, entry in enumerate(value):
                note(path / j, entry)
            return
        if not value:
            return
        where = where or spans.get(str(path)) or find(text, value)
        if where is None:
            ungrounded.append(str(path))
        evidence.append(
            Evidence(path=str(path), source=source(path), start=where and where.start, end=where and where.end)
        )
        noted.append(path)

    aligned = len(layout.items) == len(record.items)
    for i, item in enumerate(record.items):
        found = layout.items[i] if aligned else None
        for f in fields.ITEM:
            if f.origin == "quote":
                note(ITEMS / i / f.path, f.path.get(item))
        for name in GUIDELINE_LINES:
            line = getattr(found, name) if found is not None else None
            if line is not None:
                note(ITEMS / i / name, line.value, line)
        ungrounded += [str(ITEMS / i / path) for path in _derivable(item, found)]
    for f in fields.LETTER:
        if f.origin == "quote":
            note(f.path, f.path.get(record))
        elif f.origin == "date" and not grounded(f.path.get(record), text):
            ungrounded.append(str(f.path))
    for path in model_paths or []:
        if not any(p.under(path) for p in noted):
            evidence.append(Evidence(path=str(path), source="model"))
    ungrounded = [path for path in ungrounded if path not in record.rejected]  # rejected: empty, not ungrounded
    return record.model_copy(update={"evidence": evidence, "ungrounded": ungrounded})


# --- the strategies ---------------------------------------------------------------------


def _layout_spans(layout: Layout) -> dict[str, Span]:
    spans: dict[str, Span] = {}
    for i, item in enumerate(layout.items):
        spans[str(ITEMS / i / "request")] = item.request
        if item.rationale:
            spans[str(ITEMS / i / "rationale")] = item.rationale
    return spans


def _no_items(job: Job) -> ExtractionError:
    return ExtractionError(
        f"the layout found no disputed items (missing: {', '.join(job.layout.missing) or 'none'}); "
        "use strategy='per_item' or 'whole' for letters in other formats",
        kind="layout",
        attempts=job.calls,
        usage=job.usage,
    )


def _unrepresentable(job: Job, exc: salvage.UnrepresentableError) -> ExtractionError:
    return ExtractionError(str(exc), kind="validation", attempts=job.calls, usage=job.usage)


def _rule_record(job: Job, layout: Layout | None = None) -> Determination:
    """The record by rule from `layout` (default: the job's): a value that fails validation is
    rejected (`salvage`), not the letter."""
    try:
        return rules.record(layout or job.layout)
    except salvage.UnrepresentableError as exc:
        raise _unrepresentable(job, exc) from None


def flagged(record: Determination, reasons: list[str]) -> Determination:
    """The record with `reasons` to doubt it added to `needs_review` (never a plain success)."""
    return record.model_copy(update={"needs_review": [*record.needs_review, *reasons]}) if reasons else record


def _letter_doubts(layout: Layout) -> list[str]:
    """Why the letter itself is in doubt, whatever read it: merged or cut short
    (`consistency.letter_doubts`), or holding sentences addressed to a machine reader
    (`vocabulary.INSTRUCTION`: never shown to a model, but someone edited the letter)."""
    found = consistency.letter_doubts(layout)
    if planted := vocabulary.instructions(questions.sentences(layout.text)):
        found.append(
            f"letter: {len(planted)} sentence(s) read as instructions to a machine reader, not a letter's words"
        )
    return found


def rules_only(job: Job) -> Determination:
    if not job.layout.items:
        raise _no_items(job)
    record = _rule_record(job)
    reasons = consistency.reasons(job.layout) + _letter_doubts(job.layout)
    return flagged(_evidence(record, job.layout, _layout_spans(job.layout), []), reasons)


def _pages_differ(item: ItemLayout, found: ItemLayout) -> tuple[list[int], list[int] | None] | None:
    """The pages the layout's reviewer guideline line cites, and those of the line the model pointed
    at (None: no line), when they differ; None when they agree or the layout's line cites none."""
    read, pointed = rules.citation(found.reviewer_guideline), rules.citation(item.reviewer_guideline)
    if read is None or not read.pages or (pointed is not None and pointed.pages == read.pages):
        return None
    return read.pages, pointed.pages if pointed is not None else None


def disagreements(items: list[ItemLayout], layout: Layout) -> list[str]:
    """Where the items a model pointed at contradict the letter's own structure: their number,
    each decision, the pages of each reviewer's guideline line."""
    if not layout.items:
        return []
    if len(items) != len(layout.items):
        headings = "; ".join(f'"{i.request.value}"' for i in layout.items)
        return [f"the letter has {len(layout.items)} disputed item(s) ({headings}); you gave {len(items)}"]
    problems = []
    for n, (item, found) in enumerate(zip(items, layout.items, strict=True), start=1):
        if item.verdict != found.verdict:
            problems.append(
                f'item {n} "{found.request.value}" is {found.verdict.title()} in the letter, not {item.verdict}'
            )
        if pages := _pages_differ(item, found):
            problems.append(
                f"item {n}: the reviewer's guideline line cites pages {pages[0]}, not {pages[1] or 'none'}: "
                "point at that line"
            )
    return problems


def _settled(located: pointers.Located, layout: Layout) -> pointers.Located:
    """The pointed items with what still contradicts a consistent layout taken from it: all of its
    items when the count differs, else each disagreeing decision and reviewer's guideline line."""
    if len(located.items) != len(layout.items):
        return pointers.Located(layout.items, lost=[], guessed=[])
    settled = []
    for item, found in zip(located.items, layout.items, strict=True):
        if item.verdict != found.verdict:
            item = dataclasses.replace(item, decision=found.decision, judged=None)
        if _pages_differ(item, found):
            item = dataclasses.replace(item, reviewer_guideline=found.reviewer_guideline)
        settled.append(item)
    return dataclasses.replace(located, items=settled)


def _outside_items(text: str, items: list[ItemLayout]) -> str:
    """`text` with the items' guideline lines and rationales blanked out, offsets kept: where the
    letter-level rules read, so a rationale's "4 year old" study is never the patient's age."""
    chars = list(text)
    for item in items:
        for part in (item.claims_administrator_guideline, item.reviewer_guideline, item.rationale):
            if part is not None:
                chars[part.start : part.end] = " " * (part.end - part.start)
    return "".join(chars)


def pointing_messages(prompt: Prompt, text: str, layout: Layout) -> list[dict[str, str]]:
    """The messages of `whole`'s pointing call (a Batch API request holds the same). They show the
    letter from its items section on where a layout that adds up finds one: the rules read the
    credentials and summary, so the model need not, and evaluating the prompt is most of a local
    model's time. Otherwise the whole letter. Pointers are looked for in the whole letter."""
    section = layout.sections.get("items")
    shown = text[section.start :] if section is not None and not consistency.reasons(layout) else text
    return prompt.messages(shown)


def _complete(
    job: Job, answer: pointers.Pointed, messages: list[dict[str, Any]]
) -> tuple[pointers.Pointed, list[dict[str, Any]]]:
    """The answer with the items it named in `requests` but did not detail asked for once more and
    added; what is still missing is said in `needs_review` by the caller (the counts differ)."""
    missing = pointers.undetailed(answer)
    if not missing:
        return answer, messages
    asked = [
        *messages,
        {"role": "assistant", "content": answer.model_dump_json()},
        {"role": "user", "content": f"You listed {len(answer.requests)} requests but detailed {len(answer.items)}. "
         "Answer again with only the requests you did not detail, each detailed: " + "; ".join(missing) + "."},
    ]  # fmt: skip
    try:
        more = job.ask(pointers.Pointed, asked)
    except ExtractionError as exc:
        if exc.kind != "unasked":  # a Batch API answer: the one question was all there is
            raise
        return answer, messages
    items = [*answer.items, *more.items][: pointers.MAX_ITEMS]
    return answer.model_copy(update={"items": items}), asked


def whole(job: Job) -> Determination:
    """The model names the letter's items and points at each one's passages (`imr_llm.pointers`); the
    rules read the passages, and the letter-level fields from the rest of the letter; the model is
    asked only for the gaps the rules leave. A layout that adds up checks the items: a disagreement
    is re-asked (`Options.max_checks`), and what still disagrees is taken from the layout. Without
    one, the items the model named but did not detail are asked for once more."""
    text, layout = job.text, job.layout
    doubts = consistency.reasons(layout)  # a layout that does not add up checks and fixes nothing
    messages = pointing_messages(job.prompt, text, layout)
    answer = job.ask(pointers.Pointed, messages)
    if doubts:  # no layout settles what the model missed: ask once for what it named but did not detail
        answer, messages = _complete(job, answer, messages)
    located = pointers.locate(text, answer)
    for _ in range(job.options.max_checks if not doubts else 0):
        problems = disagreements(located.items, layout)
        if not problems:
            break
        messages = [
            *messages,
            {"role": "assistant", "content": answer.model_dump_json()},
            {
                "role": "user",
                "content": "Your answer disagrees with the letter: " + "; ".join(problems) + ". Correct it.",
            },
        ]
        answer = job.ask(pointers.Pointed, messages)
        located = pointers.locate(text, answer)
    if not doubts and disagreements(located.items, layout):  # still wrong: the letter's structure wins
        located = _settled(located, layout)
    record, filled = _read_pointed(job, located)
    if located.items is not layout.items:  # the model's items, not the layout's: say what may be missing
        record.needs_review += _incomplete(answer)
    by_model = [ITEMS / i for i, item in enumerate(located.items) if item not in layout.items]
    pointed = Layout(text, items=located.items)
    spans = {path: at for path, at in _layout_spans(pointed).items() if path not in located.guessed}
    return flagged(_evidence(record, pointed, spans, by_model + filled), doubts + _letter_doubts(layout))


def _incomplete(answer: pointers.Pointed) -> list[str]:
    """Why the items a model answered may not be all the letter decides (quoting none of its words)."""
    reasons = []
    if missing := pointers.undetailed(answer):
        reasons.append(f"items: the model named {len(missing)} more disputed item(s) than it detailed; not read")
    if len(answer.items) >= pointers.MAX_ITEMS:
        reasons.append(f"items: the model listed the most items one answer holds ({pointers.MAX_ITEMS})")
    return reasons


def _read_pointed(job: Job, located: pointers.Located) -> tuple[Determination, list[FieldPath]]:
    """The record the rules read off the located items, and the letter-level fields off the rest of
    the letter (its credentials and summary where the layout finds them), with the gaps the rules
    leave asked of the model; and the paths the model filled."""
    text, layout, items = job.text, job.layout, located.items
    outside = _outside_items(text, items)
    everywhere = span(outside, 0, len(outside)) or Span(0, 0, "")
    sections = {name: layout.sections.get(name, everywhere) for name in ("credentials", "summary")}
    record = _rule_record(job, Layout(outside, sections, layout.header, items))
    record.needs_review += [f"{path}: the words the model pointed at are not in the letter" for path in located.lost]
    block = "\n\n".join(outside[part.start : part.end] for part in dict.fromkeys(sections.values()))
    return record, _fill_gaps(job, record, block, [i.request.value for i in items])


def _gaps(target: BaseModel, table: Iterable[Field], block: str) -> list[Field]:
    """Fields the rules left empty although `block` mentions them (no mention: nothing to ask)."""
    return [
        f
        for f in table
        if f.cue is not None and f.path.get(target) in (None, [], "other") and re.search(f.cue, block, re.I)
    ]


def _fill(target: BaseModel, field: Field, value: Any, block: str) -> bool:
    """Put the model's `value` for `field` into `target` if it is grounded in `block` (a list keeps
    its grounded entries; a choice is not a quote); whether anything was filled."""
    if isinstance(value, list):
        value = [v for v in value if grounded(v, block)]
    elif field.origin != "choice" and not grounded(value, block):
        return False
    if value in (None, []):
        return False
    field.path.set(target, value)
    return True


def _gap_answer(
    job: Job, record: Determination, path: FieldPath, root: type[BaseModel], field: Field, shown: str, part: str
) -> Any:
    """The model's answer to one gap question; when none fits the field within the re-ask bounds
    (asked for a state where the letter names a profession), the gap stays empty and is listed in
    `rejected` with the reason in `needs_review`, and the letter goes on; likewise, with its own
    reason, a question that cannot be asked (a Batch API answer). Other failures fail the letter."""
    try:
        return questions.ask(job, root, field, shown, part)
    except ExtractionError as exc:
        if exc.kind == "unasked":
            record.needs_review.append(
                f"{path}: the letter states it but no rule reads it, and the model was not asked"
            )
            return None
        if exc.kind != "validation":
            raise
    record.rejected.append(str(path))
    record.needs_review.append(f"{path}: no answer the model gave fits the field; left empty")
    return None


TREATMENT = FieldPath.parse("treatment")
TREATMENT_GAPS = [
    dataclasses.replace(f, path=FieldPath(f.path.keys[1:])) for f in fields.ITEM if f.path.under(TREATMENT)
]
"""The item fields a model may fill, which all belong to the treatment, as paths within it: one
`Treatment` question per item heading answers them."""


def _fill_gaps(job: Job, record: Determination, block: str, headings: list[str]) -> list[FieldPath]:
    """Ask the model for each field the rules left open that the letter states: a letter-level field
    from the sentences of `block` that state it, an item's treatment from its heading; the paths filled."""
    filled: list[FieldPath] = []
    for f in _gaps(record, fields.LETTER, block):
        shown = questions.stating(block, f)
        if shown and _fill(record, f, _gap_answer(job, record, f.path, Determination, f, shown, "letter"), shown):
            filled.append(f.path)
    for i, (item, heading) in enumerate(zip(record.items, headings, strict=True)):
        at = ITEMS / i / TREATMENT
        paths = [
            f.path
            for f in _gaps(item.treatment, TREATMENT_GAPS, heading)
            if _fill(item.treatment, f, _gap_answer(job, record, at / f.path, Treatment, f, heading, "item"), heading)
        ]
        if paths:  # validated again, so the generic name follows a filled-in name or category
            item.treatment = Treatment.model_validate(dict(item.treatment))
        filled += [at / p for p in paths]
    return filled


def per_item(job: Job) -> Determination:
    if consistency.reasons(job.layout):  # no items, or a layout that does not add up: the model reads it all
        return whole(job)
    layout, text = job.layout, job.text
    record = _rule_record(job)
    parts = [layout.sections.get(k) for k in ("credentials", "summary")]
    block = "\n\n".join(text[p.start : p.end] for p in parts if p) or text
    headings = [text[found.heading.start : found.heading.end] for found in layout.items]
    filled = _fill_gaps(job, record, block, headings)
    return flagged(_evidence(record, layout, _layout_spans(layout), filled), _letter_doubts(layout))


STRATEGIES: dict[str, Callable[[Job], Determination]] = {
    "per_item": per_item,
    "whole": whole,
    "rules": rules_only,
}
