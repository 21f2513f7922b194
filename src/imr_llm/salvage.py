"""Validate a record field by field: an impossible value empties its field, not the letter.

Rule- and layout-built data carry whatever the letter wrote: "2/30/2013", age 125,
"Page(s): 0", seven specialties. Validated all or nothing, one such value loses the whole
letter (and, uncaught, stops a batch). `salvage` validates; for each field that fails —
located by pydantic's own error locations, nested ones included (`items.3.treatment.quantity`;
a list entry such as `patient.diagnoses.13` or a list over its bound rejects its whole list,
since a list with an entry missing would read as complete) — it sets the field empty (None,
or [] where the field is a list) and validates again. A list over its bound is emptied rather
than cut: more entries than a field holds means the letter was misread, so no entry can be
trusted, and a rejected path is always empty, so filtering on `rejected` is enough. Only
when a field cannot be empty (an item's `request` or `decision`; whatever a model validator
refuses as a whole) does the data not make a record: `UnrepresentableError`.

Reasons name the path and the rule, never the value: letters hold medical information, and
pydantic's own error text quotes the input, so it is read with `include_input=False`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from imr_llm.errors import ImrLlmError
from imr_llm.schema import Determination

M = TypeVar("M", bound=BaseModel)
Key = str | int


class UnrepresentableError(ImrLlmError, ValueError):
    """A field that the record cannot leave empty failed validation (message: path and rule)."""


@dataclass(frozen=True)
class Rejection:
    """One field left empty: its path (`items.0.reviewer_guideline.pages`) and the rule it broke."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: value rejected ({self.rule})"


def salvage(model: type[M], data: Mapping[str, Any]) -> tuple[M, list[Rejection]]:
    """`data` validated as `model`, each failing field emptied, and the fields that were.

    Pure: `data` is not changed. Raises `UnrepresentableError` when a failing field cannot
    be empty."""
    work = copy.deepcopy(dict(data))
    rejected: dict[str, Rejection] = {}
    tried: dict[str, int] = {}  # path -> how many empty values it has been given
    while True:
        try:
            return model.model_validate(work), list(rejected.values())
        except ValidationError as exc:
            errors = exc.errors(include_input=False, include_url=False)
        failing: dict[str, tuple[list[Key], str]] = {}
        for error in errors:
            keys = _field(work, error["loc"])
            path = ".".join(map(str, keys or error["loc"])) or "record"
            rule = rule_of(error["msg"])
            if not keys or tried.get(path, 0) >= len(_EMPTY):
                first = rejected.get(path)
                raise UnrepresentableError(f"{path}: {first.rule if first else rule}; the letter cannot be recorded")
            failing.setdefault(path, (keys, rule))
        for path, (keys, rule) in failing.items():
            rejected.setdefault(path, Rejection(path, rule))
            _empty(work, keys, tried.get(path, 0))
            tried[path] = tried.get(path, 0) + 1


def determination(data: Mapping[str, Any]) -> Determination:
    """`data` as a `Determination`; rejected fields are listed in `rejected`, with a reason
    each in `needs_review`."""
    record, rejections = salvage(Determination, data)
    if not rejections:
        return record
    return record.model_copy(
        update={
            "rejected": [*record.rejected, *(r.path for r in rejections)],
            "needs_review": [*record.needs_review, *map(str, rejections)],
        }
    )


_EMPTY: tuple[Any, ...] = (None, [])
"""The empty values a field is tried with, in order (a list field's own is tried first)."""


def _field(data: dict[str, Any], loc: tuple[Key, ...]) -> list[Key] | None:
    """The keys of the field an error location points into: the location as far as `data` has
    it (a union member's name is not data), without a trailing list index (an entry's field is
    its list). None: the error is about the record as a whole."""
    keys: list[Key] = []
    node: Any = data
    for part in loc:
        if isinstance(part, str) and isinstance(node, dict):
            node = node.get(part)
        elif isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
        else:
            break
        keys.append(part)
    while keys and isinstance(keys[-1], int):
        keys.pop()
    return keys or None


def _empty(data: dict[str, Any], keys: list[Key], attempt: int) -> None:
    """Set the field at `keys` to its `attempt`-th empty value ([] first where it holds a list)."""
    parent: Any = data
    for key in keys[:-1]:
        parent = parent[key]
    order = _EMPTY[::-1] if isinstance(parent.get(keys[-1]), list) else _EMPTY
    parent[keys[-1]] = copy.copy(order[attempt])


def describe(exc: ValidationError, most: int = 5) -> str:
    """Where and why validation failed ("patient.age: must be …; …"), never with the values."""
    errors = exc.errors(include_input=False, include_url=False)
    shown = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {rule_of(e['msg'])}" for e in errors[:most])
    return shown + (f" (+{len(errors) - most} more)" if len(errors) > most else "")


def rule_of(message: str) -> str:
    """pydantic's error message (read without the input) as the rule broken, e.g. "must be
    less than or equal to 120"; a list's actual length ("…, not 127") is dropped, since a
    count can give the value away (127 pages from "1-127")."""
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = re.sub(r", not \d+$", "", message)
    for subject in ("Input should", "List should", "String should", "Value should"):
        if message.startswith(subject):
            return "must" + message[len(subject) :]
    return message
