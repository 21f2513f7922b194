"""The review page: self-contained HTML, checked as a page and in a real headless Chromium."""

import json
import os
import re
from pathlib import Path

from browser import open_page
from conftest import GOLD as GOLD_DIR
from conftest import SAMPLES as SAMPLES_DIR
from conftest import gold, sample
from imr_llm import Determination, extract_result
from imr_llm.review import render, write

NAME = "004_6c580757ad27c254"
OUTPUT = Path(os.environ.get("IMR_LLM_TEST_OUTPUT", Path(__file__).resolve().parents[1] / "test-output"))


def page_parts(text: str | None = None) -> tuple[str, Determination, Determination]:
    text = text or sample(NAME)
    record = extract_result(text, strategy="rules", cache=False).determination
    expected = gold(NAME)
    expected["items"][1]["treatment"]["quantity"] = 120  # a disagreement the page must show
    return text, record, Determination.model_validate(expected)


def test_page_is_self_contained_and_escapes_the_letter() -> None:
    hostile = sample(NAME).replace("CLINICAL CASE SUMMARY", "CLINICAL CASE SUMMARY <script>alert(1)</script>", 1)
    text, record, expected = page_parts(hostile)
    page = render(text, record, gold=expected, title="<b>004</b>")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;004&lt;/b&gt;" in page
    assert "default-src 'none'" in page  # the page may fetch nothing
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    page = render(*page_parts()[:2], gold=page_parts()[2])
    assert "gold: 120" in page and "1 disagreement(s) with gold" in page
    spans = json.loads(re.search(r'<script type="application/json" id="evidence">(.*?)</script>', page, re.S)[1])
    assert {s["path"] for s in spans} >= {f"items.{i}.rationale" for i in range(4)}


def test_review_page_in_headless_chromium(tmp_path: Path) -> None:
    text, record, expected = page_parts()
    page_file = write(tmp_path / "review.html", text, record, gold=expected, title=NAME)
    with open_page(page_file, 1400, 900) as (page, problems):
        marks = page.evaluate(
            """() => {
              const pre = document.getElementById('letter');
              const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
              const out = []; let offset = 0, node;
              while ((node = walker.nextNode())) {
                const mark = node.parentElement.closest('mark');
                if (mark) out.push({offset, text: node.data, start: +mark.dataset.start,
                                    end: +mark.dataset.end, path: mark.dataset.path, cls: mark.className});
                offset += node.data.length;
              }
              return {marks: out, total: offset};
            }"""
        )
        assert marks["total"] == len(text)  # the page shows the letter, every character
        covered = set()
        for m in marks["marks"]:  # each highlight sits where its span says
            assert m["start"] <= m["offset"] and m["offset"] + len(m["text"]) <= m["end"]
            assert text[m["offset"] : m["offset"] + len(m["text"])] == m["text"]
            covered.update(range(m["offset"], m["offset"] + len(m["text"])))
        for e in (e for e in record.evidence if e.start is not None):
            assert set(range(e.start, e.end)) <= covered, e.path  # and every span is highlighted
        decisions = {
            m["path"].split(".")[1]: m["cls"].split()[0] for m in marks["marks"] if m["path"].startswith("items.")
        }
        assert decisions == {str(i): item.decision.value for i, item in enumerate(record.items)}

        row = page.locator('tr[id="row-items.2.rationale"]')
        row.click()
        focused = page.locator("mark.focus")
        assert focused.count() == 1 and focused.get_attribute("data-path") == "items.2.rationale"
        assert focused.is_visible() and focused.bounding_box()["y"] < 900
        assert page.locator(".badge.mismatch").first.inner_text() == "gold: 120"
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=OUTPUT / "review.png")
    assert problems == []
    assert (OUTPUT / "review.png").stat().st_size > 10_000


def test_records_results_and_reports_render_as_tables_in_a_notebook() -> None:
    from imr_llm.evals.dataset import load
    from imr_llm.evals.run import evaluate

    result = extract_result(sample(NAME), strategy="rules", cache=False)
    html = result._repr_html_()
    assert "4 item(s) · rules" in html and 'id="row-items.3.request"' in html and "<mark" not in html
    report = evaluate(load(SAMPLES_DIR, GOLD_DIR)[:2], strategy="rules", cache=False)
    assert "field accuracy (micro) 1.000" in report._repr_html_() and "field accuracy" in repr(report)
    assert json.loads(report.to_json())["summary"]["headline"] == 1.0  # still plain JSON data
