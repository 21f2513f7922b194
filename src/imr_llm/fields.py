"""The field table: one row per field a record holds, saying everything the pipeline does with it.

A row names the field (`FieldPath` text, relative to the record for letter fields and to the item
for item fields) and says:
- `compare`: how the eval scores it against gold, and how the review page marks a disagreement
  (`imr_llm.similarity`);
- `origin`: what kind of value it is, which decides how it is checked against the letter:
  `quote` — the letter's own words (its span is kept as evidence; not found in the letter: ungrounded);
  `date` — a date as the letter writes it (ungrounded unless a date in the letter reads as it);
  `read` — read off the letter's words and normalised (counts, pages, names, codes);
  `choice` — a judgement from a closed set (a category): a model's answer is not a quote;
  `derived` — computed from other fields by rule (`computed_field`s), never asked of a model;
- `cue`: when the rules leave the field empty, a pattern that says the letter's block states it,
  so the `per_item` model may be asked to fill it; None: only the layout and rules fill it.

Adding a field means: its line in `imr_llm.schema`, its rule in `imr_llm.rules`, and its row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from imr_llm.paths import FieldPath
from imr_llm.similarity import Comparator, as_set, exact, name, soft_set, text_similarity

Origin = Literal["quote", "date", "read", "choice", "derived"]


@dataclass(frozen=True)
class Field:
    """One field: where it is, how it is scored, what kind of value it is, when a model may fill it."""

    path: FieldPath
    compare: Comparator
    origin: Origin
    cue: str | None = None

    @property
    def model_fills(self) -> bool:
        return self.cue is not None


def _row(path: str, compare: Comparator, origin: Origin, cue: str | None = None) -> Field:
    return Field(FieldPath.parse(path), compare, origin, cue)


LETTER: tuple[Field, ...] = (
    _row("reviewer.specialties", as_set, "read", r"certif|specialt"),
    _row("reviewer.subspecialties", as_set, "read"),
    _row("reviewer.licensed_states", as_set, "read", r"licens"),
    _row("patient.age", exact, "read", r"\b\d{1,3}\s*-?\s*(?:years?|yrs?)\b|\bage[ds]?\s*:?\s*\d|\b\d{1,3}\s*y/?o\b"),
    _row("patient.sex", exact, "read", r"\b(?:fe)?male\b|\bman\b|\bwoman\b"),
    _row("patient.date_of_injury", exact, "date", r"injur"),
    _row(
        "patient.mechanism_of_injury",
        text_similarity,
        "quote",
        r"mechanism of injury(?!\s+(?:was|is)\s+(?:not\s+documented|unknown))|injured (?:while|when)|injury occurred",
    ),
    _row("patient.diagnoses", soft_set, "quote", r"diagnos"),
    _row("ur_decision_date", exact, "date"),
    _row("case_number", name, "quote"),
    _row("decision_date", exact, "date"),
)
"""Letter-level fields, paths from the record."""


def _citation(line: str) -> tuple[Field, ...]:
    return (
        _row(f"{line}.mtus_based", exact, "read"),
        _row(f"{line}.sources", as_set, "read"),
        _row(f"{line}.document", name, "read"),
        _row(f"{line}.topic", name, "read"),
        _row(f"{line}.pages", as_set, "read"),
        _row(f"{line}.guideline", exact, "derived"),
    )


GUIDELINE_LINES = ("claims_administrator_guideline", "reviewer_guideline")
"""An item's two guideline citations, each read from one line of the letter."""

ITEM: tuple[Field, ...] = (
    _row("request", name, "quote"),
    _row("decision", exact, "choice"),
    _row("treatment.category", exact, "choice", r"."),
    _row("treatment.name", name, "read", r"."),
    _row("treatment.generic_name", name, "read"),
    _row("treatment.strength", name, "read"),
    _row("treatment.quantity", exact, "read"),
    _row("treatment.refills", exact, "read"),
    _row("treatment.visits", exact, "read"),
    _row("treatment.body_region", name, "read"),
    _row("treatment.timing", exact, "read"),
    _row("treatment.drug_class", exact, "derived"),
    *(row for line in GUIDELINE_LINES for row in _citation(line)),
    _row("rationale", text_similarity, "quote"),
)
"""Fields of each item, paths from the item (`items.<n>.` before them in a record)."""

ITEMS = FieldPath.parse("items")


def all_paths() -> list[str]:
    """Every field's path as the eval reports it: letter fields, then `items.<field>`."""
    return [str(f.path) for f in LETTER] + [str(ITEMS / f.path) for f in ITEM]
