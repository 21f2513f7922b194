"""The JSONL row: one letter's end in a run, its format, writing, reading and the resume plan.

Every run that extracts letters (`imr_llm.batch`, the Batch API path `imr_llm.openai_batch`, the
CLI) ends each letter as an `Outcome` and appends its `Row` to a results file (records) or an
errors file (failures, by default `<out>.errors.jsonl`); `imr_llm.export` reads rows back.
The row's keys are the fields of `Row`, spelled here and nowhere else. A record row holds
`id, sha256, source, ok, at, model, strategy, usage, attempts, latency_s, cache_hit, provenance, determination`
(`provenance`: where the text came from — `{"source": "ocr", "ocr_pages": 3, "ocr_confidence": 0.93}` for
a scan read by OCR, `{"source": "pdf"}` or `{"source": "text"}` otherwise);
a failure row `id, sha256, source, ok, at, error` (fields that do not apply are left out, not
written as null, so the lines are what earlier versions wrote and read). `at` (when the row was
written) orders a letter's record against its failure in the other file: the later counts.

Reading: `iter_rows` streams every row of a file (a count over a million rows holds one row at
a time); `read_rows` gives the LAST row of each letter id — a rerun after a letter changed
appends the newer row — holding only ids and byte offsets in memory. A torn last line (a
write cut short) or a garbled one is skipped; a row this version cannot read is a `RowError`
naming the file and line, never its values; `unreadable` is told each line passed over.
`failed_since` names the letters whose latest outcome is a failure written after their record
(the file was replaced by one that fails), so no stale record is counted. `plan` says which
letters a run still has to do: a file already done under another id (found from another root)
is not done again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ValidationError, model_serializer
from pydantic.functional_serializers import SerializerFunctionWrapHandler

from imr_llm.errors import RowError
from imr_llm.files import JsonlLog
from imr_llm.result import ExtractionResult, Provenance, Usage
from imr_llm.salvage import describe
from imr_llm.schema import Determination
from imr_llm.sources import Letter

R = TypeVar("R", bound=BaseModel)


class Compact(BaseModel):
    """A model written without the fields that are None, except those named in `ALWAYS`: a line
    says only what applies (a failure has no tokens, a record no error), as these files always have."""

    ALWAYS: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None or k in self.ALWAYS}


class ErrorInfo(Compact):
    """Why a letter failed: the exception's type and message, and `ExtractionError.kind`."""

    type: str
    message: str = ""
    kind: str | None = None

    @classmethod
    def of(cls, error: BaseException) -> ErrorInfo:
        return cls(type=type(error).__name__, message=str(error), kind=getattr(error, "kind", None))


class Entry(BaseModel):
    """What resuming reads of a row: whose it is, of which bytes, and whether it succeeded."""

    id: str
    sha256: str | None = None
    source: str | None = None
    ok: bool
    at: float | None = None
    """When the row was written (Unix seconds); None in rows written before rows said so."""


class Row(Entry, Compact):
    """One JSONL line: the letter's identity, then the record and its cost, or the error."""

    ALWAYS = frozenset({"id", "sha256", "source", "ok"})

    model: str | None = None
    strategy: str | None = None
    usage: Usage | None = None
    attempts: int | None = None
    latency_s: float | None = None
    cache_hit: bool | None = None
    provenance: Provenance | None = None
    determination: Determination | None = None
    error: ErrorInfo | None = None

    @classmethod
    def of_data(cls, data: Mapping[str, Any]) -> tuple[Row, Any]:
        """A row from plain data — a row as written (in memory its id may be missing: "") or a bare
        record — and its record's data as given, not validated: validation normalises hand-made
        values, and an export shows them as they are."""
        if data.keys().isdisjoint(cls.model_fields.keys() - Determination.model_fields.keys()):
            return cls(id="", ok=True), dict(data)
        given = {k: v for k, v in data.items() if k != "determination"}
        return cls.model_validate({"id": "", **given}), data.get("determination")

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> Row:
        letter, r, at = outcome.letter, outcome.result, round(time.time(), 3)
        if r is None:
            assert outcome.error is not None
            return cls(id=letter.id, sha256=letter.sha256, source=str(letter.path), ok=False, at=at,
                       error=ErrorInfo.of(outcome.error))  # fmt: skip
        return cls(id=letter.id, sha256=letter.sha256, source=str(letter.path), ok=True, at=at, model=r.model,
                   strategy=r.strategy, usage=r.usage, attempts=r.attempts, latency_s=r.latency_s,
                   cache_hit=r.cache_hit, provenance=r.provenance, determination=r.determination)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """One letter's end in a run: a result, or the error that stopped it."""

    letter: Letter
    result: ExtractionResult | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    def row(self) -> Row:
        return Row.from_outcome(self)


def errors_path(out: str | Path) -> Path:
    """Where failures go by default: `results.jsonl` -> `results.errors.jsonl`."""
    out = Path(out)
    return out.with_name(f"{out.stem}.errors{out.suffix or '.jsonl'}")


class Output:
    """Where a run's rows go: records to `out`, failures to `errors` (by default beside `out`).

    Both files are locked while it is open: a second run on either fails at once with
    `OutputBusyError`. With neither, rows are only yielded."""

    def __init__(self, out: str | Path | None, errors: str | Path | None = None) -> None:
        self.out = Path(out) if out else None
        self.errors = Path(errors) if errors else (errors_path(out) if out else None)
        self._good: JsonlLog | None = None
        self._bad: JsonlLog | None = None
        try:
            self._good = JsonlLog(self.out) if self.out else None
            self._bad = JsonlLog(self.errors) if self.errors else None
        except BaseException:
            self.close()
            raise

    def write(self, outcome: Outcome) -> Outcome:
        log = self._good if outcome.ok else self._bad
        if log is not None:
            log.write(outcome.row())
        return outcome

    def close(self) -> None:
        for log in (self._good, self._bad):
            if log is not None:
                log.close()

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Id(BaseModel):
    id: str


def _skipped(exc: ValidationError) -> bool:
    """A line that is no row at all — torn, garbled, not an object, no string id — is passed over."""
    return any(e["type"] in ("json_invalid", "model_type") or e["loc"] == ("id",) for e in exc.errors())


def _parse(line: bytes, model: type[R], path: Path, number: int) -> R | None:
    try:
        return model.model_validate_json(line)
    except ValidationError as exc:
        if _skipped(exc):
            return None
        raise RowError(f"{path} line {number}: not a row this version reads ({describe(exc)})") from None


Unreadable = Callable[[int], object]
"""Told the number of each line passed over as no row (torn, garbled, not an object with an id)."""


def iter_rows(path: str | Path, model: type[R] = Row) -> Iterator[R]:
    """Every row of a JSONL file in order, one at a time (a missing file has none)."""
    path = Path(path)
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if (row := _parse(line, model, path, number)) is not None:
                yield row


def read_rows(path: str | Path, model: type[R] = Row, unreadable: Unreadable | None = None) -> Iterator[R]:
    """The last row of each letter id in a JSONL file, in the order those rows were written.

    A missing file has none; a torn or garbled line is skipped (and `unreadable` told its number).
    Memory holds one offset per id."""
    path = Path(path)
    if not path.is_file():
        return
    latest: dict[str, tuple[int, int]] = {}
    with path.open("rb") as fh:
        offset = 0
        for number, line in enumerate(fh, start=1):
            if (found := _parse(line, _Id, path, number)) is not None:
                latest.pop(found.id, None)  # re-inserted: the dict stays in order of each id's last row
                latest[found.id] = (offset, number)
            elif unreadable is not None and line.strip():
                unreadable(number)
            offset += len(line)
        for offset, number in latest.values():
            fh.seek(offset)
            row = _parse(fh.readline(), model, path, number)
            if row is not None:  # the file changed under us: what is there now is skipped if unreadable
                yield row


class Written(Protocol):
    """What ordering two rows of a letter reads: whether each succeeded, and when it was written."""

    @property
    def ok(self) -> bool: ...
    @property
    def at(self) -> float | None: ...


def supersedes(before: Written, after: Written) -> bool:
    """Whether `after`, a letter's row in the other file of a run's pair (records, failures),
    replaces `before`: the later written where both rows say when; between rows written before
    rows did, a success (a failure retried successfully), as those versions counted them."""
    if before.at is not None and after.at is not None:
        return after.at >= before.at
    return after.ok or not before.ok


def failed_since(out: str | Path, errors: str | Path | None = None) -> set[str]:
    """Ids whose record in `out` was superseded by a later failure in `errors` (default beside
    `out`): the letter was replaced by one that fails, so its old record must not be counted.
    Memory holds the failures' rows, not the records."""
    failures = {r.id: r for r in read_rows(errors or errors_path(out), Entry) if not r.ok}
    if not failures:
        return set()
    return {r.id for r in read_rows(out, Entry) if r.id in failures and supersedes(r, failures[r.id])}


@dataclass
class Plan:
    """What a run will do: `todo`, and what it skips because an earlier run did it."""

    todo: list[Letter]
    done: int = 0
    failed_before: int = 0
    same_content: int = 0
    """Of `done`, letters whose file is done under another id (a folder run, then its subfolder)."""


def _same_file(letter: Letter, sources: list[str]) -> bool:
    """Whether `letter` is the file one of `sources` (rows' `source` paths) names, links resolved."""
    where = letter.path.resolve()
    return any(Path(source).resolve() == where for source in sources)


def plan(letters: Iterable[Letter], out: str | Path | None, errors: str | Path | None, retry_failed: bool) -> Plan:
    """Letters still to extract. A letter counts as done when the last row with its id in `out`
    has its content hash (the row `export` keeps), or when the same file, with that content, is
    done under another id: ids are paths under the input root, so a run on a folder and then on
    its subfolder name one letter twice. A changed file is done again; a copy of a letter under
    another name is extracted (from the cache) and counted once by `export` and `report`. Earlier
    failures (the last row per id in `errors`) are skipped, or with `retry_failed` are the only
    letters tried."""
    done: set[tuple[str, str | None]] = set()
    sources: dict[str, list[str]] = {}
    for row in read_rows(out, Entry) if out else ():
        if row.ok:
            done.add((row.id, row.sha256))
            if row.sha256 is not None and row.source:
                sources.setdefault(row.sha256, []).append(row.source)
    failed = {(r.id, r.sha256) for r in read_rows(errors, Entry) if not r.ok} if errors else set()
    result = Plan(todo=[])
    for letter in letters:
        key = (letter.id, letter.sha256)
        if key in done:
            result.done += 1
        elif letter.sha256 in sources and _same_file(letter, sources[letter.sha256]):
            result.done += 1
            result.same_content += 1
        elif key in failed and not retry_failed:
            result.failed_before += 1
        elif key in failed or not retry_failed:
            result.todo.append(letter)
    return result
