"""A layout that does not add up is never returned as a plain success: each inconsistency has
its reason, `rules` and `whole` records carry it in needs_review, `per_item` hands the letter to
the model, and the review page opens with it."""

import json

import pytest

from conftest import pointed, sample
from fake_server import completion
from imr_llm import Options, RetryPolicy, consistency, extract_result, layout, review
from letters_2013 import LETTER
from spacing import wrapped
from variants import VARIANTS, variant

FAST = Options(retry=RetryPolicy(max_attempts=2, max_seconds=10, initial_wait=0.01, max_wait=0.02), timeout=5)
A = "000_c5f77487a4b823e6"
TWO = sample(A)


def reasons(text: str) -> list[str]:
    return consistency.reasons(layout.parse(text))


def one(found: list[str], *words: str) -> str:
    """The one reason that holds all `words`."""
    hits = [r for r in found if all(w in r for w in words)]
    assert len(hits) == 1, found
    return hits[0]


def long_request() -> str:
    return sample("002_53cd04ea59152e39").replace(
        "Refill Norco:  Upheld", "Refill Norco" + " tablets" * 35 + ":  Upheld"
    )


def footer_in_rationale() -> str:
    """A page counter inside a rationale (this excerpt's last page: a letter cut short says so instead)."""
    return TWO.replace("Furthermore, it states \n\n", "Furthermore, it states \n\nPage 2 of 2 \n\n", 1)


def no_reviewer_guideline() -> str:
    return TWO.replace("MAXIMUS guideline: Decision based on MTUS Chronic Pain Treatment Guidelines Opioids", "Opioids")


def no_rationale() -> str:
    return TWO.replace("Decision rationale: Under California MTUS Guidelines", "Under California MTUS Guidelines")


def heading_run_into_next_line() -> str:
    return wrapped(TWO).replace("#360: Upheld\nClaims", "#360: Upheld Claims")


def paragraph_between_heading_and_labels() -> str:
    return TWO.replace(
        "Flexeril 5mg #60:  Upheld \n\n", "Flexeril 5mg #60:  Upheld \n\nThe patient also asked for a new brace. \n\n"
    )


CASES = {
    "long_request": (long_request, ["items.1.request is", "longer than an item heading"]),
    "footer": (footer_in_rationale, ["items.0.rationale holds page header or footer text"]),
    "no_reviewer_guideline": (no_reviewer_guideline, ["1 of 2 item(s) have no reviewer guideline"]),
    "no_rationale": (no_rationale, ["1 of 2 item(s) have no decision rationale"]),
    "decision_count": (heading_run_into_next_line, ["states 2 decision(s) but 1 item(s)"]),
    "unplaced": (paragraph_between_heading_and_labels, ["1 passage(s) in the items section belong to no item"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_inconsistency_has_its_reason(name):
    build, words = CASES[name]
    assert reasons(TWO) == []
    found = reasons(build())
    reason = one(found, *words)
    assert reason.startswith("layout: ")


def test_reasons_never_quote_the_letter():
    for build, _ in CASES.values():
        for reason in reasons(build()):
            assert "Norco" not in reason and "Flexeril" not in reason and "brace" not in reason


def test_text_before_the_first_heading_beyond_the_intro_is_unplaced():
    text = TWO.replace("set forth below: \n\n", "set forth below: \n\nThe patient is also a smoker. \n\n")
    found = layout.parse(text)
    assert [s.value for s in found.unplaced] == [
        "The Final Determination was based on decisions for the disputed items/services set forth below: "
        "The patient is also a smoker."
    ]
    one(consistency.reasons(found), "belong to no item part")


def test_a_second_label_of_the_same_kind_is_unplaced_not_dropped():
    text = TWO.replace("Decision rationale: Under California MTUS Guidelines", "Decision rationale: See below. \n\n"
                       "Decision rationale: Under California MTUS Guidelines")  # fmt: skip
    found = layout.parse(text)
    assert found.items[1].rationale.value == "See below."
    assert found.unplaced[0].value.startswith("Decision rationale: Under California MTUS Guidelines")


def test_2013_final_determination_must_match_the_items():
    assert reasons(LETTER) == []
    one(reasons(LETTER.replace("OVERTURN IN PART", "UPHOLD")), "final determination does not match")
    one(reasons(LETTER.replace("OVERTURN IN PART", "UPHOLD. This means we decided")), "final determination")
    assert reasons(LETTER.replace("OVERTURN IN PART", "Overturn in part. This means we decided that some")) == []


def test_2013_item_with_no_decision_in_the_list_is_flagged():
    entry = LETTER.index("2) MAXIMUS")
    text = LETTER[:entry] + LETTER[LETTER.index("3) MAXIMUS") :]
    found = layout.parse(text)
    assert [i.request.value for i in found.items] == [
        "Retrospective request for Lidoderm 5% patches #30 (DOS 5/14/14)",
        "physical therapy 2 times a week for 6 weeks for the lumbar spine",
    ]
    one(consistency.reasons(found), "belong to no item part")


def run(fake, text, strategy):
    return extract_result(text, model="m", base_url=fake.base_url, strategy=strategy, cache=False, options=FAST)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"footer"}))
def test_rules_record_from_an_inconsistent_layout_needs_review(fake, name):
    build, words = CASES[name]
    record = run(fake, build(), "rules").determination
    assert record.needs_review == reasons(build())
    one(record.needs_review, *words)


def test_a_footer_the_reader_removes_leaves_nothing_to_review(fake):
    """Extraction reads the letter first (`imr_llm.reading`), which removes page furniture: the
    layout check above is the net for furniture the reader does not know."""
    record = run(fake, footer_in_rationale(), "rules").determination
    assert record.needs_review == []
    assert "Page 2 of 2" not in record.items[0].rationale


def test_per_item_hands_an_inconsistent_letter_to_the_model_with_the_reason(fake):
    text = heading_run_into_next_line()
    fake.queue(completion(json.dumps(pointed(A))))
    record = run(fake, text, "per_item").determination
    assert len(fake.requests) == 1, "one whole-letter question, no re-ask against a layout that does not add up"
    asked = fake.requests[0]["messages"][1]["content"]
    assert "Decision rationale" in asked and "CLINICAL CASE SUMMARY" in asked, "the whole letter"
    assert [i.request for i in record.items] == ["Flexeril 5mg #60", "Norco 10/325mg #360"]
    one(record.needs_review, "states 2 decision(s) but 1 item(s)")


def test_whole_answer_on_a_consistent_layout_needs_no_review(fake):
    fake.queue(completion(json.dumps(pointed(A))))
    assert run(fake, TWO, "whole").determination.needs_review == []


def test_review_page_shows_the_reasons_in_a_banner(fake):
    text = paragraph_between_heading_and_labels()
    record = run(fake, text, "rules").determination
    page = review.render(text, record)
    assert '<div class="needs-review" role="alert">' in page
    assert all(f"<li>{reason}</li>" in page for reason in record.needs_review)
    clean = run(fake, TWO, "rules").determination
    assert 'class="needs-review"' not in review.render(TWO, clean)
    flagged = record.model_copy(update={"needs_review": ["layout: <script>x</script>"]})
    assert "<li>layout: &lt;script&gt;x&lt;/script&gt;</li>" in review.render(text, flagged)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_variant_layouts_add_up(name):
    assert reasons(variant(name)[1]) == []
