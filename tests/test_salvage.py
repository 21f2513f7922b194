"""`salvage`: a value that fails validation empties its field, listed by path and rule, never by value."""

import copy
import json

import pytest
from pydantic import BaseModel, ValidationError, model_validator

from conftest import fields, gold, pointed
from imr_llm import normalize
from imr_llm.cache import RecordCache
from imr_llm.pointers import Pointed
from imr_llm.salvage import Rejection, UnrepresentableError, determination, salvage
from imr_llm.schema import Determination

NAME = "002_53cd04ea59152e39"


def broken(*changes: tuple[tuple, object]) -> dict:
    """Letter NAME's gold record with the value at each path replaced."""
    data = gold(NAME)
    for path, value in changes:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return data


def emptied(data: dict, *paths: tuple) -> dict:
    """What a record of `data` should hold once the fields at `paths` were rejected."""
    data = copy.deepcopy(data)
    for path in paths:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = [] if isinstance(node[path[-1]], list) else None
    return data


@pytest.mark.parametrize(
    ("path", "value", "rejected", "rule"),
    [
        (("patient", "date_of_injury"), "2/30/2013", "patient.date_of_injury", "not a recognisable date"),
        (("patient", "age"), 125, "patient.age", "must be less than or equal to 120"),
        (("items", 2, "treatment", "quantity"), -4, "items.2.treatment.quantity", "greater than or equal to 0"),
        (("items", 0, "reviewer_guideline", "pages"), "0", "items.0.reviewer_guideline.pages", "start at 1"),
        (("items", 1, "reviewer_guideline", "pages"), "1-127", "items.1.reviewer_guideline.pages", "at most 60"),
        (("reviewer", "specialties"), ["Occupational Medicine"] * 7, "reviewer.specialties", "at most 6"),
        (("patient", "diagnoses"), ["a", 5, "c"], "patient.diagnoses", "must be a valid string"),
        (
            ("items", 1, "claims_administrator_guideline", "sources"),
            ["MTUS", None],
            "items.1.claims_administrator_guideline.sources",
            "must be",
        ),
        (("ur_decision_date",), {"day": 1}, "ur_decision_date", "date"),
    ],
)
def test_one_bad_value_empties_its_field_and_keeps_the_rest(path, value, rejected, rule):
    data = broken((path, value))
    before = copy.deepcopy(data)
    record, rejections = salvage(Determination, data)
    assert data == before, "the caller's data is not changed"
    assert [r.path for r in rejections] == [rejected]
    assert rule in rejections[0].rule
    expected = emptied(gold(NAME), tuple(int(k) if k.isdigit() else k for k in rejected.split(".")))
    assert fields(record) == expected


def test_several_bad_values_each_rejected_once():
    data = broken((("patient", "age"), 430), (("patient", "date_of_injury"), "Zqx the Smarch 31st"),
                  (("items", 2, "treatment", "refills"), "many"))  # fmt: skip
    record = determination(data)
    assert sorted(record.rejected) == ["items.2.treatment.refills", "patient.age", "patient.date_of_injury"]
    assert sorted(record.needs_review) == [
        "items.2.treatment.refills: value rejected (no number in the text)",
        "patient.age: value rejected (must be less than or equal to 120)",
        "patient.date_of_injury: value rejected (not a recognisable date; write e.g. 6/7/2012)",
    ]
    assert "430" not in json.dumps(record.needs_review) and "Smarch" not in json.dumps(record.needs_review)


def test_a_valid_record_is_returned_as_is():
    record, rejections = salvage(Determination, gold(NAME))
    assert rejections == [] and fields(record) == gold(NAME)
    assert determination(gold(NAME)).rejected == []


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("items", 1, "request"), "   ", "items.1.request"),
        (("items", 0, "decision"), "Zqx the Smarch 31st", "items.0.decision"),
        (("items",), [], "items"),
        (("patient",), "Zqx the Smarch 31st", "patient"),
    ],
)
def test_a_field_that_cannot_be_empty_makes_the_letter_unrepresentable(path, value, where):
    with pytest.raises(UnrepresentableError) as info:
        salvage(Determination, broken((path, value)))
    message = str(info.value)
    assert message.startswith(f"{where}: ") and "Zqx" not in message
    assert info.value.__context__ is None, "pydantic's error (its text quotes values) is not chained"


class Span(BaseModel):
    start: int
    end: int

    @model_validator(mode="after")
    def _ordered(self) -> "Span":
        if self.end < self.start:
            raise ValueError("end must not come before start")
        return self


class Marked(BaseModel):
    title: str
    spans: list[Span]
    main: Span | None


def test_model_validator_errors_reject_the_field_that_holds_the_model():
    record, rejections = salvage(
        Marked,
        {"title": "t", "spans": [{"start": 1, "end": 2}, {"start": 5, "end": 3}], "main": {"start": 9, "end": 1}},
    )
    assert record == Marked(title="t", spans=[], main=None)
    assert rejections == [
        Rejection("spans", "end must not come before start"),
        Rejection("main", "end must not come before start"),
    ]
    assert str(rejections[1]) == "main: value rejected (end must not come before start)"


def test_a_model_validator_on_the_record_itself_is_unrepresentable():
    class Whole(Span):
        pass

    with pytest.raises(UnrepresentableError, match=r"^record: end must not come before start"):
        salvage(Whole, {"start": 2, "end": 1})


def test_the_record_holds_every_item_the_model_tool_bounds_them():
    many = gold(NAME)
    many["items"] = many["items"] * 7
    record = determination(many)
    assert len(record.items) == 21 and record.rejected == []
    assert "maxItems" not in Determination.model_json_schema()["properties"]["items"]
    assert Pointed.model_json_schema()["properties"]["items"]["maxItems"] == 12
    with pytest.raises(ValidationError):
        Pointed.model_validate({"items": pointed(NAME)["items"] * 7})
    assert Determination.model_validate_json(record.model_dump_json()) == record


def test_a_cached_record_with_rejections_and_21_items_round_trips(tmp_path):
    data = broken((("patient", "age"), 125))
    data["items"] = data["items"] * 7
    record = determination(data)
    cache = RecordCache(tmp_path)
    cache.set("k", record)
    assert cache.get("k") == record and cache.get("k").rejected == ["patient.age"]


@pytest.mark.parametrize(
    ("parse", "value", "secrets"),
    [
        (normalize.parse_date, "Zqx the Smarch 31st", ["Zqx", "Smarch", "31"]),
        (normalize.parse_date, "2/30/2013", ["2/30", "2013"]),
        (normalize.parse_pages, "96-74", ["96", "74"]),
        (normalize.parse_pages, "1-9999", ["9999"]),
        (normalize.parse_pages, "0", ["0"]),
        (normalize.state_codes, "Atlantis", ["Atlantis"]),
        (normalize.first_int, "Zqx", ["Zqx"]),
        (normalize.parse_refills, "refills many", ["many"]),
    ],
)
def test_normalize_errors_name_the_rule_not_the_value(parse, value, secrets):
    with pytest.raises(ValueError) as info:
        parse(value)
    assert not [s for s in secrets if s in str(info.value)], str(info.value)
    assert info.value.__cause__ is None


@pytest.mark.parametrize("path", [("patient", "mechanism_of_injury"), ("items", 0, "treatment", "strength")])
def test_a_number_where_text_belongs_is_a_validation_error_not_a_crash(path):
    """Was an AttributeError from `normalize` (int has no .split), which nothing caught."""
    with pytest.raises(ValidationError):
        Determination.model_validate(broken((path, 42)))
    assert fields(determination(broken((path, 42)))) == emptied(gold(NAME), path)
