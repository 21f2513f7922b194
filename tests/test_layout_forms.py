"""The same letter in every spacing text extraction gives, and the 2013 layout, read by rule."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLES, fields, gold, sample
from imr_llm import Options, consistency, extract_result, layout, rules
from imr_llm import client as clients
from imr_llm.asking import EndpointAsker
from imr_llm.job import Job
from imr_llm.layout import Layout, Span
from imr_llm.prompts import as_prompt
from imr_llm.strategies import STRATEGIES
from letters_2013 import EXPECTED, LETTER
from spacing import FORMS
from test_layout import assert_spans_slice_back

LETTER_FORMS = {
    "as_written": lambda text: text,
    "double": lambda text: "\n\n".join(text.splitlines()),
    "no_blank_lines": lambda text: "\n".join(line for line in text.splitlines() if line.strip()),
    "fields_sharing_lines": lambda text: (
        text.replace(
            "CM13-0012345\nDate of UR Decision: 7/18/2013\n", "CM13-0012345   Date of UR Decision: 7/18/2013   "
        )
        .replace("OVERTURN IN PART\n\nThis means", "OVERTURN IN PART. This means")
        .replace("\n1) MAXIMUS", "\n1. MAXIMUS")
        .replace("\n2) Regarding", "\n2. Regarding")
    ),
}


def rules_record(fake, text):
    return extract_result(text, model="m", base_url=fake.base_url, strategy="rules", cache=False).determination


def job(fake, text: str) -> Job:
    """A real job on `text` as given: these tests hold the layout and strategies to it directly
    (reading, which lets 2013 letters in through `layout.states_decision`, is tested on its own)."""
    endpoint = clients.resolve("m", fake.base_url)
    return Job(text=text, prompt=as_prompt(None), options=Options(), asker=EndpointAsker(endpoint))


def assert_all_spans_slice_back(found: Layout) -> None:
    assert_spans_slice_back(found)
    for s in [*found.decisions, *found.unplaced]:
        assert " ".join(found.text[s.start : s.end].split()) == s.value


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.stem)
def test_every_spacing_gives_the_gold_record(fake, path, form):
    text = FORMS[form](path.read_text())
    record = rules_record(fake, text)
    assert fields(record) == gold(path.stem)
    assert record.needs_review == [] and record.ungrounded == []
    assert fake.requests == []
    assert_all_spans_slice_back(layout.parse(text))


def test_wrapped_forms_really_have_no_blank_lines_and_wrapped_headings():
    text = FORMS["wrapped"](sample("003_a7bb91b34d925d5b"))
    assert "\n\n" not in text and max(map(len, text.splitlines())) <= 90
    headings = FORMS["wrapped_headings"](sample("003_a7bb91b34d925d5b")).splitlines()
    assert "Upheld" in headings, "a decision alone on its line"
    assert "Chiropractic manipulative sessions (lumbar spine" in headings, "a request wrapped over two lines"


@pytest.mark.parametrize("form", sorted(LETTER_FORMS))
def test_2013_letter_reads_right_field_by_field(fake, form):
    text = LETTER_FORMS[form](LETTER)
    record = STRATEGIES["rules"](job(fake, text))
    assert fields(record) == EXPECTED
    assert record.needs_review == []
    found = layout.parse(text)
    assert found.missing == [] and found.unplaced == []
    assert set(found.sections) == {"credentials", "summary", "documents", "items"}
    assert [i.verdict for i in found.items] == ["upheld", "overturned", "upheld"]
    assert found.header["Final Determination"].value.startswith("OVERTURN IN PART")
    assert_all_spans_slice_back(found)


def test_2013_header_fields_sharing_a_line_are_told_apart():
    text = LETTER.replace("CM13-0012345\nDate of UR Decision:", "CM13-0012345   Date of UR Decision:")
    header = layout.parse(text).header
    assert (header["IMR Case Number"].value, header["Date of UR Decision"].value) == ("CM13-0012345", "7/18/2013")


def test_2013_letters_state_their_decisions():
    assert layout.states_decision(LETTER)
    assert layout.states_decision("Final Determination: UPHOLD")
    assert not layout.states_decision("Dear claimant, please find enclosed the forms you asked for.")


def test_a_rationale_run_on_into_the_next_heading_is_split_at_its_last_sentence():
    text = FORMS["wrapped"](sample("000_c5f77487a4b823e6")).replace("non-certified.\nNorco", "non-certified. Norco")
    found = layout.parse(text)
    assert [i.request.value for i in found.items] == ["Flexeril 5mg #60", "Norco 10/325mg #360"]
    assert found.items[0].rationale.value.endswith("the requested service is non-certified.")
    assert consistency.reasons(found) == []


TOKENS = [
    *"ab :()#\n.1", "Upheld", "Regarding the request for ", "1) ", "Rationale for the Decision:",
    "Medical Treatment Guideline(s) Used by the Expert Reviewer:", "Decision rationale:", "is not medically necessary",
    "1) MAXIMUS Federal Services, Inc. has determined the request for ", "Final Determination: UPHOLD",
    "Expert Reviewer Case Summary:", "IMR ISSUES, DECISIONS AND RATIONALES", "Page 2 of 3", "Date of Injury: ",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_any_mix_of_both_layouts_parses_and_checks_without_raising(text):
    found = layout.parse(text)
    assert_all_spans_slice_back(found)
    assert all(reason.startswith("layout: ") for reason in consistency.reasons(found))


def test_rules_read_capitals_and_typographic_quotes():
    caps = rules.treatment("ACUPUNCTURE FOR THE CERVICAL SPINE, 2 TIMES A WEEK FOR 3 WEEKS (6 VISITS)")
    assert (caps.name, caps.category, caps.visits, caps.body_region) == (
        "ACUPUNCTURE",
        "acupuncture",
        6,
        "cervical spine",
    )
    line = "Decision based on MTUS Chronic Pain Treatment Guidelines \u201cOpioids, criteria for use\u201d Page(s): 80."
    assert rules.citation(Span(0, len(line), line)).topic == "Opioids, criteria for use"


def test_2013_summaries_date_the_ur_decision_by_its_report():
    summary = "In a utilization review report dated July 18, 2013, the claims administrator denied the request."
    assert rules.ur_decision_date(summary) == "July 18, 2013"


def test_edition_years_chapters_and_tables_are_not_topics():
    line = "Chronic Pain Medical Treatment Guidelines (May 2009), Opioids, page 74-96, which are part of the MTUS."
    cited = rules.citation(Span(0, len(line), line))
    assert (cited.document, cited.topic, cited.pages[:2]) == (
        "Chronic Pain Medical Treatment Guidelines",
        "Opioids",
        [74, 75],
    )


def test_a_credentials_line_takes_the_words_it_wrapped_onto_but_not_the_next_sentence():
    wrapped = "Certification(s)/Specialty: Pediatrics, Internal\nMedicine\nState(s) of Licensure: New York\n"
    assert rules.reviewer(wrapped).specialties == ["Pediatrics", "Internal Medicine"]
    followed = "State(s) of Licensure: New York\n\nThe expert reviewer was selected for his/her expertise.\n"
    assert rules.reviewer(followed).licensed_states == ["NY"]


def test_an_abbreviation_in_a_heading_is_no_sentence_end():
    text = sample("002_53cd04ea59152e39").replace("Refill Norco:  Upheld", "Consult with Dr. Lee:  Upheld")
    assert [i.request.value for i in layout.parse(text).items][1] == "Consult with Dr. Lee"
