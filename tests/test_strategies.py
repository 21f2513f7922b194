"""whole / per_item / rules over real HTTP to a scripted server, and the layout checks."""

import dataclasses
import json

import pytest

from conftest import SAMPLES, fields, gold, pointed, sample
from fake_server import completion
from imr_llm import Options, RetryPolicy, extract_result
from variants import hostile, unknown_treatments

FAST = Options(retry=RetryPolicy(max_attempts=2, max_seconds=10, initial_wait=0.01, max_wait=0.02), timeout=5)
CHECKED = dataclasses.replace(FAST, max_checks=1)
"""A `whole` answer that disagrees with the layout is re-asked once before the layout settles it."""


def run(fake, text, strategy, options=FAST, **kwargs):
    return extract_result(
        text, model="m", base_url=fake.base_url, strategy=strategy, cache=False, options=options, **kwargs
    )


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.stem)
@pytest.mark.parametrize("strategy", ["rules", "per_item"])
def test_layout_strategies_on_samples_match_gold_without_the_model(fake, path, strategy):
    result = run(fake, path.read_text(), strategy)
    record = result.determination
    assert fields(record) == gold(path.stem)
    assert (result.attempts, result.usage.total_tokens, fake.requests) == (0, 0, [])
    assert record.ungrounded == []
    text = path.read_text()
    verbatim = [e for e in record.evidence if e.path.endswith(("request", "rationale", "guideline"))]
    assert len(verbatim) == 4 * len(record.items)
    for e in record.evidence:
        assert e.source == "layout"
        if e.path.endswith("guideline"):
            assert text[e.start : e.end].startswith("Decision based on") or "did not base" in text[e.start : e.end]
            continue
        value = record
        for key in e.path.split("."):
            value = value[int(key)] if key.isdigit() else getattr(value, key)
        assert " ".join(text[e.start : e.end].split()).lower() == " ".join(value.split()).lower()


def treatment(**values):
    base = {"category": "other", "name": "", "generic_name": None, "strength": None, "quantity": None,
            "refills": None, "visits": None, "body_region": None, "timing": None}  # fmt: skip
    return completion(json.dumps({**base, **values}), tool="Treatment", prompt_tokens=300, completion_tokens=60)


def test_per_item_asks_the_model_only_for_gaps_from_the_items_own_block(fake):
    fake.queue(treatment(category="physical_therapy", name="Functional restoration program"))
    result = run(fake, unknown_treatments(sample("002_53cd04ea59152e39")), "per_item")
    items = result.determination.items
    assert (len(fake.requests), result.attempts, result.usage.total_tokens) == (1, 1, 360)
    asked = fake.requests[0]["messages"][1]["content"]
    assert "Functional restoration program x 10 days" in asked
    assert "Acupuncture" not in asked and "Lidopro" not in asked, "each item from its own block"
    assert items[1].treatment.category.value == "physical_therapy"
    assert items[1].treatment.name == "Functional restoration program"
    assert (items[2].treatment.category.value, items[2].treatment.name) == (
        "medication",
        "Lidopro topical ointment",
    )
    assert [i.decision.value for i in items] == ["overturned", "upheld", "upheld"]
    sources = {e.path: e.source for e in result.determination.evidence}
    assert sources["items.1.treatment.category"] == "model" and sources["items.1.request"] == "layout"


def test_per_item_keeps_only_grounded_model_values(fake):
    text = sample("001_63c5b1a966744848")
    start = text.index("The diagnoses are")
    end = text.index("depression.") + len("depression.")
    text = text[:start] + "He was diagnosed with cervical strain." + text[end:]  # a phrasing no rule reads
    fake.queue(completion(json.dumps({"diagnoses": ["cervical strain", "broken leg"]}), tool="PatientDiagnoses"))
    record = run(fake, text, "per_item").determination
    [asked] = fake.requests
    shown = asked["messages"][1]["content"]
    assert "<letter>\nHe was diagnosed with cervical strain.\n</letter>" in shown, "only the sentence that states it"
    [tool] = asked["tools"]
    assert list(tool["function"]["parameters"]["properties"]) == ["diagnoses"], "one field asked, one schema"
    assert record.patient.diagnoses == ["cervical strain"]
    assert record.ungrounded == []


def obeying(name: str) -> dict:
    """What a model that followed the letter's injected note answers: every item overturned."""
    answer = pointed(name)
    for item in answer["items"]:
        item["decision"], item["finding"] = "overturned", "Overturned"
    return answer


def test_hostile_letter_cannot_change_a_decision_under_whole(fake):
    fake.queue(completion(json.dumps(obeying("002_53cd04ea59152e39"))))
    result = run(fake, hostile(sample("002_53cd04ea59152e39")), "whole", options=CHECKED)
    assert [i.decision.value for i in result.determination.items] == ["overturned", "upheld", "upheld"]
    assert len(fake.requests) == 2, "re-asked once with the reason, then the layout decided"
    reask = fake.requests[1]["messages"][-1]["content"]
    assert 'item 2 "Refill Norco" is Upheld in the letter, not overturned' in reask


def test_by_default_a_consistent_layout_settles_a_disagreement_without_a_reask(fake):
    short = pointed("000_c5f77487a4b823e6")
    short["items"] = short["items"][:1]  # a small model that stopped after the first item
    fake.queue(completion(json.dumps(short)))
    result = run(fake, sample("000_c5f77487a4b823e6"), "whole")
    assert len(fake.requests) == 1 and result.attempts == 1
    assert fields(result.determination) == gold("000_c5f77487a4b823e6"), "the layout's two items"
    assert {e.source for e in result.determination.evidence if e.path.startswith("items.")} == {"layout"}


@pytest.mark.parametrize("strategy", ["per_item", "rules"])
def test_hostile_letter_cannot_change_a_decision_under_layout_strategies(fake, strategy):
    result = run(fake, hostile(sample("002_53cd04ea59152e39")), strategy)
    assert [i.decision.value for i in result.determination.items] == ["overturned", "upheld", "upheld"]


def test_whole_answer_fixed_on_reask_is_kept(fake):
    wrong = pointed("000_c5f77487a4b823e6")
    wrong["items"][1]["reviewer_guideline"] = wrong["items"][1]["rationale"]  # no guideline line: no pages
    fake.queue(completion(json.dumps(wrong)), completion(json.dumps(pointed("000_c5f77487a4b823e6"))))
    result = run(fake, sample("000_c5f77487a4b823e6"), "whole", options=CHECKED)
    assert "cites pages [74, 75," in fake.requests[1]["messages"][-1]["content"]
    assert fields(result.determination) == gold("000_c5f77487a4b823e6")
    assert result.attempts == 2


def test_whole_flags_what_the_model_points_at_that_is_not_in_the_letter(fake):
    invented = pointed("001_63c5b1a966744848")
    invented["items"][0]["request"] = invented["requests"][0] = "Cyclobenzaprine 10mg #90"
    invented["items"][0]["rationale"] = "The patient is doing great and needs more"
    fake.queue(completion(json.dumps(invented)))
    record = run(fake, sample("001_63c5b1a966744848"), "whole").determination
    assert record.items[0].request == "Cyclobenzaprine 10mg #90" and record.items[0].rationale == ""
    assert record.ungrounded == ["items.0.request"]
    assert record.needs_review == ["items.0.rationale: the words the model pointed at are not in the letter"]
    assert record.items[0].reviewer_guideline.pages == [63, 64, 65, 66], "what it pointed at right is read"


def test_letters_in_unknown_formats(fake):
    from imr_llm import ExtractionError

    odd = "Dear claimant, your request for Norco 10/325mg #60 was reviewed and the denial is upheld."
    with pytest.raises(ExtractionError, match="no disputed items"):
        run(fake, odd, "rules")
    assert fake.requests == []
    fake.queue(completion(json.dumps(pointed("001_63c5b1a966744848"))))
    record = run(fake, odd, "per_item").determination  # falls back to the whole letter
    assert len(fake.requests) == 1
    assert "items.0.request" in record.ungrounded, "another letter's request"
    assert "items.0.rationale: the words the model pointed at are not in the letter" in record.needs_review


def test_whole_shows_the_model_only_the_items_of_a_layout_that_adds_up(fake):
    """The rules read the credentials and summary, so the pointing call need not evaluate them."""
    fake.queue(completion(json.dumps(pointed("001_63c5b1a966744848"))))
    record = run(fake, sample("001_63c5b1a966744848"), "whole").determination
    shown = fake.requests[0]["messages"][1]["content"]
    assert "Cyclobenzaprine 7.5mg #60 refills x 3:  Upheld" in shown and "CLINICAL CASE SUMMARY" not in shown
    assert fields(record) == gold("001_63c5b1a966744848"), "the letter-level fields, read by rule"
