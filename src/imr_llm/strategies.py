"""Three ways to turn a letter into a `Determination`, compared by the eval.

- `whole`: the whole letter in one model call. The answer is then checked against the
  layout — item count, each decision, the reviewer's pages — and on disagreement the model
  is re-asked with the reason (`Options.max_checks`); what still disagrees is taken from the
  layout. A letter that tells the model to change its answers cannot change a decision.
- `per_item`: the layout splits the letter; verbatim fields (request, decision, guideline
  lines, rationale) and everything a rule can read (counts, pages, dates, states) come from
  it. The model is asked only for what the rules left open — letter-level fields from the
  credentials and summary, each item's treatment from its own heading — with short contexts
  and small outputs, and each answer is kept only if it is grounded in that block. A letter
  whose layout shows no items, or does not add up (`imr_llm.consistency`), goes to `whole`.
- `rules`: the layout and rules alone, no model: the floor, and the fields a model must beat.

Every record carries `evidence` (source and span per field) and lists `ungrounded` values; a
record read off (or checked against) a layout that does not add up lists why in `needs_review`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from imr_llm import consistency, normalize, rules, salvage
from imr_llm.errors import ExtractionError
from imr_llm.layout import Layout, Span
from imr_llm.schema import Determination, DeterminationFields, Evidence, LetterFacts, Treatment

if TYPE_CHECKING:
    from imr_llm.job import Job

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


def _derivable(item: dict[str, Any], found: Any) -> list[str]:
    """Normalised item values that cannot be read off their span (heading or guideline line)."""
    bad = []
    treatment, request = item["treatment"], item["request"]
    if treatment["quantity"] is not None and not re.search(rf"\b{treatment['quantity']}\b", request):
        bad.append("treatment.quantity")
    heading_strength = (normalize.strength(request) or "").replace(" ", "")
    if treatment["strength"] and treatment["strength"].replace(" ", "") not in heading_strength:
        bad.append("treatment.strength")
    for name in ("claims_administrator_guideline", "reviewer_guideline"):
        line = getattr(found, name) if found is not None else None
        if line is not None and item[name]["pages"] != (rules.citation(line) or {}).get("pages"):
            bad.append(f"{name}.pages")
    return bad


def _evidence(
    record: Determination, layout: Layout, spans: dict[str, Span], model_paths: list[str] | None
) -> Determination:
    """Attach a source and span to each verbatim field and to each model-filled one (`model_paths`;
    None: the model gave everything), and list what cannot be found in or derived from the letter."""
    text = layout.text
    evidence: list[Evidence] = []
    ungrounded: list[str] = []
    data = record.model_dump()

    def source(path: str) -> str:
        by_model = path not in spans if model_paths is None else any(path.startswith(p) for p in model_paths)
        return "model" if by_model else "layout"

    def note(path: str, value: str | None, where: Span | None = None) -> None:
        if not value:
            return
        where = where or spans.get(path) or find(text, value)
        if where is None:
            ungrounded.append(path)
        evidence.append(Evidence(path=path, source=source(path), start=where and where.start, end=where and where.end))

    aligned = len(layout.items) == len(data["items"])
    for i, item in enumerate(data["items"]):
        found = layout.items[i] if aligned else None
        note(f"items.{i}.request", item["request"])
        note(f"items.{i}.rationale", item["rationale"])
        for name in ("claims_administrator_guideline", "reviewer_guideline"):
            line = getattr(found, name) if found is not None else None
            if line is not None:
                note(f"items.{i}.{name}", line.value, line)
        ungrounded += [f"items.{i}.{path}" for path in _derivable(item, found)]
    note("patient.mechanism_of_injury", data["patient"]["mechanism_of_injury"])
    for j, diagnosis in enumerate(data["patient"]["diagnoses"]):
        note(f"patient.diagnoses.{j}", diagnosis)
    patient_dates = [
        ("patient.date_of_injury", record.patient.date_of_injury),
        ("ur_decision_date", record.ur_decision_date),
    ]
    ungrounded += [path for path, day in patient_dates if not grounded(day, text)]
    noted = {e.path for e in evidence}
    for path in model_paths or []:
        if not any(p.startswith(path) for p in noted):
            evidence.append(Evidence(path=path, source="model"))
    ungrounded = [path for path in ungrounded if path not in record.rejected]  # rejected: empty, not ungrounded
    return record.model_copy(update={"evidence": evidence, "ungrounded": ungrounded})


# --- the strategies ---------------------------------------------------------------------


def _layout_spans(layout: Layout) -> dict[str, Span]:
    spans: dict[str, Span] = {}
    for i, item in enumerate(layout.items):
        spans[f"items.{i}.request"] = item.request
        if item.rationale:
            spans[f"items.{i}.rationale"] = item.rationale
    return spans


def _no_items(job: Job) -> ExtractionError:
    return ExtractionError(
        f"the layout found no disputed items (missing: {', '.join(job.layout.missing) or 'none'}); "
        "use strategy='per_item' or 'whole' for letters in other formats",
        kind="layout",
        attempts=job.calls,
        usage=job.usage,
    )


def _record(job: Job, data: dict[str, Any]) -> Determination:
    """`data` as a record: a value that fails validation is rejected (`salvage`), not the letter."""
    try:
        return salvage.determination(data)
    except salvage.UnrepresentableError as exc:
        raise ExtractionError(str(exc), kind="validation", attempts=job.calls, usage=job.usage) from None


def _flag(record: Determination, reasons: list[str]) -> Determination:
    """The record with `reasons` to doubt it added to `needs_review` (never a plain success)."""
    return record.model_copy(update={"needs_review": [*record.needs_review, *reasons]}) if reasons else record


def rules_only(job: Job) -> Determination:
    if not job.layout.items:
        raise _no_items(job)
    record = _record(job, rules.record(job.layout))
    return _flag(_evidence(record, job.layout, _layout_spans(job.layout), []), consistency.reasons(job.layout))


def disagreements(answer: DeterminationFields, layout: Layout) -> list[str]:
    """Where a whole-letter answer contradicts the letter's own structure."""
    if not layout.items:
        return []
    if len(answer.items) != len(layout.items):
        headings = "; ".join(f'"{i.request.value}"' for i in layout.items)
        return [f"the letter has {len(layout.items)} disputed item(s) ({headings}); you gave {len(answer.items)}"]
    problems = []
    for n, (item, found) in enumerate(zip(answer.items, layout.items, strict=True), start=1):
        if item.decision.value != found.verdict:
            problems.append(
                f'item {n} "{found.request.value}" is {found.verdict.title()} in the letter, not {item.decision.value}'
            )
        pages = (rules.citation(found.reviewer_guideline) or {}).get("pages", [])
        if pages and item.reviewer_guideline.pages != pages:
            problems.append(
                f"item {n}: the MAXIMUS guideline line cites pages {pages}, not {item.reviewer_guideline.pages}"
            )
    return problems


def whole(job: Job) -> Determination:
    doubts = consistency.reasons(job.layout)  # a layout that does not add up checks and fixes nothing
    messages = job.prompt.messages(job.text)
    answer = job.ask(DeterminationFields, messages)
    for _ in range(job.options.max_checks if not doubts else 0):
        problems = disagreements(answer, job.layout)
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
        answer = job.ask(DeterminationFields, messages)
    spans: dict[str, Span] = {}
    data = answer.model_dump(mode="json")
    if not doubts and disagreements(answer, job.layout):  # still wrong: the letter's structure wins
        fixed = rules.record(job.layout)
        if len(answer.items) == len(job.layout.items):
            for item, rule_item in zip(data["items"], fixed["items"], strict=True):
                item["decision"] = rule_item["decision"]
                item["reviewer_guideline"]["pages"] = rule_item["reviewer_guideline"]["pages"]
        else:
            data["items"] = fixed["items"]
            spans = _layout_spans(job.layout)
    return _flag(_evidence(_record(job, data), job.layout, spans, None), doubts)


def _get(data: Any, keys: list[str]) -> Any:
    for key in keys:
        data = data[key]
    return data


def _gaps(data: dict[str, Any], wanted: dict[str, str], block: str) -> list[str]:
    """Paths the rules left empty although `block` mentions them (no mention: nothing to ask)."""
    return [
        p
        for p, cue in wanted.items()
        if _get(data, p.split(".")) in (None, [], "other") and re.search(cue, block, re.I)
    ]


# Field -> a cue that the block states it: what the model may be asked to fill.
LETTER_GAPS = {
    "reviewer.specialties": r"certif|specialt",
    "reviewer.licensed_states": r"licens",
    "patient.age": r"year|age",
    "patient.sex": r"\b(?:fe)?male\b|\bman\b|\bwoman\b",
    "patient.date_of_injury": r"injur",
    "patient.mechanism_of_injury": r"mechanism of injury(?!\s+(?:was|is)\s+(?:not\s+documented|unknown))"
    r"|injured (?:while|when)|injury occurred",
    "patient.diagnoses": r"diagnos",
}
TREATMENT_GAPS = {"category": r".", "name": r"."}


def _fill(data: dict[str, Any], answer: dict[str, Any], paths: list[str], block: str) -> list[str]:
    """Copy the model's value into each gap path where it is grounded in `block`; returns those paths."""
    filled = []
    for path in paths:
        keys = path.split(".")
        value = _get(answer, keys)
        if isinstance(value, list):
            value = [v for v in value if grounded(v, block)]
        elif not grounded(value, block) and keys[-1] != "category":  # a category is a choice, not a quote
            continue
        if value in (None, []):
            continue
        _get(data, keys[:-1])[keys[-1]] = value
        filled.append(path)
    return filled


def per_item(job: Job) -> Determination:
    if consistency.reasons(job.layout):  # no items, or a layout that does not add up: the model reads it all
        return whole(job)
    layout, text = job.layout, job.text
    data = rules.record(layout)
    filled: list[str] = []
    parts = [layout.sections.get(k) for k in ("credentials", "summary")]
    block = "\n\n".join(text[p.start : p.end] for p in parts if p) or text
    letter_gaps = _gaps(data, LETTER_GAPS, block)
    if letter_gaps:
        facts = job.ask(LetterFacts, job.prompt.messages(block, part="letter"))
        filled += _fill(data, facts.model_dump(), letter_gaps, block)
    for i, (item, found) in enumerate(zip(data["items"], layout.items, strict=True)):
        gaps = _gaps(item["treatment"], TREATMENT_GAPS, found.heading.value)
        if gaps:
            block = text[found.heading.start : found.end]
            treatment = job.ask(Treatment, job.prompt.messages(block, part="item"))
            answer = treatment.model_dump(mode="json")
            filled += [f"items.{i}.treatment.{p}" for p in _fill(item["treatment"], answer, gaps, found.heading.value)]
    return _evidence(_record(job, data), layout, _layout_spans(layout), filled)


STRATEGIES: dict[str, Callable[[Job], Determination]] = {
    "per_item": per_item,
    "whole": whole,
    "rules": rules_only,
}
