"""Each report table as a CSV file, with exactly the text the page shows.

Cells go through `export._csv_cell`, the project's one guard against spreadsheet formula
injection (a topic or generic name is letter text). Files are created owner-readable only
(`files.private_file`): counts by drug and reviewer are not letters, but the generic-name and
topic columns are copied from letters.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from imr_llm.analysis.tables import YEAR_COLUMNS, Quality, Table, YearRow
from imr_llm.export import _csv_cell
from imr_llm.files import private_file


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    """One table to `path`: a header line, then one line per row."""
    with private_file(path) as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([_csv_cell(cell) for cell in row] for row in rows)
    return path


def paths(directory: Path, tables: Iterable[Table]) -> list[Path]:
    """The files `write_all` writes: `<name>.csv` per table, then `by_year.csv` and `quality.csv`."""
    return [directory / f"{name}.csv" for name in (*(t.name for t in tables), "by_year", "quality")]


def write_all(directory: Path, tables: Sequence[Table], years: Sequence[YearRow], quality: Quality) -> list[Path]:
    """Every table as `<name>.csv`, plus `by_year.csv` and `quality.csv`, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    *table_paths, by_year, by_quality = paths(directory, tables)
    written = [
        write_csv(path, t.columns, (r.cells() for r in t.rows)) for path, t in zip(table_paths, tables, strict=True)
    ]
    written.append(write_csv(by_year, YEAR_COLUMNS, (y.cells() for y in years)))
    written.append(write_csv(by_quality, ("measure", "value"), quality.rows()))
    return written
