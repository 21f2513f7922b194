import json

import pytest
from pydantic import ValidationError

from conftest import GOLD, fields, gold
from imr_llm import questions
from imr_llm.fields import LETTER
from imr_llm.pointers import Pointed
from imr_llm.schema import Decision, Determination


@pytest.mark.parametrize("path", sorted(GOLD.glob("*.json")), ids=lambda p: p.stem)
def test_gold_records_validate_and_round_trip(path):
    record = Determination.model_validate_json(path.read_text())
    again = Determination.model_validate_json(record.model_dump_json())
    assert again == record
    assert fields(record) == json.loads(path.read_text())


def test_letter_wording_is_normalised():
    data = gold("001_63c5b1a966744848")
    data["reviewer"]["licensed_states"] = "Texas and Florida"
    data["patient"]["date_of_injury"] = "1/30/2013"
    item = data["items"][0]
    item["request"] = "(1) Cyclobenzaprine 7.5mg #60 refills x 3"
    item["decision"] = "Upheld"
    item["treatment"].update(quantity="#60", refills="refills x 3", strength="7.5mg", generic_name=None)
    item["reviewer_guideline"]["pages"] = "63-66"
    record = Determination.model_validate(data)
    assert fields(record) == gold("001_63c5b1a966744848")
    assert record.items[0].decision is Decision.UPHELD


def test_every_list_a_model_is_asked_for_is_bounded():
    """Small models loop on unbounded lists: every tool schema a model sees must bound each one."""

    def arrays(node):
        if isinstance(node, dict):
            if node.get("type") == "array":
                yield node
            for value in node.values():
                yield from arrays(value)
        elif isinstance(node, list):
            for value in node:
                yield from arrays(value)

    found = list(arrays(Pointed.model_json_schema()))
    for path in [*(f.path for f in LETTER if f.model_fills)]:
        found += arrays(questions.question(Determination, path).model_json_schema())
    assert found, "the schema has lists"
    assert all("maxItems" in a for a in found), [a for a in found if "maxItems" not in a]


def test_schema_names_its_version():
    assert Determination.model_json_schema()["schema_version"] == "3"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("items",), [], "at least 1 item"),
        (("items", 0, "decision"), "denied", "upheld"),
        (("patient", "age"), 430, "less than or equal to 120"),
        (("reviewer", "licensed_states"), "Atlantis", "not a US state"),
        (("items", 0, "reviewer_guideline", "pages"), "96-74", "not a page range"),
    ],
)
def test_bad_values_get_errors_that_say_where_and_why(path, value, message):
    data = gold("001_63c5b1a966744848")
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as info:
        Determination.model_validate(data)
    assert message in str(info.value)
    assert ".".join(map(str, path[1:])) in str(info.value) or path[0] in str(info.value)
