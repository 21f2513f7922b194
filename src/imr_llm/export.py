"""Flatten records into tables: one row per disputed item, the letter's fields repeated.

That is the shape analysts count with (overturn rate by treatment, pages cited per
guideline). Where the text came from is in `text_source` (`text`, `pdf` or `ocr`), with
`ocr_pages` and `ocr_confidence` (0-1) for a scan, so what OCR read can be set apart.
Nested fields become dotted columns (`treatment.generic_name`,
`reviewer_guideline.pages`); lists stay lists in a DataFrame and Parquet, and are joined
with "; " in CSV, where a cell holds text only. A JSONL file gives the last row of each letter
(`imr_llm.rows.read_rows`), so a letter redone after it changed is counted once, as it is now.

Files are created readable by their owner only (they hold ages, diagnoses, rationales). In
CSV alone, a text cell a spreadsheet would run as a formula (starting = + - @ tab or CR, e.g.
a treatment named `=HYPERLINK(…)` in a letter) gets a leading single quote, OWASP's rule
against CSV injection; Parquet and DataFrames keep every value as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from imr_llm.fields import ITEMS
from imr_llm.files import private_file
from imr_llm.paths import leaves
from imr_llm.result import ExtractionResult, Provenance
from imr_llm.rows import Outcome, Row, read_rows
from imr_llm.schema import Determination

if TYPE_CHECKING:
    import pandas

LIST_SEPARATOR = "; "
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP, CSV injection)."""
SKIPPED = frozenset({"evidence", "items"})
"""Span-level provenance is for the review page, not for a table of counts; items get rows of their own."""


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


def item_rows(results: Iterable[Any]) -> list[dict[str, Any]]:
    """One flat row per item of every successful record (failed letters have no items)."""
    rows = []
    for n, result in enumerate(results):
        row, record = _as_row(result)
        if not row.ok or record is None:
            continue
        letter = {"letter": row.id or str(n), "sha256": row.sha256, "model": row.model, "strategy": row.strategy}
        letter |= _provenance(row.provenance)
        letter |= _flat(record, skip=SKIPPED)
        for i, item in enumerate(ITEMS.get(record), start=1):
            rows.append(letter | {"item": i} | _flat(item))
    return rows


def _load(source: str | Path | Iterable[Any]) -> Iterable[Any]:
    return read_rows(source) if isinstance(source, str | Path) else source


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: a list joined with "; ", text that would start a formula quoted."""
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(map(str, value))
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return f"'{value}"
    return value


def write_csv(source: str | Path | Iterable[Any], path: str | Path) -> int:
    """Item rows to CSV (lists joined with "; ", formulas neutralised); returns the number of rows."""
    rows = item_rows(_load(source))
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with private_file(path) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return len(rows)


def to_dataframe(results: str | Path | Iterable[Any]) -> pandas.DataFrame:
    """Item rows as a pandas DataFrame, from results, records, batch rows or a JSONL path."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_dataframe needs pandas: pip install 'imr-llm[export]'") from exc
    return pandas.DataFrame(item_rows(_load(results)))


def write_parquet(source: str | Path | Iterable[Any], path: str | Path) -> int:
    """Item rows to Parquet (lists kept as lists); returns the number of rows."""
    frame = to_dataframe(source)
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ImportError("Parquet export needs pyarrow: pip install 'imr-llm[export]'") from exc
    with private_file(path, "wb") as fh:
        frame.to_parquet(fh, index=False)
    return len(frame)
