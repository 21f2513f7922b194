"""Flatten records into tables: one row per disputed item, the letter's fields repeated.

That is the shape analysts count with (overturn rate by treatment, pages cited per
guideline). Where the text came from is in `text_source` (`text`, `pdf` or `ocr`), with
`ocr_pages` and `ocr_confidence` (0-1) for a scan, so what OCR read can be set apart.
Nested fields become dotted columns (`treatment.generic_name`,
`reviewer_guideline.pages`); lists stay lists in a DataFrame and Parquet, and are joined
with "; " in CSV, where a cell holds text only.

What counts (`Records`): a JSONL file gives the last row of each letter (`imr_llm.rows.read_rows`),
so a letter redone after it changed is counted once, as it is now; a record whose letter failed
later (its `.errors.jsonl` row is newer: the file was replaced by one that fails) is left out as
stale; and one letter under two names (the same sha256: a copy, or a folder run and then a run
on its subfolder) is counted once, under the first name. Lines that are no row are passed over.
Each of these is said (`Records.notes`; logged as warnings, printed by `imr-llm export`), never
silent.

Files stream: item rows are flattened once into an unnamed temporary file beside the output (the
columns, or the Parquet schema, must be known before the first row), then written CSV row by row
or Parquet in batches of `BATCH` item rows, so memory holds a batch and one offset per letter,
not the rows. They are written whole or not at all, readable by their owner
only (`files.private_file`: they hold ages, diagnoses, rationales). In CSV alone, a text cell a
spreadsheet would run as a formula (starting = + - @ tab or CR, e.g. a treatment named
`=HYPERLINK(…)` in a letter) gets a leading single quote, OWASP's rule against CSV injection;
Parquet and DataFrames keep every value as it is.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from imr_llm.errors import shown
from imr_llm.fields import ITEMS
from imr_llm.files import private_file, refuse_overwrite
from imr_llm.paths import leaves
from imr_llm.result import ExtractionResult, Provenance
from imr_llm.rows import Outcome, Row, errors_path, failed_since, read_rows
from imr_llm.schema import Determination

if TYPE_CHECKING:
    import pandas

log = logging.getLogger(__name__)
LIST_SEPARATOR = "; "
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP, CSV injection)."""
SKIPPED = frozenset({"evidence", "items"})
"""Span-level provenance is for the review page, not for a table of counts; items get rows of their own."""
BATCH = 4096
"""Item rows per Parquet row group: what a Parquet export holds in memory at once."""
NAMED = 10
"""Duplicate or stale letters named in a note; the rest are counted."""


def _flat(record: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A record (or its JSON form, as a row holds it) as dotted columns, values in JSON form
    (dates as ISO text, enums as values). A row's record is written as it is, not validated again."""
    return {str(path): to_jsonable_python(value) for path, value in leaves(record, skip=skip)}


def _as_row(result: Any) -> tuple[Row, Any]:
    """A batch row from any form a record comes in (rows from memory may have no id: `""`), and its
    record as JSON data (plain data as given)."""
    if isinstance(result, dict):
        return Row.of_data(result)
    if isinstance(result, Outcome):
        result = result.row()
    elif isinstance(result, ExtractionResult):
        result = Row(id="", ok=True, model=result.model, strategy=result.strategy, provenance=result.provenance,
                     determination=result.determination)  # fmt: skip
    elif isinstance(result, Determination):
        result = Row(id="", ok=True, determination=result)
    if isinstance(result, Row):
        record = result.determination
        return result, None if record is None else record.model_dump(mode="json")
    raise TypeError(f"cannot export a {type(result).__name__}; pass results, records or batch rows")


def _provenance(provenance: Provenance | None) -> dict[str, Any]:
    """The text's source as columns; all empty for a row written before rows said where text came from."""
    if provenance is None:
        return dict.fromkeys(("text_source", "ocr_pages", "ocr_confidence"))
    return {"text_source": provenance.source, "ocr_pages": provenance.ocr_pages,
            "ocr_confidence": provenance.ocr_confidence}  # fmt: skip


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def _names(ids: list[str]) -> str:
    shown_ids = ", ".join(shown(i) for i in ids[:NAMED])
    return shown_ids + (f" and {len(ids) - NAMED} more" if len(ids) > NAMED else "")


class Records:
    """The records an export counts, from a results JSONL file or from results in memory, read
    again on each iteration (a file streams; memory holds one offset per letter and one sha256 per
    record). What an iteration left out, and why, is in `unreadable`, `stale` and `duplicates`."""

    def __init__(self, source: str | Path | Iterable[Any]) -> None:
        self.path = Path(source) if isinstance(source, str | Path) else None
        self._given = None if self.path is not None else source
        self.unreadable = 0
        self.stale: list[str] = []
        """Ids whose record was superseded by a later failure of the letter."""
        self.duplicates: list[tuple[str, str]] = []
        """(id left out, id counted) for letters whose content was already counted under another id."""

    def _unreadable(self, _number: int) -> None:
        self.unreadable += 1

    def _rows(self) -> Iterator[Any]:
        if self.path is None:
            yield from self._given  # type: ignore[misc]
            return
        stale = failed_since(self.path)
        for row in read_rows(self.path, unreadable=self._unreadable):
            if row.id in stale:
                self.stale.append(row.id)
            else:
                yield row

    def __iter__(self) -> Iterator[tuple[Row, Any]]:
        """(row, record as JSON data) for each successful, current, first-of-its-content record."""
        self.unreadable, self.stale, self.duplicates = 0, [], []
        counted: dict[str, str] = {}
        for n, result in enumerate(self._rows()):
            row, record = _as_row(result)
            if not row.ok or record is None:
                continue
            row.id = row.id or str(n)
            if row.sha256 is not None and (first := counted.setdefault(row.sha256, row.id)) != row.id:
                self.duplicates.append((row.id, first))
                continue
            yield row, record

    def notes(self) -> list[str]:
        """What the last iteration left out, in words (ids and counts, never a value)."""
        where = shown(str(self.path)) if self.path is not None else "the results"
        notes = []
        if self.unreadable:
            notes.append(f"{self.unreadable} line(s) of {where} passed over: not a row (torn or garbled)")
        if self.stale:
            notes.append(f"{len(self.stale)} record(s) left out: the letter failed since, in "
                         f"{shown(str(errors_path(self.path or '')))} ({_names(self.stale)})")  # fmt: skip
        if self.duplicates:
            pairs = [f"{dup} (same as {first})" for dup, first in self.duplicates]
            notes.append(f"{len(pairs)} letter(s) left out: the same content as a letter counted ({_names(pairs)})")
        return notes


def iter_item_rows(results: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """One flat row per item of every record `results` counts (see `Records`; failed letters
    have no items), one at a time."""
    for row, record in results if isinstance(results, Records) else Records(results):
        letter = {"letter": row.id, "sha256": row.sha256, "model": row.model, "strategy": row.strategy}
        letter |= _provenance(row.provenance)
        letter |= _flat(record, skip=SKIPPED)
        for i, item in enumerate(ITEMS.get(record), start=1):
            yield letter | {"item": i} | _flat(item)


def item_rows(results: Iterable[Any]) -> list[dict[str, Any]]:
    """One flat row per item of every successful record (failed letters have no items)."""
    return list(iter_item_rows(results))


def _records(source: str | Path | Iterable[Any] | Records, path: str | Path) -> tuple[Records, bool]:
    """`source` as `Records`, and whether this call made it (then its notes are logged here).
    An output that is the results file or its errors file is refused (`OutputPathError`)."""
    records = source if isinstance(source, Records) else Records(source)
    if records.path is not None:
        refuse_overwrite([path], [records.path, errors_path(records.path)])
    return records, records is not source


def _said(records: Records, own: bool) -> None:
    for note in records.notes() if own else ():
        log.warning("%s", note)


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: a list joined with "; ", text that would start a formula quoted."""
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(map(str, value))
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return f"'{value}"
    return value


@contextlib.contextmanager
def _spooled(records: Records, path: str | Path) -> Iterator[tuple[list[str], Callable[[], Iterator[dict[str, Any]]]]]:
    """The item rows of `records`, flattened once into an unnamed temporary file beside `path`
    (owner-only, gone when closed): the columns (each as first seen), and a reader of the rows
    that can be called again. Reading and flattening are the cost of an export; this does them
    once, and memory holds one row at a time."""
    with tempfile.TemporaryFile(dir=Path(path).parent) as spool:
        columns: dict[str, None] = {}
        for row in iter_item_rows(records):
            columns.update(dict.fromkeys(row))
            spool.write(json.dumps(row).encode() + b"\n")

        def rows() -> Iterator[dict[str, Any]]:
            spool.seek(0)
            return (json.loads(line) for line in spool)

        yield list(columns), rows


def write_csv(source: str | Path | Iterable[Any] | Records, path: str | Path) -> int:
    """Item rows to CSV (lists joined with "; ", formulas neutralised); returns the number of rows."""
    records, own = _records(source, path)
    written = 0
    with _spooled(records, path) as (columns, rows), private_file(path) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows():
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
            written += 1
    _said(records, own)
    return written


def to_dataframe(results: str | Path | Iterable[Any]) -> pandas.DataFrame:
    """Item rows as a pandas DataFrame, from results, records, batch rows or a JSONL path."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_dataframe needs pandas: pip install 'imr-llm[export]'") from exc
    records = Records(results)
    frame = pandas.DataFrame(item_rows(records))
    _said(records, own=True)
    return frame


def write_parquet(source: str | Path | Iterable[Any] | Records, path: str | Path) -> int:
    """Item rows to Parquet (lists kept as lists); returns the number of rows. Rows are flattened
    once (`_spooled`), then read twice in batches of `BATCH`: the schema every batch fits (a
    column empty in one batch takes its type from the others), then the row groups."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ImportError("Parquet export needs pyarrow: pip install 'imr-llm[export]'") from exc
    records, own = _records(source, path)
    written = 0
    with _spooled(records, path) as (_, rows):
        schemas = [pyarrow.Table.from_pylist(batch).schema for batch in _batches(rows(), BATCH)]
        schema = pyarrow.unify_schemas(schemas, promote_options="permissive") if schemas else pyarrow.schema([])
        with private_file(path, "wb") as fh, pyarrow.parquet.ParquetWriter(fh, schema) as writer:
            for batch in _batches(rows(), BATCH):
                writer.write_table(pyarrow.Table.from_pylist(batch, schema=schema))
                written += len(batch)
    _said(records, own)
    return written
