"""Letters with impossible values, end to end: the batch finishes every letter, the record keeps
all but the rejected field, and no value reaches stderr or the errors file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FAST, fields, gold, pointed, sample
from fake_server import completion
from imr_llm import ExtractionError, Options, extract_result

NAME = "002_53cd04ea59152e39"
ZQX = "Zqx the Smarch 31st"
SPECIALTIES = (
    "Occupational Medicine, Internal Medicine, Family Medicine, Pediatrics, Neurology, Psychiatry and Dermatology"
)


def letters() -> dict[str, tuple[str, list[str], list[str]]]:
    """file name -> (letter, the paths its record should reject, strings that must not leak)."""
    text = sample(NAME)
    items = text[text.index("Acupuncture for the Cervical Spine, 2 times") :]

    def changed(old: str, new: str) -> str:
        assert text.count(old) == 1
        return text.replace(old, new)

    return {
        "date.txt": (changed("6/7/12 date of injury", "2/30/2013 date of injury"), ["patient.date_of_injury"],
                     ["2/30/2013", "2/30"]),
        "age.txt": (changed("45-year-old", "125-year-old"), ["patient.age"], ["125-year", "=125", "'125'"]),
        "page0.txt": (changed("Topics; Page(s): 1.", "Topics; Page(s): 0."), ["items.0.reviewer_guideline.pages"],
                      ["Page(s): 0", "input_value='0'"]),
        "pages127.txt": (changed("78-81.", "1-127."), ["items.1.reviewer_guideline.pages"], ["1-127", "127"]),
        "specialties.txt": (changed("Board Certified in Occupational Medicine and",
                                    f"Board Certified in {SPECIALTIES} and"), ["reviewer.specialties"],
                            ["Dermatology", "Pediatrics"]),
        "items21.txt": (text + items * 6, [], []),
        "normal.txt": (text, [], []),
    }  # fmt: skip


def without(record: dict, path: str) -> dict:
    """`record` with the field at `path` emptied, as a rejection leaves it."""
    record = json.loads(json.dumps(record))
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = record
    for key in parents:
        node = node[key]
    node[last] = [] if isinstance(node[last], list) else None
    return record


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imr_llm.cli", "extract", *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_a_batch_with_an_impossible_value_in_each_letter_keeps_every_letter(tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    cases = letters()
    for name, (text, _, _) in cases.items():
        (folder / name).write_text(text)
    out = tmp_path / "r.jsonl"
    done = cli(str(folder), "--out", str(out), "--strategy", "rules", "--no-cache")
    assert done.returncode == 0, "every letter extracted: a rejected field flags a record, it does not fail it"
    assert "7 extracted, 0 failed" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r.errors.jsonl").exists() or (tmp_path / "r.errors.jsonl").read_text() == ""
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert sorted(rows) == sorted(cases) and all(row["ok"] for row in rows.values())
    for name, (_, paths, secrets) in cases.items():
        record = rows[name]["determination"]
        assert record["rejected"] == paths, name
        assert record["ungrounded"] == [], "a rejected field is empty, not a value the letter lacks"
        assert [r.split(":")[0] for r in record["needs_review"]] == paths, name
        expected = gold(NAME)
        for path in paths:
            expected = without(expected, path)
        if name == "items21.txt":
            expected["items"] = expected["items"] * 7
        assert {k: v for k, v in record.items() if k in expected} == expected, name
        leaks = [s for s in secrets if s in done.stderr or s in json.dumps(record["needs_review"])]
        assert not leaks, (name, leaks)
    assert "input_value" not in done.stderr


def test_the_whole_tool_schema_still_bounds_items(fake):
    fake.queue(completion(json.dumps(pointed(NAME))))
    run = extract_result(sample(NAME), model="m", base_url=fake.base_url, strategy="whole", cache=False,
                         options=Options(retry=FAST, timeout=5))  # fmt: skip
    assert len(run.determination.items) == 3
    [tool] = fake.requests[0]["tools"]
    assert tool["function"]["name"] == "DisputedItems"
    assert tool["function"]["parameters"]["properties"]["items"]["maxItems"] == 12


def whole_answer_with_a_bad_decision(request: dict):
    answer = pointed(NAME)
    answer["items"][0]["decision"] = ZQX
    return completion(json.dumps(answer))


def date_question_with_a_bad_date(request: dict):
    return completion(json.dumps({"date_of_injury": ZQX}), tool="PatientDateOfInjury")


def no_date_of_injury() -> str:
    """Letter NAME with its date of injury in a sentence no rule reads, so `per_item` asks the model."""
    return sample(NAME).replace(
        "with a 6/7/12 date of injury", "with an injury, reported to her employer in writing, that occurred 6/7/12"
    )


def test_a_model_that_keeps_answering_an_impossible_decision_is_a_typed_failure_that_never_quotes_it(fake):
    """The model is re-asked with the rule it broke; if it still answers an impossible value the
    letter fails as `ExtractionError(kind="validation")` (a model's values are not rules' data:
    nothing in the letter vouches for the rest of that answer either)."""
    fake.queue(whole_answer_with_a_bad_decision)
    with pytest.raises(ExtractionError) as info:
        extract_result(sample(NAME), model="m", base_url=fake.base_url, strategy="whole", cache=False,
                       options=Options(retry=FAST, timeout=5))  # fmt: skip
    assert info.value.kind == "validation" and "items.0.decision" in str(info.value)
    assert "'upheld' or 'overturned'" in str(info.value)
    assert len(fake.requests) == 2, "asked, then re-asked once with the reason"
    assert "Zqx" not in str(info.value) and "Smarch" not in str(info.value)


def test_a_gap_question_answered_impossibly_rejects_its_field_not_the_letter(fake):
    """A `per_item` gap question asks for one field: when no answer fits it, that field is left
    empty and listed in `rejected` (with a reason that quotes nothing), and the letter is kept."""
    fake.queue(date_question_with_a_bad_date)
    run = extract_result(no_date_of_injury(), model="m", base_url=fake.base_url, strategy="per_item",
                         cache=False, options=Options(retry=FAST, timeout=5))  # fmt: skip
    record = run.determination
    assert len(fake.requests) == 2, "asked, then re-asked once with the reason"
    assert record.patient.date_of_injury is None and record.rejected == ["patient.date_of_injury"]
    assert record.needs_review == ["patient.date_of_injury: no answer the model gave fits the field; left empty"]
    assert "Zqx" not in record.model_dump_json() and "Smarch" not in record.model_dump_json()
    assert [i.decision.value for i in record.items] == ["overturned", "upheld", "upheld"]


def test_in_a_cli_batch_the_model_s_impossible_value_reaches_neither_stderr_nor_the_errors_file(fake, tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "bad.txt").write_text(no_date_of_injury())
    (folder / "other.txt").write_text(sample("001_63c5b1a966744848"))

    def script(request: dict):
        if "Acupuncture for the Cervical Spine" in request["messages"][1]["content"]:  # letter NAME's items
            return whole_answer_with_a_bad_decision(request)
        return completion(json.dumps(pointed("001_63c5b1a966744848")))

    fake.queue(script)
    out = tmp_path / "r.jsonl"
    model = ["--model", "m", "--base-url", fake.base_url, "--strategy", "whole"]
    done = cli(str(folder), "--out", str(out), *model, "--no-cache")
    assert done.returncode == 1, "a failed letter: exit 1"
    [error] = map(json.loads, (tmp_path / "r.errors.jsonl").read_text().splitlines())
    assert (error["id"], error["error"]["kind"]) == ("bad.txt", "validation")
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["other.txt"]
    for where in (done.stderr, (tmp_path / "r.errors.jsonl").read_text()):
        assert "Zqx" not in where and "Smarch" not in where and "input_value" not in where
    assert "items.0.decision" in done.stderr


def test_a_letter_past_the_model_bound_keeps_every_item_under_per_item(fake):
    text = sample(NAME)
    many = text + text[text.index("Acupuncture for the Cervical Spine, 2 times") :] * 6
    run = extract_result(many, model="m", base_url=fake.base_url, strategy="per_item", cache=False)
    assert len(run.determination.items) == 21 and fake.requests == []
    assert fields(run.determination)["items"] == gold(NAME)["items"] * 7


def test_a_heading_that_counts_sessions_without_a_number_reads_as_none(tmp_path: Path):
    """Was a ValueError quoting the heading, from `normalize.first_int`, out of `rules.treatment`."""
    text = sample(NAME).replace("Refill Norco:", "Additional sessions of Norco:")
    record = extract_result(text, strategy="rules", cache=False).determination
    assert record.items[1].treatment.visits is None and record.rejected == []


def test_an_invalid_gold_record_is_named_without_its_values(tmp_path):
    from imr_llm.evals.dataset import DatasetError, load

    (tmp_path / "s").mkdir()
    (tmp_path / "g").mkdir()
    (tmp_path / "s" / f"{NAME}.txt").write_text(sample(NAME))
    bad = gold(NAME)
    bad["patient"]["date_of_injury"] = ZQX
    bad["patient"]["age"] = 125
    (tmp_path / "g" / f"{NAME}.json").write_text(json.dumps(bad))
    with pytest.raises(DatasetError) as info:
        load(tmp_path / "s", tmp_path / "g")
    message = str(info.value)
    assert "patient.date_of_injury: not a recognisable date" in message and "patient.age: must be" in message
    assert "Zqx" not in message and "125" not in message and "input_value" not in message
