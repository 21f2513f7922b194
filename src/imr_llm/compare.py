"""A record against its gold record, field by field: what the eval scores and the review page marks.

Items are aligned to gold by an optimal one-to-one assignment (Hungarian method) on request
similarity (rapidfuzz `token_sort_ratio`, so word order does not matter); pairs under
`MATCH_THRESHOLD` are not matched. Every field in the table (`imr_llm.fields`) is then compared
with its row's comparator (`imr_llm.similarity`): letter fields once, item fields once per gold
item — against its aligned prediction, or as a miss when the record has none. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from rapidfuzz import fuzz

from imr_llm import fields
from imr_llm.paths import FieldPath
from imr_llm.schema import Determination, Item
from imr_llm.similarity import norm

MATCH_THRESHOLD = 0.5


def value_at(record: Any, path: FieldPath) -> Any:
    """The value at `path` in JSON form (enums as values, dates as ISO text), as gold files hold it."""
    return to_jsonable_python(path.get(record))


def align(pred: list[Item], gold: list[Item]) -> list[tuple[int, int]]:
    """Optimal one-to-one (pred, gold) index pairs by request similarity, above the threshold."""
    import numpy as np  # imported on first use: they cost `import imr_llm` (and every CLI start) ~0.4 s
    from scipy.optimize import linear_sum_assignment

    if not pred or not gold:
        return []
    sim = np.array([[fuzz.token_sort_ratio(norm(p.request), norm(g.request)) / 100 for g in gold] for p in pred])
    rows, cols = linear_sum_assignment(-sim)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= MATCH_THRESHOLD]


@dataclass(frozen=True)
class Compared:
    """One field instance compared: `field` as the eval reports it (`items.treatment.name`), `path`
    in the record (`items.2.treatment.name`; None where the record has no item for the gold one)."""

    field: str
    path: FieldPath | None
    predicted: Any
    expected: Any
    score: float
    gold_item: int | None = None


def compare(pred: Determination | None, gold: Determination) -> Iterator[Compared]:
    """Every field of `gold` compared with `pred` (None: an extraction that failed, all misses)."""
    for f in fields.LETTER:
        if pred is None:
            yield Compared(str(f.path), None, None, value_at(gold, f.path), 0.0)
            continue
        got, want = value_at(pred, f.path), value_at(gold, f.path)
        yield Compared(str(f.path), f.path, got, want, f.compare(got, want))
    matched = {gi: pi for pi, gi in align(pred.items, gold.items)} if pred is not None else {}
    for gi, item in enumerate(gold.items):
        pi = matched.get(gi)
        for f in fields.ITEM:
            reported, want = str(fields.ITEMS / f.path), value_at(item, f.path)
            if pi is None:
                yield Compared(reported, None, None, want, 0.0, gi)
                continue
            got = value_at(pred.items[pi], f.path)  # type: ignore[union-attr]
            yield Compared(reported, fields.ITEMS / pi / f.path, got, want, f.compare(got, want), gi)


@dataclass(frozen=True)
class Difference:
    """One field where a record and its gold label disagree (`score` below 1), by the record's own
    path (`items.<its index>.…`); or, with `path` None, a gold item (`gold_item`) the record lacks,
    `expected` being its request."""

    path: str | None
    predicted: Any
    expected: Any
    score: float
    gold_item: int | None = None


def differences(pred: Determination, gold: Determination) -> list[Difference]:
    """Fields that disagree with gold, and gold items with no aligned prediction (one entry each)."""
    found: list[Difference] = []
    missed: set[int] = set()
    for c in compare(pred, gold):
        if c.path is None and c.gold_item is not None:
            if c.gold_item not in missed:
                missed.add(c.gold_item)
                found.append(Difference(None, None, gold.items[c.gold_item].request, 0.0, c.gold_item))
        elif c.score < 1:
            found.append(Difference(str(c.path), c.predicted, c.expected, c.score))
    return found
