"""`imr-llm report`: counts and overturn rates from results files, as a page and CSVs."""

import csv
import hashlib
import json
import os
import stat
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import binomtest

from browser import open_page
from conftest import ROOT, SAMPLES
from imr_llm import Determination, extract_many, report
from imr_llm.analysis.stats import wilson
from imr_llm.analysis.tables import percent
from imr_llm.cli import main

CORPUS_TEXT = ROOT / "evals" / "corpus" / "text"
GOLD_FILES = sorted((ROOT / "evals" / "gold").glob("*.json")) + sorted(
    (ROOT / "evals" / "corpus" / "gold").glob("*.json")
)


def gold_records() -> list[Determination]:
    return [Determination.model_validate_json(p.read_text(encoding="utf-8")) for p in GOLD_FILES]


def row(letter_id: str, record: Determination) -> str:
    """A results row of letter `letter_id` (its content hash stands for a file of its own)."""
    sha = hashlib.sha256(letter_id.encode()).hexdigest()
    return json.dumps({"id": letter_id, "sha256": sha, "ok": True, "determination": record.model_dump(mode="json")})


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 4), (3, 4), (4, 4), (7, 52), (950, 10_000)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_counts_equal_a_direct_count_of_the_gold_records(tmp_path: Path) -> None:
    records = gold_records()
    results = tmp_path / "results.jsonl"
    results.write_text("".join(row(p.stem, r) + "\n" for p, r in zip(GOLD_FILES, records, strict=True)))
    done = report(results)
    items = [(record, item) for record in records for item in record.items]
    overturned = sum(item.decision.value == "overturned" for _, item in items)
    assert done.table("overall").rows[0].cells()[:4] == ("all items", str(len(items)), str(len(items) - overturned),
                                                          str(overturned))  # fmt: skip
    by_category = Counter(item.treatment.category.value for _, item in items)
    assert {r.key[0]: r.items for r in done.table("by_category").rows} == dict(by_category)
    opioids = [i for _, i in items if i.treatment.drug_class is not None and i.treatment.drug_class.value == "opioid"]
    [opioid_row] = [r for r in done.table("by_drug_class").rows if r.key == ("opioid",)]
    assert (opioid_row.items, opioid_row.overturned) == (
        len(opioids),
        sum(i.decision.value == "overturned" for i in opioids),
    )
    pages = Counter(
        (i.reviewer_guideline.guideline.value, p) for _, i in items if i.reviewer_guideline.guideline
        for p in i.reviewer_guideline.pages
    )  # fmt: skip
    top = done.table("top_pages").rows[0]
    assert top.items == max(pages.values()) and pages[top.key[0], int(top.key[1])] == top.items
    specialties = Counter(s.casefold() for record in records for s in record.reviewer.specialties
                          for _ in record.items)  # fmt: skip
    assert sorted(r.items for r in done.table("by_specialty").rows) == sorted(specialties.values())
    assert done.quality.letters_counted == len(records) and done.quality.failed == {}


def test_last_row_per_letter_counts_and_failures_are_reported(tmp_path: Path) -> None:
    first, second = gold_records()[:2]
    results = tmp_path / "results.jsonl"
    lines = [
        row("a", second),  # superseded by the row below: a rerun after the letter changed
        row("a", first),
        '{"id": "torn',
        json.dumps({"id": "b", "ok": True, "determination": first.model_dump(mode="json") | {"items": "not a list"}}),
        row("c", second),
    ]
    results.write_text("\n".join(lines) + "\n")
    errors = tmp_path / "results.errors.jsonl"  # read beside results.jsonl without being named
    errors.write_text(
        json.dumps({"id": "c", "ok": False, "error": {"type": "ExtractionError", "kind": "validation"}}) + "\n"
        + json.dumps({"id": "d", "ok": False, "error": {"type": "ExtractionError", "kind": "transient"}}) + "\n"
    )  # fmt: skip
    done = report(results)
    q = done.quality
    assert q.files == [str(results), str(errors)]
    assert (q.rows_read, q.rows_superseded, q.unreadable_lines) == (6, 2, 1)  # c's failure gave way to its record
    assert q.letters_counted == 2 and q.items_counted == len(first.items) + len(second.items)
    assert q.failed == {"ExtractionError (transient)": 1}
    assert list(q.invalid) == ["items: list_type"]  # where, never the value
    assert done.table("overall").rows[0].items == q.items_counted


def test_needs_review_records_are_counted_visibly_or_left_out(tmp_path: Path) -> None:
    flagged = gold_records()[0].model_copy(update={"needs_review": ["layout was inconsistent"]})
    results = tmp_path / "results.jsonl"
    results.write_text(row("a", flagged) + "\n" + row("b", gold_records()[1]) + "\n")
    kept, left = report(results), report(results, exclude_needs_review=True)
    assert kept.quality.needs_review_letters == left.quality.needs_review_letters == 1
    assert kept.quality.items_counted - left.quality.items_counted == len(flagged.items)
    assert ("letters needing review (excluded from the counts)", "1") in left.quality.rows()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every project letter extracted by the rules strategy (no model), as `extract --out` writes them."""
    out = tmp_path_factory.mktemp("report") / "results.jsonl"
    outcomes = list(extract_many([SAMPLES, CORPUS_TEXT], out=out, strategy="rules", cache=False, concurrency=2))
    assert len(outcomes) == 18 and all(o.ok for o in outcomes)
    return out


def test_cli_writes_the_page_and_one_csv_per_table_owner_only(results: Path, tmp_path: Path, capsys) -> None:
    page = tmp_path / "out" / "report.html"
    assert main(["report", str(results), "--out", str(page), "-q"]) == 0
    assert "18 letter(s)" in capsys.readouterr().out
    folder = tmp_path / "out" / "report_csv"
    names = {p.stem for p in folder.glob("*.csv")}
    assert names >= {"overall", "by_category", "by_drug_class", "by_generic_name", "by_guideline",
                     "by_guideline_topic", "top_pages", "by_specialty", "by_year", "quality"}  # fmt: skip
    for path in [page, *folder.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = page.read_text(encoding="utf-8")
    assert "default-src 'none'" in text and "<script" not in text and "http" not in text.replace("http-equiv", "")
    assert main(["report", str(tmp_path / "missing.jsonl"), "--out", str(page)]) == 2


def test_letter_text_is_escaped_in_the_page_and_neutralised_in_csv(tmp_path: Path) -> None:
    record = gold_records()[0]
    item = record.items[0]
    hostile = item.model_copy(update={
        "treatment": item.treatment.model_copy(update={"name": "=HYPERLINK(1)", "generic_name": "=HYPERLINK(1)"}),
        "reviewer_guideline": item.reviewer_guideline.model_copy(update={"topic": "<script>alert(1)</script>"}),
    })  # fmt: skip
    results = tmp_path / "results.jsonl"
    results.write_text(row("a", record.model_copy(update={"items": [hostile]})) + "\n")
    done = report(results, tmp_path / "r.html", csv_dir=tmp_path / "csv")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert read_csv(tmp_path / "csv" / "by_generic_name.csv")[1][0] == "'=hyperlink(1)"
    assert done.table("by_generic_name").rows[0].key[0] == "=hyperlink(1)"


OUTPUT = Path(os.environ.get("IMR_LLM_TEST_OUTPUT", ROOT / "test-output"))


def test_report_page_in_headless_chromium(results: Path, tmp_path: Path) -> None:
    done = report(results, tmp_path / "report.html")
    folder = tmp_path / "report_csv"
    charted = [t.name for t in done.tables if t.rows] + ["by_year"]
    with open_page(tmp_path / "report.html", 1200, 1000) as (page, problems):
        for name in charted:  # every chart is there and drawn
            svg = page.locator(f'svg.chart[data-table="{name}"]')
            assert svg.count() == 1 and svg.locator("rect.bar").count() > 0, name
            assert svg.bounding_box()["height"] > 20, name
        tables = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('table[data-table]')].map(t => [t.dataset.table,
                 [...t.querySelectorAll('tr')].map(tr => [...tr.children].map(c => c.textContent))]))"""
        )
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=OUTPUT / "report.png", full_page=False)
    assert problems == []
    assert set(tables) == {p.stem for p in folder.glob("*.csv")}
    for name, shown in tables.items():  # the page's numbers are the CSV's, row for row (the page may show fewer)
        in_csv = read_csv(folder / f"{name}.csv")
        assert shown[0] == in_csv[0], name
        assert shown[1:] == in_csv[1 : len(shown)], name
    overall = tables["overall"][1]
    items, overturned = int(overall[1]), int(overall[3])
    assert overall[4] == percent(overturned / items)
    assert (OUTPUT / "report.png").stat().st_size > 10_000
