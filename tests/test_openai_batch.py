"""The OpenAI Batch API path, offline: the request file and the reading of results."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLES, fields, gold, pointed
from fake_server import completion
from imr_llm import extract_result
from imr_llm.openai_batch import collect, write_requests
from imr_llm.rows import read_rows

NAMES = sorted(p.stem for p in SAMPLES.glob("*.txt"))


@pytest.fixture
def letters(tmp_path: Path) -> Path:
    folder = tmp_path / "letters"
    folder.mkdir()
    for name in NAMES:
        shutil.copy(SAMPLES / f"{name}.txt", folder / f"{name}.txt")
    (folder / "empty.txt").write_text("")
    return folder


def requests_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_request_file_sends_what_a_live_extraction_sends(letters: Path, tmp_path: Path, fake) -> None:
    path = tmp_path / "requests.jsonl"
    assert write_requests([letters], path, model="gpt-4.1-mini") == (5, 1)
    lines = requests_of(path)
    assert [line["custom_id"].split(":", 1)[1] for line in lines] == [f"{n}.txt" for n in NAMES]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}
    [refused] = read_rows(tmp_path / "requests.errors.jsonl")
    assert (refused.id, refused.error.type) == ("empty.txt", "InvalidLetterError")

    fake.queue(completion(json.dumps(pointed(NAMES[2]))))
    extract_result(sample_text := (letters / f"{NAMES[2]}.txt").read_text(), model="gpt-4.1-mini",
                   base_url=fake.base_url, strategy="whole", cache=False)  # fmt: skip
    live, body = fake.requests[0], lines[2]["body"]
    shown = body["messages"][1]["content"]
    assert sample_text[sample_text.index("The Final Determination was based") :].strip() in shown
    assert "CLINICAL CASE SUMMARY" not in shown, "the items section: the rules read the summary"
    assert {k: live[k] for k in body} == body  # same messages, tool schema, tool choice, settings


def output_line(request: dict, answer: dict | None = None, status: int = 200, **kwargs) -> str:
    body = (
        json.loads(completion(json.dumps(answer), **kwargs).body)
        if answer is not None
        else {"error": {"message": "server overloaded"}}
    )
    return json.dumps(
        {
            "id": "batch_req_1",
            "custom_id": request["custom_id"],
            "response": {"status_code": status, "request_id": "r", "body": body},
            "error": None,
        }
    )


def test_results_are_read_back_through_the_same_checks(letters: Path, tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    write_requests([letters], requests, model="gpt-4.1-mini")
    r = requests_of(requests)
    flipped = copy.deepcopy(pointed(NAMES[1]))
    flipped["items"][0]["decision"] = "overturned" if flipped["items"][0]["decision"] == "upheld" else "upheld"
    flipped["items"][0]["finding"] = flipped["items"][0]["decision"].title()
    bad = pointed(NAMES[3]) | {"items": "not a list"}
    lines = [
        output_line(r[0], pointed(NAMES[0]), prompt_tokens=3000, completion_tokens=700),
        output_line(r[1], flipped),  # contradicts the letter: the layout wins, as in a live run
        output_line(r[2], None, status=500),
        output_line(r[3], bad),
        output_line(r[4], pointed(NAMES[4]), finish_reason="length"),
    ]
    output = tmp_path / "output.jsonl"
    output.write_text("\n".join(lines) + "\n")
    out = tmp_path / "results.jsonl"
    done = collect(output, [letters], out)
    assert len(done.outcomes) == 5 and done.passed_over == []
    rows = {row.id: row for row in read_rows(out)}
    assert sorted(rows) == [f"{NAMES[0]}.txt", f"{NAMES[1]}.txt"]
    first = rows[f"{NAMES[0]}.txt"]
    assert first.model == "https://api.openai.com/v1#fake-model"
    assert (first.strategy, first.usage.total_tokens, first.attempts) == ("whole", 3700, 1)
    record = fields(rows[f"{NAMES[1]}.txt"].determination)
    assert record["items"][0]["decision"] == gold(NAMES[1])["items"][0]["decision"]
    kinds = {row.id: row.error.kind for row in read_rows(tmp_path / "results.errors.jsonl")}
    assert kinds == {f"{NAMES[2]}.txt": "api", f"{NAMES[3]}.txt": "validation", f"{NAMES[4]}.txt": "truncated"}

    again = collect(output, [letters], out)  # collecting twice adds nothing
    assert [o.letter.id for o in again.outcomes] == [f"{n}.txt" for n in NAMES[2:]]
    assert sorted(again.passed_over) == [f"{NAMES[0]}.txt", f"{NAMES[1]}.txt"]
    assert len(list(read_rows(out))) == 2


def test_a_letter_changed_since_the_request_is_reported(letters: Path, tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    write_requests([letters], requests, model="gpt-4.1-mini")
    output = tmp_path / "output.jsonl"
    output.write_text(output_line(requests_of(requests)[0], pointed(NAMES[0])) + "\n")
    (letters / f"{NAMES[0]}.txt").write_text((SAMPLES / f"{NAMES[3]}.txt").read_text())
    done = collect(output, [letters], tmp_path / "results.jsonl")
    [outcome] = done.outcomes
    assert not outcome.ok and "changed since" in str(outcome.error)
    [row] = read_rows(tmp_path / "results.errors.jsonl")
    assert row.error.type == "InvalidLetterError" and not (tmp_path / "results.jsonl").read_text()


def test_a_gap_the_batch_could_not_ask_is_left_empty_and_flagged(tmp_path: Path) -> None:
    """A live run asks the model for a field the rules leave open; a batch answered one question
    a letter, so that field stays empty and `needs_review` says why (the rest is read as live)."""
    name = NAMES[2]
    folder = tmp_path / "letters"
    folder.mkdir()
    text = (SAMPLES / f"{name}.txt").read_text()
    told = text.replace("with a 6/7/12 date of injury", "with an injury, reported in writing, that occurred 6/7/12")
    assert told != text
    (folder / "one.txt").write_text(told)
    requests = tmp_path / "requests.jsonl"
    write_requests([folder], requests, model="gpt-4.1-mini")
    output = tmp_path / "output.jsonl"
    output.write_text(output_line(requests_of(requests)[0], pointed(name)) + "\n")
    collect(output, [folder], tmp_path / "results.jsonl")
    [row] = read_rows(tmp_path / "results.jsonl")
    record = row.determination
    assert record.patient.date_of_injury is None and record.rejected == []
    assert record.needs_review == [
        "patient.date_of_injury: the letter states it but no rule reads it, and the model was not asked"
    ]
    assert [i["decision"] for i in fields(record)["items"]] == [i["decision"] for i in gold(name)["items"]]
