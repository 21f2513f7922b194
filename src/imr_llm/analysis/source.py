"""Read `imr-llm extract --out` results for a report: the last row of each letter, as typed outcomes.

Input is one or more JSONL files of batch rows (`{"id", "ok": true, "determination": …}` or
`{"id", "ok": false, "error": {"type", "kind"?}}`); for each results file `x.jsonl` its failures
file `x.errors.jsonl` is read too when it exists. Which row of a letter counts, across all files:
the last successful row if there is one (a failure retried successfully leaves its old row in the
errors file), else the last failure. Memory is one (file, offset) per letter id, not the rows:
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from imr_llm.rows import errors_path
from imr_llm.schema import Determination


@dataclass(frozen=True)
class Letter:
    """One letter's outcome: a record, or the failure (`failure`) or validation error (`invalid`)."""

    id: str
    record: Determination | None = None
    failure: str | None = None
    invalid: str | None = None


@dataclass
class Scan:
    """What the first pass saw: where each letter's counting row is, and what it passed over."""

    where: dict[str, tuple[int, int, bool]]
    """id -> (file index, byte offset, ok) of the row that counts."""
    rows: int = 0
    superseded: int = 0
    unreadable: int = 0


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
                    ok = row.get("ok", "determination" in row) is True
                    before = found.where.get(row["id"])
                    if before is None or ok or not before[2]:
                        found.superseded += before is not None
                        found.where[row["id"]] = (index, offset, ok)
                    else:
                        found.superseded += 1  # a failure after a success: the success counts
                offset += len(line)
                if progress is not None:
                    progress(len(line))
    return found


def latest_rows(
    files: list[Path], found: Scan, progress: Callable[[], object] | None = None
) -> Iterator[dict[str, Any]]:
    """Second pass: the counting row of each letter, file by file in file order (one seek per row)."""
    for index, path in enumerate(files):
        offsets = sorted(offset for i, offset, _ in found.where.values() if i == index)
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
