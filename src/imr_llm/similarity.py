"""How two values of a field are compared: a score in [0, 1], 1 meaning the same.

These are the comparators the field table (`imr_llm.fields`) assigns to each field, shared by the
eval's scores and the review page's gold marks, so both judge a value the same way. They take
JSON-form values (enums as their values, dates as ISO text), as a record's JSON holds them.

- `exact`: enums, numbers, dates, booleans — equal or not; null vs null is a match.
- `as_set`: pages, states, sources, specialties — equal as sets (names normalised), or not.
- `name`: names and short phrases — equal after lower-casing and dropping punctuation and extra
  spaces, so "Flexeril 5mg" == "flexeril 5 mg".
- `text_similarity`: rationale and mechanism — normalised Indel similarity (rapidfuzz `ratio` / 100)
  of the lower-cased, whitespace-collapsed texts: 1.0 identical, ~0.5 half the characters.
- `soft_set`: diagnoses — F1 of a one-to-one matching where two phrases match when their
  `text_similarity` is at least `DIAGNOSIS_MATCH`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from rapidfuzz import fuzz

DIAGNOSIS_MATCH = 0.85

Comparator = Callable[[Any, Any], float]


def norm(value: Any) -> str:
    """A name as compared: lower case, "5 mg" == "5mg", punctuation and extra spaces dropped."""
    text = str(value).lower()
    text = re.sub(r"(\d)\s+(?=[a-z%])", r"\1", text)
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
    return float(norm(pred) == norm(gold))


def as_set(pred: Iterable[Any], gold: Iterable[Any]) -> float:
    return float({norm(p) for p in pred} == {norm(g) for g in gold})


def soft_set(pred: list[str], gold: list[str]) -> float:
    import numpy as np  # imported on first use: they cost `import imr_llm` (and every CLI start) ~0.4 s
    from scipy.optimize import linear_sum_assignment

    if not pred and not gold:
        return 1.0
    if not pred or not gold:
        return 0.0
    sim = np.array([[text_similarity(p, g) for g in gold] for p in pred])
    rows, cols = linear_sum_assignment(-sim)
    hits = sum(sim[r, c] >= DIAGNOSIS_MATCH for r, c in zip(rows, cols, strict=True))
    precision, recall = hits / len(pred), hits / len(gold)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)
