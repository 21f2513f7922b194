"""`whole`'s pointing answer turned into layout spans (`imr_llm.pointers.locate`), with no model."""

from conftest import pointed, sample
from fake_server import completion
from imr_llm import extract_result, layout
from imr_llm.pointers import Pointed, locate

LETTER = """Independent Medical Review: your determination

WHO REVIEWED YOUR CASE
The reviewer is Board Certified in Family Practice and is licensed to practice in Oregon.

BACKGROUND
The patient is a 47 year old female who was injured on 3/4/2012 when she fell from a ladder.

QUESTION 1
Is this treatment medically necessary? Naproxen 550mg #90
ANSWER
No. The reviewer found that the treatment is not medically necessary.
Guideline the claims administrator relied on: MTUS Chronic Pain Treatment Guidelines Page(s): 67.
Guideline the reviewer relied on: MTUS Chronic Pain Treatment Guidelines NSAIDs Page(s): 67-68.
Explanation:
NSAIDs are recommended at the lowest dose for the shortest period.
The records show no benefit after a year of use.

QUESTION 2
Is this treatment medically necessary? Physical therapy 2 times a week for 3 weeks
ANSWER
Yes. The reviewer found that the treatment is medically necessary.
Guideline the claims administrator relied on: ACOEM Practice Guidelines Page(s): 299.
Guideline the reviewer relied on: MTUS: ACOEM Practice Guidelines, Low Back Complaints Page(s): 299-300.
Explanation:
A short course of therapy is recommended after a new injury.

EFFECT OF THIS DECISION
This determination is final.
"""


def item(request: str, finding: str, decision: str, ca: str, reviewer: str, rationale: str) -> dict:
    return {"request": request, "finding": finding, "decision": decision,
            "claims_administrator_guideline": ca, "reviewer_guideline": reviewer, "rationale": rationale}  # fmt: skip


ANSWER = [
    item("Naproxen 550mg #90", "No.", "overturned", "MTUS Chronic Pain Treatment Guidelines Page(s): 67",
         "MTUS Chronic Pain Treatment Guidelines NSAIDs", "NSAIDs are recommended at the lowest"),
    item("Physical therapy 2 times a week for 3 weeks", "Yes. The reviewer found", "overturned",
         "ACOEM Practice Guidelines Page(s): 299", "MTUS: ACOEM Practice Guidelines, Low Back",
         "A short course of therapy is recommended"),
]  # fmt: skip


def answer(items: list[dict]) -> Pointed:
    return Pointed(requests=[i["request"] for i in items], items=items)


def test_passages_run_to_the_next_pointer_or_heading_without_their_labels():
    first, second = locate(LETTER, answer(ANSWER)).items
    assert first.rationale.value == (
        "NSAIDs are recommended at the lowest dose for the shortest period. "
        "The records show no benefit after a year of use."
    ), "ends before the next item's heading, label and all"
    assert second.rationale.value == "A short course of therapy is recommended after a new injury.", "before EFFECT"
    assert first.claims_administrator_guideline.value == "MTUS Chronic Pain Treatment Guidelines Page(s): 67."
    assert second.reviewer_guideline.value.startswith("MTUS: ACOEM"), "a label naming a source is the citation's"
    assert LETTER[first.rationale.start : first.rationale.end].startswith("NSAIDs"), "spans slice the letter"


def test_the_words_the_letter_states_decide_not_the_model_s_choice():
    first, second = locate(LETTER, answer(ANSWER)).items
    assert (first.verdict, second.verdict) == ("upheld", "overturned"), '"No." reads on to "not medically necessary"'
    assert first.judged == "overturned", "the model's own choice is kept, and counts only where the words say none"
    silent = locate(LETTER, answer([{**ANSWER[0], "finding": "Something else"}])).items[0]
    assert silent.verdict == "overturned"


def test_guideline_lines_that_open_alike_are_each_their_own_line():
    """Sample 000 opens both guideline lines of an item with "Decision based on MTUS Chronic Pain …"."""
    text = sample("000_c5f77487a4b823e6")
    found = locate(text, Pointed.model_validate(pointed("000_c5f77487a4b823e6"))).items
    for got, want in zip(found, layout.parse(text).items, strict=True):
        assert got.claims_administrator_guideline.value == want.claims_administrator_guideline.value
        assert got.reviewer_guideline.value == want.reviewer_guideline.value
        assert got.rationale.value == want.rationale.value


def test_an_item_listed_again_is_dropped():
    located = locate(LETTER, answer(ANSWER * 3))  # a small model repeating the letter's items
    assert [i.request.value for i in located.items] == ["Naproxen 550mg #90", ANSWER[1]["request"]]
    assert located.lost == [] and located.guessed == []


def test_words_not_in_the_letter_are_reported_not_guessed_at():
    invented = {**ANSWER[0], "request": "Celebrex 200mg #30", "rationale": "The patient improved markedly with"}
    located = locate(LETTER, answer([invented]))
    assert located.lost == ["items.0.rationale"] and located.guessed == ["items.0.request"]
    assert located.items[0].rationale is None


def test_a_letter_in_a_layout_the_parser_does_not_know_reads_whole(fake):
    assert not layout.parse(LETTER).items, "the layout cannot read it: the model's pointers are all there is"
    fake.queue(completion(answer(ANSWER).model_dump_json()))
    record = extract_result(LETTER, model="m", base_url=fake.base_url, strategy="whole", cache=False).determination
    assert len(fake.requests) == 1, "the rules read every letter-level field: no gap question"
    assert [i.decision.value for i in record.items] == ["upheld", "overturned"]
    naproxen, therapy = record.items
    assert (naproxen.treatment.generic_name, naproxen.treatment.strength, naproxen.treatment.quantity) == (
        "naproxen",
        "550 mg",
        90,
    )
    assert naproxen.reviewer_guideline.pages == [67, 68] and naproxen.claims_administrator_guideline.pages == [67]
    assert therapy.treatment.visits == 6 and therapy.reviewer_guideline.sources[:2] == ["MTUS", "ACOEM"]
    assert (record.patient.age, record.patient.sex, str(record.patient.date_of_injury)) == (47, "female", "2012-03-04")
    assert record.reviewer.specialties == ["Family Practice"] and record.reviewer.licensed_states == ["OR"]
    assert record.ungrounded == []
    assert {e.source for e in record.evidence if e.path.startswith("items.")} == {"model"}


def test_items_named_but_not_detailed_are_asked_for_once_more(fake):
    """A small model lists every request of a letter more reliably than it details them; with no
    layout to settle the count, the ones it named but skipped are asked for once."""
    first = Pointed(requests=[i["request"] for i in ANSWER], items=ANSWER[:1])
    fake.queue(completion(first.model_dump_json()), completion(answer(ANSWER[1:]).model_dump_json()))
    record = extract_result(LETTER, model="m", base_url=fake.base_url, strategy="whole", cache=False).determination
    assert [i.decision.value for i in record.items] == ["upheld", "overturned"]
    asked = fake.requests[1]["messages"][-1]["content"]
    assert "You listed 2 requests but detailed 1" in asked and ANSWER[1]["request"] in asked
    assert record.needs_review == [
        layout_reason for layout_reason in record.needs_review if layout_reason.startswith("layout:")
    ]


def test_items_still_not_detailed_are_flagged(fake):
    first = Pointed(requests=[i["request"] for i in ANSWER], items=ANSWER[:1])
    fake.queue(completion(first.model_dump_json()), completion(first.model_dump_json()))
    record = extract_result(LETTER, model="m", base_url=fake.base_url, strategy="whole", cache=False).determination
    assert len(fake.requests) == 2 and len(record.items) == 1
    assert "items: the model named 1 more disputed item(s) than it detailed; not read" in record.needs_review


def test_a_passage_never_runs_into_a_part_the_model_did_not_point_at():
    """Issue #23: with the reviewer's guideline and the next item unpointed, the claims administrator's
    passage stops at the next label line, and the rationale at the next item's heading."""
    name = "002_53cd04ea59152e39"
    text = sample(name)
    first = {**pointed(name)["items"][0], "reviewer_guideline": ""}
    got = locate(text, Pointed.model_validate({"requests": [first["request"]], "items": [first]})).items[0]
    want = layout.parse(text).items[0]
    assert got.claims_administrator_guideline.value == want.claims_administrator_guideline.value
    assert got.rationale.value == want.rationale.value
