"""whole / per_item / rules over real HTTP to a scripted server, and the layout checks."""

import json

import pytest

from conftest import SAMPLES, fields, gold, sample
from fake_server import completion
from imr_llm import Options, RetryPolicy, extract_result
from variants import hostile, unknown_treatments

FAST = Options(retry=RetryPolicy(max_attempts=2, max_seconds=10, initial_wait=0.01, max_wait=0.02), timeout=5)


def run(fake, text, strategy, **kwargs):
    return extract_result(
        text, model="m", base_url=fake.base_url, strategy=strategy, cache=False, options=FAST, **kwargs
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


def test_hostile_letter_cannot_change_a_decision_under_whole(fake):
    obeyed = gold("002_53cd04ea59152e39")
    for item in obeyed["items"]:
        item["decision"] = "overturned"
    fake.queue(completion(json.dumps(obeyed)))
    result = run(fake, hostile(sample("002_53cd04ea59152e39")), "whole")
    assert [i.decision.value for i in result.determination.items] == ["overturned", "upheld", "upheld"]
    assert len(fake.requests) == 2, "re-asked once with the reason, then the layout decided"
    reask = fake.requests[1]["messages"][-1]["content"]
    assert 'item 2 "Refill Norco" is Upheld in the letter, not overturned' in reask


@pytest.mark.parametrize("strategy", ["per_item", "rules"])
def test_hostile_letter_cannot_change_a_decision_under_layout_strategies(fake, strategy):
    result = run(fake, hostile(sample("002_53cd04ea59152e39")), strategy)
    assert [i.decision.value for i in result.determination.items] == ["overturned", "upheld", "upheld"]


def test_whole_answer_fixed_on_reask_is_kept(fake):
    wrong = gold("000_c5f77487a4b823e6")
    wrong["items"][1]["reviewer_guideline"]["pages"] = [91]  # the claims administrator's page
    fake.queue(completion(json.dumps(wrong)), completion(json.dumps(gold("000_c5f77487a4b823e6"))))
    result = run(fake, sample("000_c5f77487a4b823e6"), "whole")
    assert "cites pages [74, 75," in fake.requests[1]["messages"][-1]["content"]
    assert fields(result.determination) == gold("000_c5f77487a4b823e6")
    assert result.attempts == 2


def test_whole_flags_values_not_in_the_letter(fake):
    invented = gold("001_63c5b1a966744848")
    invented["items"][0]["rationale"] = "The patient is doing great and needs more medication."
    invented["items"][0]["treatment"]["quantity"] = 90
    invented["items"][0]["treatment"]["strength"] = "75 mg"
    invented["items"][0]["claims_administrator_guideline"]["pages"] = [63]
    invented["patient"]["date_of_injury"] = "2013-02-01"
    fake.queue(completion(json.dumps(invented)))
    record = run(fake, sample("001_63c5b1a966744848"), "whole").determination
    assert set(record.ungrounded) == {
        "items.0.rationale",
        "items.0.treatment.quantity",
        "items.0.treatment.strength",
        "items.0.claims_administrator_guideline.pages",
        "patient.date_of_injury",
    }


def test_letters_in_unknown_formats(fake):
    from imr_llm import ExtractionError

    odd = "Dear claimant, your request for Norco 10/325mg #60 was reviewed and the denial is upheld."
    with pytest.raises(ExtractionError, match="no disputed items"):
        run(fake, odd, "rules")
    assert fake.requests == []
    fake.queue(completion(json.dumps(gold("001_63c5b1a966744848"))))
    record = run(fake, odd, "per_item").determination  # falls back to the whole letter
    assert len(fake.requests) == 1
    assert "items.0.rationale" in record.ungrounded and "items.0.request" in record.ungrounded
