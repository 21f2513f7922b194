"""Field paths: the one way to say where a value sits in a record, and to reach it.

A path is written the way the record's JSON nests — `patient.age`, `items.0.treatment.name`,
`patient.diagnoses.1` — and that text is what records carry (`Evidence.path`, `ungrounded`,
`rejected`), what gold differences and review rows are keyed by, and what export columns are named.
`FieldPath` owns that format: parsing, joining, reading and writing a value through pydantic models
and lists, and "is under" (`items.0` holds `items.0.treatment.name`; `items.1` does not hold
`items.10`). Every other module goes through it instead of splitting strings itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

Key = str | int


@dataclass(frozen=True, order=True)
class FieldPath:
    """A field's place in a record: attribute names and list indexes from the top."""

    keys: tuple[Key, ...] = ()

    @classmethod
    def parse(cls, text: str | FieldPath) -> FieldPath:
        """`"items.0.request"` -> FieldPath(("items", 0, "request")); a FieldPath is returned as is."""
        if isinstance(text, FieldPath):
            return text
        return cls(tuple(int(k) if k.isdigit() else k for k in text.split(".") if k))

    def __str__(self) -> str:
        return ".".join(map(str, self.keys))

    def __truediv__(self, more: Key | str | FieldPath) -> FieldPath:
        """`FieldPath.parse("items") / 0 / "treatment.name"`: a path below this one."""
        tail = (more,) if isinstance(more, int) else FieldPath.parse(more).keys
        return FieldPath(self.keys + tail)

    def under(self, other: str | FieldPath) -> bool:
        """Whether this path is `other` or lies inside it (by whole keys, never by text prefix)."""
        keys = FieldPath.parse(other).keys
        return self.keys[: len(keys)] == keys

    @property
    def parent(self) -> FieldPath:
        return FieldPath(self.keys[:-1])

    def get(self, value: Any) -> Any:
        """The value at this path in `value` (a model, list or mapping); None where the path
        leaves the data (a null parent, a list too short)."""
        for key in self.keys:
            value = _step(value, key)
        return value

    def set(self, value: Any, new: Any) -> None:
        """Put `new` at this path in `value`. A model's field is assigned as is: `new` must already
        be valid there (a value from a validated model of the same schema)."""
        parent, key = self.parent.get(value), self.keys[-1]
        if isinstance(parent, BaseModel):
            setattr(parent, str(key), new)
        else:
            parent[key] = new


def _step(value: Any, key: Key) -> Any:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return getattr(value, str(key), None)
    if isinstance(value, list | tuple):
        return value[key] if isinstance(key, int) and -len(value) <= key < len(value) else None
    if isinstance(value, dict):
        return value.get(key)
    return None


ROOT = FieldPath()


def _fields(value: Any) -> list[tuple[str, Any]] | None:
    """A record part's (name, value) pairs: a model's fields in declaration order (computed ones
    last), or a mapping's items (the record's JSON form); None for a plain value."""
    if isinstance(value, BaseModel):
        cls = type(value)
        return [(name, getattr(value, name)) for name in [*cls.model_fields, *cls.model_computed_fields]]
    if isinstance(value, Mapping):
        return list(value.items())
    return None


def leaves(record: Any, at: FieldPath = ROOT, skip: frozenset[str] = frozenset()) -> Iterator[tuple[FieldPath, Any]]:
    """(path, value) for every field a person reads, in a record or its JSON form: nested parts are
    opened, a list of parts gives one path per entry (`items.0…`), a list of plain values stays one
    value. `skip` names top-level fields to leave out."""
    yield from _leaves(_fields(record) or [], at, skip)


def _leaves(
    parts: list[tuple[str, Any]], at: FieldPath, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[FieldPath, Any]]:
    for name, value in parts:
        if name in skip:
            continue
        if (inner := _fields(value)) is not None:  # read once: a computed field is computed each time
            yield from _leaves(inner, at / name)
        elif isinstance(value, list) and value and all(_fields(v) is not None for v in value):
            for i, entry in enumerate(value):
                yield from leaves(entry, at / name / i)
        else:
            yield at / name, value
