"""`imr_llm.report(...)`: from extraction results to the answers people extract letters for.

Counts and overturn rates (with 95% Wilson intervals) by treatment category, drug class,
generic name, guideline document and topic, reviewer specialty and year, the most cited pages
per document, and what failed or needs review — as one self-contained HTML page and a CSV per
table. Reading streams (`source`: two passes, one offset per letter in memory), counting is
pure and bounded by the number of distinct values (`tally`), and writing is at the edge
(`page`, `csvs`), so a results file of millions of letters is reported on a laptop.

    report = imr_llm.report("results.jsonl", "report.html")   # also writes report.html's CSVs
    report.tables[2].rows                                      # by drug class, in a notebook
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from imr_llm.analysis import csvs, page, source
from imr_llm.analysis.tables import Quality, Row, Table, YearRow
from imr_llm.analysis.tally import Tally
from imr_llm.files import private_file, refuse_overwrite

__all__ = ["Report", "Row", "Table", "report"]


@dataclass(frozen=True)
class Report:
    """The tables of a report and what its input held; `write` puts them on disk."""

    tables: tuple[Table, ...]
    years: tuple[YearRow, ...]
    quality: Quality
    title: str = "IMR determinations: report"

    def table(self, name: str) -> Table:
        """A table by its name (its CSV file's stem): "by_drug_class", "top_pages" …"""
        return next(t for t in self.tables if t.name == name)

    def html(self) -> str:
        return page.render(self.tables, self.years, self.quality, self.title)

    def _repr_html_(self) -> str:
        return self.html()

    def write(self, out: str | Path, csv_dir: str | Path | None = None) -> list[Path]:
        """The page to `out` and every table to `csv_dir` (default: `<out stem>_csv/` beside it),
        each written whole or not at all (`files.private_file`). An output that is one of the
        report's input files is refused (`OutputPathError`) before anything is written."""
        out = Path(out)
        folder = _csv_folder(out, csv_dir)
        refuse_overwrite([out, *csvs.paths(folder, self.tables)], self.quality.files)
        out.parent.mkdir(parents=True, exist_ok=True)
        with private_file(out) as fh:
            fh.write(self.html())
        return [out, *csvs.write_all(folder, self.tables, self.years, self.quality)]


def _csv_folder(out: Path, csv_dir: str | Path | None) -> Path:
    return Path(csv_dir) if csv_dir is not None else out.with_name(f"{out.stem}_csv")


def report(
    results: str | Path | Iterable[str | Path],
    out: str | Path | None = None,
    *,
    csv_dir: str | Path | None = None,
    exclude_needs_review: bool = False,
    progress: bool = False,
) -> Report:
    """Report on `extract --out` JSONL file(s); with `out`, also write the page and the CSVs.

    Raises FileNotFoundError for a results file that does not exist and `OutputPathError` for an
    output that is one of the input files (nothing is written then)."""
    paths = [results] if isinstance(results, str | Path) else list(results)
    files = source.input_files(paths)
    size = sum(f.stat().st_size for f in files)
    with tqdm(total=size, unit="B", unit_scale=True, desc="scan", disable=not progress, dynamic_ncols=True) as bar:
        found = source.scan(files, bar.update)
    quality = Quality(files=[str(f) for f in files], rows_read=found.rows, rows_superseded=found.superseded,
                      unreadable_lines=found.unreadable, duplicates=found.duplicates)  # fmt: skip
    tally = Tally(exclude_needs_review=exclude_needs_review, quality=quality)
    with tqdm(total=len(found.where), unit="letter", desc="report", disable=not progress, dynamic_ncols=True) as bar:
        for row in source.latest_rows(files, found, bar.update):
            tally.add(source.letter(row))
    result = Report(tally.tables(), tally.year_rows(), tally.quality)
    if out is not None:
        result.write(out, csv_dir)
    return result
