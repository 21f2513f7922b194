"""Streaming aggregation: letters in, the report's tables out, in memory that grows with the
number of distinct values (drugs, topics, pages), never with the number of letters.

`Tally.add` takes one letter's outcome at a time; `Tally.tables` turns the counts into
`Table`s. Items are the unit counted (the state's reports count decisions on requested items,
not letters): an item is overturned or upheld. Grouping rules a reader must know:

- Treatment category and drug class: the record's; drug class and generic name only for
  medication items (a class the table does not know, or a missing generic, is its own row).
- Guideline document, topic and pages: the reviewer's citation ("MAXIMUS guideline"), the one
  behind the decision — not the claims administrator's. Documents are the canonical
  `Guideline` (chapter included); topics are grouped case- and space-insensitively and shown
  as first written. Pages count the items whose citation names that page.
- Reviewer specialty: an item counts once under each board specialty its reviewer holds, so
  that table's items add up to more than the total when reviewers hold two.
- Year: the year of the letter's decision date (`decision_date`, when the determination was
  issued), else of its UR decision date (a few weeks earlier, the same year but for letters
  issued in January); letters that state neither are counted as "not stated".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field

from imr_llm.analysis.source import Letter
from imr_llm.analysis.tables import Quality, Row, Table, YearRow
from imr_llm.schema import Category, Decision, Determination, GuidelineCitation, Item

NONE = "(none)"
TOP_PAGES = 10
"""Most cited pages kept per document in the pages table."""


@dataclass
class Counts:
    """Items and overturned items in one group."""

    items: int = 0
    overturned: int = 0

    def add(self, overturned: bool) -> None:
        self.items += 1
        self.overturned += overturned


@dataclass
class Grouping:
    """Counts per key, with the first spelling seen of each key for display."""

    counts: dict[Hashable, Counts] = field(default_factory=dict)
    labels: dict[Hashable, tuple[str, ...]] = field(default_factory=dict)

    def add(self, key: Hashable, label: tuple[str, ...], overturned: bool) -> None:
        if key not in self.counts:
            self.counts[key], self.labels[key] = Counts(), label
        self.counts[key].add(overturned)

    def rows(self) -> tuple[Row, ...]:
        """Largest groups first, then by label, so a table reads from the most common down."""
        rows = (Row(self.labels[k], c.items, c.overturned) for k, c in self.counts.items())
        return tuple(sorted(rows, key=lambda r: (-r.items, r.key)))


def _fold(text: str | None) -> str:
    return " ".join(text.split()).casefold() if text else ""


def _document(citation: GuidelineCitation) -> str:
    return citation.guideline.value if citation.guideline is not None else NONE


def letter_year(record: Determination) -> str:
    """The year the letter dates itself in, as text; "not stated" when it does not."""
    dated = record.decision_date or record.ur_decision_date
    return str(dated.year) if dated else "not stated"


@dataclass
class Tally:
    """Counts of items by every grouping the report shows, added one letter at a time."""

    exclude_needs_review: bool = False
    quality: Quality = field(default_factory=Quality)
    total: Counts = field(default_factory=Counts)
    groups: dict[str, Grouping] = field(default_factory=dict)
    pages: dict[str, Counter[int]] = field(default_factory=dict)
    page_overturned: dict[str, Counter[int]] = field(default_factory=dict)
    years: dict[str, Counts] = field(default_factory=dict)
    year_letters: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.quality.needs_review_excluded = self.exclude_needs_review

    def _group(self, name: str, key: Hashable, label: tuple[str, ...], overturned: bool) -> None:
        self.groups.setdefault(name, Grouping()).add(key, label, overturned)

    def add(self, letter: Letter) -> None:
        """Count one letter's outcome: its items if it has a record, else why it has none."""
        q = self.quality
        if letter.record is None:
            if letter.failure is not None:
                q.failed[letter.failure] = q.failed.get(letter.failure, 0) + 1
            else:
                q.invalid[str(letter.invalid)] = q.invalid.get(str(letter.invalid), 0) + 1
            return
        record = letter.record
        if record.needs_review:
            q.needs_review_letters += 1
            q.needs_review_items += len(record.items)
            if self.exclude_needs_review:
                return
        q.letters_counted += 1
        q.items_counted += len(record.items)
        year = letter_year(record)
        self.year_letters[year] += 1
        for item in record.items:
            self._item(record, item, year)

    def _item(self, record: Determination, item: Item, year: str) -> None:
        overturned = item.decision is Decision.OVERTURNED
        self.total.add(overturned)
        self.years.setdefault(year, Counts()).add(overturned)
        treatment = item.treatment
        self._group("category", treatment.category.value, (treatment.category.value,), overturned)
        if treatment.category is Category.MEDICATION:
            drug_class = treatment.drug_class.value if treatment.drug_class else "(class not known)"
            self._group("drug_class", drug_class, (drug_class,), overturned)
            generic = treatment.generic_name or "(no generic name)"
            self._group("generic_name", generic, (generic, drug_class), overturned)
        citation = item.reviewer_guideline
        document = _document(citation)
        self._group("guideline", document, (document,), overturned)
        topic = citation.topic or NONE
        self._group("topic", (document, _fold(topic)), (document, topic), overturned)
        for page in citation.pages:
            self.pages.setdefault(document, Counter())[page] += 1
            self.page_overturned.setdefault(document, Counter())[page] += overturned
        for specialty in record.reviewer.specialties or ["(not stated)"]:
            self._group("specialty", _fold(specialty), (specialty,), overturned)

    def _page_rows(self) -> tuple[Row, ...]:
        rows = []
        for document, counts in self.pages.items():
            top = sorted(counts.items(), key=lambda pc: (-pc[1], pc[0]))[:TOP_PAGES]
            rows += [Row((document, str(page)), n, self.page_overturned[document][page]) for page, n in top]
        return tuple(sorted(rows, key=lambda r: (-r.items, r.key[0], int(r.key[1]))))

    def year_rows(self) -> tuple[YearRow, ...]:
        return tuple(
            YearRow(year, self.year_letters[year], c.items, c.overturned) for year, c in sorted(self.years.items())
        )

    def tables(self) -> tuple[Table, ...]:
        """Every grouped table, in the order the page shows them."""

        def grouped(name: str) -> tuple[Row, ...]:
            return self.groups[name].rows() if name in self.groups else ()

        return (
            Table("overall", "All items", ("scope",), (Row(("all items",), self.total.items, self.total.overturned),)),
            Table("by_category", "By treatment category", ("category",), grouped("category")),
            Table("by_drug_class", "Medications by drug class", ("drug_class",), grouped("drug_class")),
            Table(
                "by_generic_name",
                "Medications by generic name",
                ("generic_name", "drug_class"),
                grouped("generic_name"),
            ),
            Table("by_guideline", "By guideline document (reviewer's citation)", ("guideline",), grouped("guideline")),
            Table(
                "by_guideline_topic",
                "By guideline document and topic (reviewer's citation)",
                ("guideline", "topic"),
                grouped("topic"),
            ),
            Table(
                "top_pages",
                f"Most cited pages per document (top {TOP_PAGES} each)",
                ("guideline", "page"),
                self._page_rows(),
                chart="items",
            ),
            Table(
                "by_specialty",
                "By reviewer specialty (an item counts under each of its reviewer's)",
                ("specialty",),
                grouped("specialty"),
            ),
        )
