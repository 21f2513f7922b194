"""The layout parser on the samples, on variant layouts, and on arbitrary text."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLES, gold, sample
from imr_llm import layout, rules
from imr_llm.layout import Layout
from variants import VARIANTS, single_spaced, variant


def assert_spans_slice_back(found: Layout) -> None:
    spans = [*found.sections.values(), *found.header.values()]
    for item in found.items:
        spans += [s for s in (item.heading, item.request, item.decision, item.claims_administrator_guideline,
                              item.reviewer_guideline, item.rationale) if s is not None]  # fmt: skip
    for s in spans:
        assert 0 <= s.start <= s.end <= len(found.text)
        assert " ".join(found.text[s.start : s.end].split()) == s.value


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.stem)
def test_samples_items_match_gold(path):
    found = layout.parse(path.read_text())
    expected = gold(path.stem)["items"]
    assert found.missing == []
    assert [i.request.value for i in found.items] == [i["request"] for i in expected]
    assert [i.decision.value.lower() for i in found.items] == [i["decision"] for i in expected]
    assert [i.rationale.value for i in found.items] == [i["rationale"] for i in expected]
    assert_spans_slice_back(found)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_keep_items_decisions_and_rationales(name):
    base, text = variant(name)
    found = layout.parse(text)
    expected = gold(base)["items"]
    assert [i.decision.value.lower() for i in found.items] == [i["decision"] for i in expected]
    assert [i.request.value for i in found.items] == [i["request"] for i in expected]
    assert [i.rationale.value for i in found.items] == [i["rationale"] for i in expected]
    assert [rules.citation(i.reviewer_guideline).pages for i in found.items] == [
        i["reviewer_guideline"]["pages"] for i in expected
    ]
    assert_spans_slice_back(found)


def test_header_block_fields_are_captured_and_used():
    _, text = variant("header_block")
    found = layout.parse(text)
    assert {k: v.value for k, v in found.header.items()} == {
        "Case Number": "CM15-0042424",
        "Date Assigned": "03/02/2015",
        "UR Denial Date": "02/11/2015",
        "Date of Injury": "08/04/2011",
        "Claim Number": "0055512345",
    }
    assert rules.ur_decision_date("", found.header) == "02/11/2015"


def test_renamed_sections_are_found():
    _, text = variant("renamed_sections")
    assert set(layout.parse(text).sections) == {"credentials", "documents", "summary", "items"}


def test_single_spaced_text_really_is_single_spaced():
    text = single_spaced(sample("003_a7bb91b34d925d5b"))
    assert "\n\n\n" not in text and text.count("\n\n") < 40


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Dear sir, thank you for your letter.",
        "IMR ISSUES, DECISIONS AND RATIONALES\n\nnothing here",
        "Upheld: Overturned:\n: Upheld\nDecision rationale: x",
    ],
)
def test_odd_text_degrades_gracefully(text):
    found = layout.parse(text)
    assert found.items == [] or all(i.decision.value.lower() in {"upheld", "overturned"} for i in found.items)
    assert found.missing
    assert_spans_slice_back(found)


TOKENS = [
    *"ab :()#\n\t.1", "Upheld", "Overturned", "(1) ", "Decision rationale:", "MAXIMUS guideline:",
    "Claims Administrator guideline:", "Page(s): 41-42", "CLINICAL CASE SUMMARY", "\n\n \n\n",
    "IMR ISSUES, DECISIONS AND RATIONALES", "HOW THE IMR FINAL DETERMINATION WAS MADE", "Case Number: ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=80).map("".join))
def test_parse_never_raises_and_spans_slice_back(text):
    assert_spans_slice_back(layout.parse(text))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_survives_any_unicode(text):
    assert_spans_slice_back(layout.parse(text))
