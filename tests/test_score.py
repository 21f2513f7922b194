"""The scorer, tested by construction: each defect lowers exactly the fields it should."""

from types import SimpleNamespace

import pytest

from conftest import GOLD, gold
from imr_llm.compare import align
from imr_llm.evals.score import FIELDS, score_letter, summarise
from imr_llm.schema import Determination
from imr_llm.similarity import soft_set, text_similarity

NAME = "003_a7bb91b34d925d5b"  # 4 items


def det(data: dict) -> Determination:
    return Determination.model_validate(data)


def below_one(score) -> set[str]:
    return {path for path, values in score.fields.items() if min(values) < 1.0}


@pytest.mark.parametrize("path", sorted(GOLD.glob("*.json")), ids=lambda p: p.stem)
def test_gold_against_itself_is_perfect(path):
    record = Determination.model_validate_json(path.read_text())
    score = score_letter(path.stem, record, record)
    assert score.score == 1.0 and below_one(score) == set()
    s = summarise([score])
    assert (s.headline, s.decision_accuracy, s.item_f1, s.interval) == (1.0, 1.0, 1.0, (1.0, 1.0))
    assert set(s.per_field) == set(FIELDS)


def test_flipped_decision_lowers_only_decision():
    pred = gold(NAME)
    pred["items"][2]["decision"] = "overturned"
    score = score_letter(NAME, det(pred), det(gold(NAME)))
    assert below_one(score) == {"items.decision"}
    assert score.fields["items.decision"] == [1.0, 1.0, 0.0, 1.0]
    assert summarise([score]).decision_accuracy == 0.75


def test_wrong_page_lowers_only_that_citations_pages():
    pred = gold(NAME)
    pred["items"][1]["reviewer_guideline"]["pages"] = [58, 59]
    score = score_letter(NAME, det(pred), det(gold(NAME)))
    assert below_one(score) == {"items.reviewer_guideline.pages"}


def test_dropped_item_lowers_recall_and_that_items_fields():
    pred = gold(NAME)
    del pred["items"][1]
    score = score_letter(NAME, det(pred), det(gold(NAME)))
    s = summarise([score])
    assert (s.item_precision, s.item_recall) == (1.0, 0.75)
    assert all(score.fields[f"items.{k}"][1] == 0.0 for k in ("request", "decision", "rationale"))
    assert all(v == [1.0] for k, v in score.fields.items() if not k.startswith("items."))
    assert s.decision_accuracy == 0.75


def test_extra_hallucinated_item_lowers_precision_only():
    pred = gold(NAME)
    extra = dict(pred["items"][0], request="Lumbar MRI with contrast", decision="overturned")
    pred["items"].append(extra)
    score = score_letter(NAME, det(pred), det(gold(NAME)))
    s = summarise([score])
    assert below_one(score) == set()
    assert (s.item_precision, s.item_recall, s.decision_accuracy) == (0.8, 1.0, 1.0)


def test_items_align_by_request_not_by_order():
    pred = gold(NAME)
    pred["items"].reverse()
    score = score_letter(NAME, det(pred), det(gold(NAME)))
    assert score.score == 1.0


def test_alignment_is_optimal_one_to_one():
    pred = [SimpleNamespace(request="Fexmid 7.5mg #60 retrospective"),
            SimpleNamespace(request="Prospective use of Fexmid 7.5mg #60")]  # fmt: skip
    gold_ = [
        SimpleNamespace(request="Prospective use of Fexmid 7.5mg #60"),
        SimpleNamespace(request="Retrospective use of Fexmid 7.5mg #60"),
    ]
    assert sorted(align(pred, gold_)) == [(0, 1), (1, 0)]


def test_names_compare_normalised_and_text_by_similarity():
    pred = gold(NAME)
    pred["items"][0]["request"] = "prospective use of flexeril 10 mg #60."
    pred["items"][0]["rationale"] = pred["items"][0]["rationale"][: len(pred["items"][0]["rationale"]) // 2]
    score = score_letter(NAME, det(pred), det(gold(NAME)))
    assert below_one(score) == {"items.rationale"}
    assert 0.5 < score.fields["items.rationale"][0] < 0.8


def test_failed_extraction_scores_every_field_zero():
    score = score_letter(NAME, None, det(gold(NAME)), error="ExtractionError: boom")
    assert score.score == 0.0 and score.error
    s = summarise([score])
    assert (s.item_recall, s.decision_accuracy) == (0.0, 0.0)


def test_micro_macro_and_bootstrap_interval():
    perfect = score_letter(NAME, det(gold(NAME)), det(gold(NAME)))
    failed = score_letter("x", None, det(gold("001_63c5b1a966744848")))
    s = summarise([perfect, failed])
    assert s.macro == 0.5
    n_perfect = sum(len(v) for v in perfect.fields.values())
    n_failed = sum(len(v) for v in failed.fields.values())
    assert s.headline == pytest.approx(n_perfect / (n_perfect + n_failed))
    assert s.interval[0] == 0.0 and s.interval[1] == 1.0


def test_similarity_helpers():
    assert text_similarity(None, None) == 1.0 and text_similarity("a", None) == 0.0
    assert text_similarity("Neck  Pain", "neck pain") == 1.0
    assert soft_set(["neck pain", "depression"], ["Neck pain", "muscle spasm"]) == 0.5
    assert soft_set([], []) == 1.0
