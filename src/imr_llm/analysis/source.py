"""Read `imr-llm extract --out` results for a report: the last row of each letter, as typed outcomes.

Input is one or more JSONL files of batch rows (`{"id", "ok": true, "determination": …}` or
`{"id", "ok": false, "error": {"type", "kind"?}}`); for each results file `x.jsonl` its failures
file `x.errors.jsonl` is read too when it exists. Which row of a letter counts: its latest outcome.
In one file, the later line; across files, the later written by the rows' time (`at`), so a
letter extracted and then replaced by a file that fails counts as failed, and a failure retried
successfully counts as the success (`imr_llm.rows.supersedes`; between rows written before rows
carried a time, the success, as those versions counted). One letter under two ids — the same
sha256, as when a folder was run and then its subfolder into the same output — counts once:
its first record (else its first failure); the other ids are listed as duplicates, not counted.
Memory is one (file, offset, sha256) per letter id, not the rows:
a first pass finds each id's row, a second reads just those rows, file by file in offset order,
so a results file of millions of letters is reported in two sequential reads. (This is
`files.read_rows` generalised to several files; it is the one place rows are read, so a shared
typed row module can replace it.)

A row becomes a `Letter`: its record validated against the schema (which also recomputes the
derived values — drug class, guideline — for results written before they existed), or why
there is none. A record that does not validate is reported as invalid, not dropped, and never
stops the report; the error names the field, never its value (letter text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from imr_llm.rows import errors_path, supersedes
from imr_llm.schema import Determination


@dataclass(frozen=True)
class Letter:
    """One letter's outcome: a record, or the failure (`failure`) or validation error (`invalid`)."""

    id: str
    record: Determination | None = None
    failure: str | None = None
    invalid: str | None = None


class Seen(NamedTuple):
    """Where a letter's counting row is, and what `supersedes` and the content check read of it."""

    index: int
    """Which file."""
    offset: int
    ok: bool
    at: float | None
    sha256: str | None


@dataclass
class Scan:
    """What the first pass saw: where each letter's counting row is, and what it passed over."""

    where: dict[str, Seen]
    """id -> the row that counts."""
    rows: int = 0
    superseded: int = 0
    unreadable: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(id not counted, id counted) for letters whose content another id already holds."""


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files to read: each given file, then its `.errors.jsonl` beside it when that exists.

    Raises FileNotFoundError for a given path that is not a file."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"no such results file: {path}")
        errors = None if path.name.endswith(".errors.jsonl") else errors_path(path)
        files += [p for p in (path, errors) if p is not None and p.is_file() and p not in files]
    return files


def _row(line: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return row if isinstance(row, dict) and isinstance(row.get("id"), str) else None


def scan(files: list[Path], progress: Callable[[int], object] | None = None) -> Scan:
    """First pass: the row that counts for each letter id (see the module docstring); `progress`
    is told the bytes read, line by line."""
    found = Scan(where={})
    for index, path in enumerate(files):
        with path.open("rb") as fh:
            offset = 0
            for line in fh:
                row = _row(line) if line.strip() else None
                if row is None:
                    found.unreadable += bool(line.strip())
                else:
                    found.rows += 1
                    seen = Seen(index, offset, row.get("ok", "determination" in row) is True, _number(row.get("at")),
                                sha if isinstance(sha := row.get("sha256"), str) else None)  # fmt: skip
                    before = found.where.get(row["id"])
                    found.superseded += before is not None
                    if before is None or before.index == index or supersedes(before, seen):
                        found.where[row["id"]] = seen
                offset += len(line)
                if progress is not None:
                    progress(len(line))
    _one_per_content(found)
    return found


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _one_per_content(found: Scan) -> None:
    """Keep one id per sha256 — the first with a record, else the first failure — and list the rest."""
    kept: dict[str, str] = {}
    for ok in (True, False):
        for id_, seen in found.where.items():
            if seen.ok is ok and seen.sha256 is not None:
                kept.setdefault(seen.sha256, id_)
    for id_, seen in list(found.where.items()):
        if seen.sha256 is not None and kept[seen.sha256] != id_:
            del found.where[id_]
            found.duplicates.append((id_, kept[seen.sha256]))


def latest_rows(
    files: list[Path], found: Scan, progress: Callable[[], object] | None = None
) -> Iterator[dict[str, Any]]:
    """Second pass: the counting row of each letter, file by file in file order (one seek per row)."""
    for index, path in enumerate(files):
        offsets = sorted(seen.offset for seen in found.where.values() if seen.index == index)
        with path.open("rb") as fh:
            for offset in offsets:
                fh.seek(offset)
                row = _row(fh.readline())
                if progress is not None:
                    progress()
                if row is not None:  # the file changed between the passes: what is there now is skipped
                    yield row


def _first_error(exc: ValidationError) -> str:
    """Where a record failed validation ("items.0.decision: enum"), never the value."""
    error = exc.errors(include_input=False, include_url=False)[0]
    return ".".join(map(str, error["loc"])) + f": {error['type']}"


def letter(row: dict[str, Any]) -> Letter:
    """A row as a typed outcome."""
    if row.get("ok", "determination" in row) is not True or not isinstance(row.get("determination"), dict):
        error = row.get("error") if isinstance(row.get("error"), dict) else {}
        kind = error.get("type") or "unknown error"
        return Letter(row["id"], failure=f"{kind} ({error['kind']})" if error.get("kind") else str(kind))
    try:
        return Letter(row["id"], record=Determination.model_validate(row["determination"]))
    except ValidationError as exc:
        return Letter(row["id"], invalid=_first_error(exc))
