"""Score extracted records against gold records, field by field. Pure functions, no I/O.

Which fields are scored, and how, is the field table's (`imr_llm.fields`, comparators in
`imr_llm.similarity`); items are aligned to gold and compared by `imr_llm.compare`. An unmatched
gold item scores 0 on every item field (and counts against recall and decision accuracy); an
unmatched predicted item counts against item precision only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imr_llm import fields
from imr_llm.compare import Compared, compare
from imr_llm.schema import Determination

FIELDS = fields.all_paths()


@dataclass
class LetterScore:
    """One letter: a list of scores per field, item counts and decisions."""

    name: str
    fields: dict[str, list[float]] = field(default_factory=dict)
    gold_items: int = 0
    pred_items: int = 0
    matched_items: int = 0
    correct_decisions: int = 0
    error: str | None = None

    @property
    def score(self) -> float:
        values = [v for scores in self.fields.values() for v in scores]
        return sum(values) / len(values) if values else 0.0


def score_letter(name_: str, pred: Determination | None, gold: Determination, error: str | None = None) -> LetterScore:
    """Score one prediction (None when extraction failed: every field a miss)."""
    result = LetterScore(name=name_, gold_items=len(gold.items), error=error)
    compared: list[Compared] = list(compare(pred, gold))
    for c in compared:
        result.fields.setdefault(c.field, []).append(c.score)
    result.pred_items = len(pred.items) if pred is not None else 0
    result.matched_items = len({c.gold_item for c in compared if c.gold_item is not None and c.path is not None})
    result.correct_decisions = int(sum(result.fields.get("items.decision", [])))
    return result


@dataclass(frozen=True)
class Summary:
    """Aggregates over letters; `headline` is micro field accuracy with its 95% interval."""

    headline: float
    interval: tuple[float, float]
    macro: float
    decision_accuracy: float
    item_precision: float
    item_recall: float
    item_f1: float
    per_field: dict[str, float]
    per_letter: dict[str, float]


def micro(letters: list[LetterScore]) -> float:
    values = [v for letter in letters for scores in letter.fields.values() for v in scores]
    return sum(values) / len(values) if values else 0.0


def bootstrap(letters: list[LetterScore], rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% interval of micro accuracy, resampling letters with replacement."""
    if not letters:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(letters), size=(rounds, len(letters)))
    totals = np.array([sum(sum(s) for s in letter.fields.values()) for letter in letters])
    counts = np.array([sum(len(s) for s in letter.fields.values()) for letter in letters])
    samples = totals[picks].sum(axis=1) / counts[picks].sum(axis=1)
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return (float(lo), float(hi))


def summarise(letters: list[LetterScore]) -> Summary:
    gold_items = sum(letter.gold_items for letter in letters)
    pred_items = sum(letter.pred_items for letter in letters)
    matched = sum(letter.matched_items for letter in letters)
    precision = matched / pred_items if pred_items else 0.0
    recall = matched / gold_items if gold_items else 0.0
    per_field = {}
    for path in FIELDS:
        values = [v for letter in letters for v in letter.fields.get(path, [])]
        if values:
            per_field[path] = sum(values) / len(values)
    return Summary(
        headline=micro(letters),
        interval=bootstrap(letters),
        macro=sum(letter.score for letter in letters) / len(letters) if letters else 0.0,
        decision_accuracy=sum(letter.correct_decisions for letter in letters) / gold_items if gold_items else 0.0,
        item_precision=precision,
        item_recall=recall,
        item_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        per_field=per_field,
        per_letter={letter.name: letter.score for letter in letters},
    )
