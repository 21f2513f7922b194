"""Score extracted records against gold records, field by field. Pure functions, no I/O.

How each kind of field is compared (a score in [0, 1] per field instance):
- `exact`: enums, numbers, dates, booleans — equal or not; null vs null is a match.
- `set`: pages, states, sources, specialties — equal as sets (names normalised), or not.
- `name`: names and short phrases — equal after lower-casing and dropping punctuation and
  extra spaces, so "Flexeril 5mg" == "flexeril 5 mg"; generic names are already canonical.
- `text`: rationale and mechanism — normalised Indel similarity (rapidfuzz `ratio` / 100)
  of the lower-cased, whitespace-collapsed texts: 1.0 identical, ~0.5 half the characters.
- `soft_set`: diagnoses — F1 of a one-to-one matching where two phrases match when their
  `text` similarity is at least 0.85.

Items are aligned to gold by an optimal one-to-one assignment (Hungarian method) on request
similarity (rapidfuzz `token_sort_ratio`, so word order does not matter); pairs under
`MATCH_THRESHOLD` are not matched. An unmatched gold item scores 0 on every item field (and
counts against recall and decision accuracy); an unmatched predicted item counts against item
precision only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from imr_llm.schema import Determination

MATCH_THRESHOLD = 0.5
DIAGNOSIS_MATCH = 0.85


def _norm(value: Any) -> str:
    text = str(value).lower()
    text = re.sub(r"(\d)\s+(?=[a-z%])", r"\1", text)  # "5 mg" == "5mg"
    return " ".join(re.sub(r"[^\w/%.]+", " ", text).split()).strip(" .")


def text_similarity(a: str | None, b: str | None) -> float:
    if a is None or b is None:
        return float(a is None and b is None)
    return fuzz.ratio(" ".join(a.lower().split()), " ".join(b.lower().split())) / 100


def exact(pred: Any, gold: Any) -> float:
    return float(pred == gold)


def name(pred: Any, gold: Any) -> float:
    if pred is None or gold is None:
        return float(pred is None and gold is None)
    return float(_norm(pred) == _norm(gold))


def as_set(pred: Iterable[Any], gold: Iterable[Any]) -> float:
    return float({_norm(p) for p in pred} == {_norm(g) for g in gold})


def soft_set(pred: list[str], gold: list[str]) -> float:
    if not pred and not gold:
        return 1.0
    if not pred or not gold:
        return 0.0
    sim = np.array([[text_similarity(p, g) for g in gold] for p in pred])
    rows, cols = linear_sum_assignment(-sim)
    hits = sum(sim[r, c] >= DIAGNOSIS_MATCH for r, c in zip(rows, cols, strict=True))
    precision, recall = hits / len(pred), hits / len(gold)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


Comparator = Callable[[Any, Any], float]

LETTER_FIELDS: dict[str, Comparator] = {
    "reviewer.specialties": as_set,
    "reviewer.subspecialties": as_set,
    "reviewer.licensed_states": as_set,
    "patient.age": exact,
    "patient.sex": exact,
    "patient.date_of_injury": exact,
    "patient.mechanism_of_injury": text_similarity,
    "patient.diagnoses": soft_set,
    "ur_decision_date": exact,
}
_CITATION: dict[str, Comparator] = {
    "mtus_based": exact,
    "sources": as_set,
    "document": name,
    "topic": name,
    "pages": as_set,
}
ITEM_FIELDS: dict[str, Comparator] = {
    "request": name,
    "decision": exact,
    "treatment.category": exact,
    "treatment.name": name,
    "treatment.generic_name": name,
    "treatment.strength": name,
    "treatment.quantity": exact,
    "treatment.refills": exact,
    "treatment.visits": exact,
    "treatment.body_region": name,
    "treatment.timing": exact,
    **{f"claims_administrator_guideline.{k}": v for k, v in _CITATION.items()},
    **{f"reviewer_guideline.{k}": v for k, v in _CITATION.items()},
    "rationale": text_similarity,
}
FIELDS = [*LETTER_FIELDS, *(f"items.{k}" for k in ITEM_FIELDS)]


def _get(record: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        record = record[key] if record is not None else None
    return record


def align(pred: list[dict[str, Any]], gold: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Optimal one-to-one (pred, gold) index pairs by request similarity, above the threshold."""
    if not pred or not gold:
        return []
    sim = np.array(
        [[fuzz.token_sort_ratio(_norm(p["request"]), _norm(g["request"])) / 100 for g in gold] for p in pred]
    )
    rows, cols = linear_sum_assignment(-sim)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= MATCH_THRESHOLD]


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
    g = gold.model_dump(mode="json")
    p = pred.model_dump(mode="json") if pred is not None else None
    result = LetterScore(name=name_, gold_items=len(g["items"]), error=error)
    for path, compare in LETTER_FIELDS.items():
        result.fields[path] = [compare(_get(p, path), _get(g, path)) if p else 0.0]
    pairs = align(p["items"], g["items"]) if p else []
    matched = {gi: pi for pi, gi in pairs}
    result.pred_items = len(p["items"]) if p else 0
    result.matched_items = len(pairs)
    for path, compare in ITEM_FIELDS.items():
        result.fields[f"items.{path}"] = [
            compare(_get(p["items"][matched[gi]], path), _get(item, path)) if gi in matched else 0.0
            for gi, item in enumerate(g["items"])
        ]
    result.correct_decisions = int(sum(result.fields["items.decision"]))
    return result


@dataclass(frozen=True)
class Difference:
    """One field where a record and its gold label disagree (`score` below 1)."""

    path: str
    predicted: Any
    expected: Any
    score: float


def differences(pred: Determination, gold: Determination) -> list[Difference]:
    """Fields that disagree with gold, by the record's own paths (`items.<its index>.…`); a gold
    item with no aligned prediction is reported as `items.missing.<gold index>`."""
    g, p = gold.model_dump(mode="json"), pred.model_dump(mode="json")
    found = [
        Difference(path, _get(p, path), _get(g, path), score)
        for path, compare in LETTER_FIELDS.items()
        if (score := compare(_get(p, path), _get(g, path))) < 1
    ]
    matched = {gi: pi for pi, gi in align(p["items"], g["items"])}
    for gi, item in enumerate(g["items"]):
        if gi not in matched:
            found.append(Difference(f"items.missing.{gi}", None, item["request"], 0.0))
            continue
        predicted = p["items"][matched[gi]]
        for path, compare in ITEM_FIELDS.items():
            if (score := compare(_get(predicted, path), _get(item, path))) < 1:
                found.append(Difference(f"items.{matched[gi]}.{path}", _get(predicted, path), _get(item, path), score))
    return found


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
