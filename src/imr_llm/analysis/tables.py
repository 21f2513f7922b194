"""What a report holds: tables of counts and overturn rates, and the quality of the input.

Typed values the aggregation produces and both writers (the HTML page and the CSV files)
read. Every number a person sees goes through `Row.cells`, one formatting for the page and the
files, so the page's numbers are the CSV's numbers character for character (the browser test
checks exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imr_llm.analysis.stats import wilson

COUNT_COLUMNS = ("items", "upheld", "overturned", "overturn_rate_pct", "ci95_low_pct", "ci95_high_pct")
"""The columns after a table's key columns: counts, then the rate and its 95% Wilson interval, in percent."""


def percent(value: float) -> str:
    """0.0952 -> "9.5": one decimal, the precision the state's reports print."""
    return f"{100 * value:.1f}"


@dataclass(frozen=True)
class Row:
    """One group: its key values, how many items it holds and how many of them were overturned."""

    key: tuple[str, ...]
    items: int
    overturned: int

    @property
    def rate(self) -> float:
        return self.overturned / self.items if self.items else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.overturned, self.items)

    def cells(self) -> tuple[str, ...]:
        """The row as text, key first, in `COUNT_COLUMNS` order after it."""
        low, high = self.interval
        counts = (self.items, self.items - self.overturned, self.overturned)
        return (*self.key, *map(str, counts), percent(self.rate), percent(low), percent(high))


@dataclass(frozen=True)
class Table:
    """A grouped count: `name` is its CSV file's stem and its element id in the page."""

    name: str
    title: str
    key_columns: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""
    chart: str = "rate"
    """"rate": bars of overturn rate with interval whiskers; "items": bars of item counts."""

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key_columns, *COUNT_COLUMNS)


@dataclass(frozen=True)
class YearRow:
    """Letters and items in one year, where the letter dates itself ("not stated" where it does not)."""

    year: str
    letters: int
    items: int
    overturned: int

    def cells(self) -> tuple[str, ...]:
        return (self.year, str(self.letters), *Row((), self.items, self.overturned).cells())


YEAR_COLUMNS = ("year", "letters", *COUNT_COLUMNS)
NAMED = 50
"""Duplicate letters named in the quality table; the rest are counted."""


@dataclass
class Quality:
    """What the input held besides countable records, so no bad record is counted silently."""

    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_superseded: int = 0
    """Earlier rows of a letter that a later row replaced (a rerun): not counted."""
    unreadable_lines: int = 0
    """Lines that are not a JSON object with an id (a torn write, a garbled line)."""
    letters_counted: int = 0
    items_counted: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    """Letters with no record, by error type (and kind)."""
    invalid: dict[str, int] = field(default_factory=dict)
    """Rows marked ok whose record does not validate against the schema, by the first failing field."""
    needs_review_letters: int = 0
    needs_review_items: int = 0
    needs_review_excluded: bool = False
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(id not counted, id counted): one letter's content under a second id (a copy, or a folder
    run and then a run on its subfolder), counted once."""

    def rows(self) -> list[tuple[str, str]]:
        """(measure, value) lines for the page and quality.csv."""
        review = "excluded from" if self.needs_review_excluded else "included in"
        out = [
            ("rows read", str(self.rows_read)),
            ("rows superseded by a later row of the same letter", str(self.rows_superseded)),
            ("unreadable lines", str(self.unreadable_lines)),
            ("letters counted", str(self.letters_counted)),
            ("items counted", str(self.items_counted)),
            ("letters failed (no record)", str(sum(self.failed.values()))),
            *((f"failed: {kind}", str(n)) for kind, n in sorted(self.failed.items())),
            ("records invalid against the schema", str(sum(self.invalid.values()))),
            *((f"invalid: {where}", str(n)) for where, n in sorted(self.invalid.items())),
            (f"letters needing review ({review} the counts)", str(self.needs_review_letters)),
            (f"items in letters needing review ({review} the counts)", str(self.needs_review_items)),
            ("letters with the same content as another letter (counted once)", str(len(self.duplicates))),
            *((f"same content: {dup}", f"counted as {kept}") for dup, kept in self.duplicates[:NAMED]),
            *(
                [("same content: more not named", str(len(self.duplicates) - NAMED))]
                if len(self.duplicates) > NAMED
                else []
            ),
        ]
        return out
