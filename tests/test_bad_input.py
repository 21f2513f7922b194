"""Bad and hostile input: each gets a typed error or a correct record, never a crash or a
fabricated record, and in the CLI never a traceback."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conftest import NAME, SAMPLES, answer, fields, gold, labelled, pointed, sample
from conftest import run_fake as run
from fake_server import completion
from imr_llm import InvalidLetterError, extract_result
from imr_llm import normalize as norm
from imr_llm.reading import read as check_letter
from imr_llm.reading import read_pdf as pdf_text
from imr_llm.schema import Determination
from variants import hostile

BAD = {
    "empty.txt": b"",
    "blank.txt": b"  \n\t \r\n ",
    "grocery.txt": b"Milk, eggs, bread.\nCall the plumber on Tuesday about the sink.\n" * 20,
    "binary.txt": bytes(range(256)) * 40,
    "controls.txt": ("Upheld \x01\x02\x03\x04\x05 " * 200).encode(),
    "huge.txt": (sample(NAME) * 1200).encode(),  # ~10 MB
    "scan.pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
}
MESSAGES = {
    "empty.txt": "empty", "blank.txt": "empty", "grocery.txt": "not an IMR determination letter",
    "binary.txt": "binary data", "controls.txt": "binary data",
    "huge.txt": "over the 100,000 limit", "scan.pdf": "not a readable PDF",
}  # fmt: skip


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "letters"  # apart from the outputs: an output inside the letters is refused
    folder.mkdir()
    for name, data in BAD.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_letter_is_a_typed_error_before_any_call(fake, name: str) -> None:
    fake.queue(answer())
    data = BAD[name]
    with pytest.raises(InvalidLetterError, match=MESSAGES[name]):
        run(fake, pdf_text(data) if name.endswith(".pdf") else data)
    assert fake.requests == []  # nothing sent, so nothing a model could make up


def test_cli_batch_of_bad_letters_records_each_and_shows_no_traceback(bad_folder: Path, tmp_path: Path) -> None:
    (bad_folder / "good.txt").write_text(sample(NAME))
    out = tmp_path / "out" / "results.jsonl"
    cmd = [sys.executable, "-m", "imr_llm.cli", "extract", str(bad_folder), "--strategy", "rules",
           "--no-cache", "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [good] = [json.loads(line) for line in out.read_text().splitlines()]
    assert fields_of(good) == gold(NAME)
    errors = {
        r["id"]: r["error"] for r in map(json.loads, (out.parent / "results.errors.jsonl").read_text().splitlines())
    }
    assert errors.keys() == BAD.keys()
    assert all(MESSAGES[name] in errors[name]["message"] for name in BAD)
    for name in ("empty.txt", "huge.txt"):  # one letter alone: also a message, not a traceback
        one = subprocess.run([*cmd[:4], str(bad_folder / name), "--strategy", "rules"], capture_output=True, text=True)
        assert one.returncode == 1 and "Traceback" not in one.stderr and MESSAGES[name] in one.stderr


def fields_of(row: dict) -> dict:
    return labelled(row["determination"])


@pytest.mark.parametrize("strategy", ["per_item", "rules", "whole"])
def test_a_letter_that_tells_the_model_what_to_answer_gets_the_true_record(fake, strategy: str) -> None:
    obeyed = pointed(NAME)  # what a model that followed the letter's injected note would answer, every time
    for item in obeyed["items"]:
        item["decision"], item["finding"] = "overturned", "Overturned"
    fake.queue(completion(json.dumps(obeyed)))
    record = run(fake, hostile(sample(NAME)), strategy=strategy).determination
    assert [i.decision.value for i in record.items] == [i["decision"] for i in gold(NAME)["items"]]


# --- property-based: arbitrary text never breaks the validators -----------------------

PARSERS = [norm.parse_date, norm.parse_pages, norm.state_codes, norm.first_int, norm.parse_refills,
           norm.parse_visits, norm.strength, norm.generic_name, norm.strip_numbering, norm.none_if_unknown]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PARSERS), st.one_of(st.text(max_size=60), st.from_regex(r"[0-9/,\- andPage()#xX.mg]{0,30}")))
def test_value_parsers_return_or_raise_value_error_only(parse, text: str) -> None:
    with contextlib.suppress(ValueError):  # pydantic turns it into a ValidationError that names the field
        parse(text)


PATHS = [("reviewer",), ("patient", "age"), ("patient", "date_of_injury"), ("items",), ("items", 0, "treatment"),
         ("items", 0, "reviewer_guideline", "pages"), ("ur_decision_date",), ("items", 0, "decision")]  # fmt: skip
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_json_answer_validates_or_raises_a_validation_error(data) -> None:
    record = gold(NAME)
    path = data.draw(st.sampled_from(PATHS))
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(JSONISH)
    try:
        Determination.model_validate(record)
    except ValidationError as exc:
        assert exc.errors()  # says where and why


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_text_or_a_typed_refusal(data: bytes) -> None:
    for read in (check_letter, pdf_text):
        with contextlib.suppress(InvalidLetterError):
            assert isinstance(read(data), str)


def test_the_samples_still_pass_the_checks() -> None:
    for path in SAMPLES.glob("*.txt"):
        assert check_letter(path.read_bytes()) == path.read_text(encoding="utf-8")
    assert os.path.getsize(SAMPLES / f"{NAME}.txt") < 100_000
    assert fields(extract_result(sample(NAME), strategy="rules", cache=False).determination) == gold(NAME)
