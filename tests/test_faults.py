"""Faults over real HTTP: a scripted OpenAI-compatible server on loopback misbehaves on purpose.

Each fault is counted at the server: retried within the bounds, the right typed error when
retries run out, usage summed over attempts, nothing cached from a failure, and in a batch
the other letters finish.
"""

import json
import time

import pytest

from conftest import FAST, NAME, answer, pointed, sample
from conftest import run_fake as run
from fake_server import Reply, completion, error
from imr_llm import ExtractionError, Options


def test_429_honours_retry_after_then_succeeds(fake):
    fake.queue(error(429, {"retry-after": "0.3"}), answer())
    started = time.perf_counter()
    result = run(fake)
    assert time.perf_counter() - started >= 0.3
    assert (len(fake.requests), result.attempts) == (2, 2)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_retry_within_bounds_then_raise_transient(fake, status):
    fake.queue(error(status))
    with pytest.raises(ExtractionError) as info:
        run(fake)
    assert info.value.kind == "transient"
    assert len(fake.requests) == FAST.max_attempts == info.value.attempts


def test_client_errors_are_not_retried(fake):
    fake.queue(error(401))
    with pytest.raises(ExtractionError) as info:
        run(fake)
    assert (info.value.kind, len(fake.requests)) == ("api", 1)
    assert "401" in str(info.value)


def test_a_hang_past_the_timeout_is_retried(fake):
    fake.queue(Reply(status=200, body=b"{}", delay=2.0), answer())
    result = run(fake, options=Options(retry=FAST, timeout=0.5))
    assert (len(fake.requests), result.attempts) == (2, 2)


def test_a_dropped_connection_is_retried(fake):
    fake.queue(Reply(drop=True), answer())
    result = run(fake)
    assert (len(fake.requests), result.attempts) == (2, 2)


def test_429_without_retry_after_backs_off_then_succeeds(fake):
    fake.queue(error(429), error(429), answer(prompt_tokens=10, completion_tokens=5))
    result = run(fake)
    assert (len(fake.requests), result.attempts, result.usage.total_tokens) == (3, 3, 15)


def test_429_for_ever_is_a_transient_error_after_the_bound(fake):
    fake.queue(error(429, {"retry-after": "0"}))
    with pytest.raises(ExtractionError) as info:
        run(fake)
    assert (info.value.kind, len(fake.requests)) == ("transient", FAST.max_attempts)


def test_a_slow_trickle_is_cut_at_the_deadline_and_retried(fake):
    fake.queue(Reply(body=answer().body, trickle=0.05), answer())  # ~10 s of trickle for the first
    started = time.perf_counter()
    result = run(fake, options=Options(retry=FAST, timeout=1))
    assert time.perf_counter() - started < 4
    assert (len(fake.requests), result.attempts) == (2, 2)


def test_a_trickle_that_never_ends_is_a_transient_error(fake):
    fake.queue(Reply(body=answer().body, trickle=0.05))
    started = time.perf_counter()
    with pytest.raises(ExtractionError) as info:
        run(fake, options=Options(retry=FAST, timeout=0.5))
    assert info.value.kind == "transient" and len(fake.requests) == FAST.max_attempts
    assert time.perf_counter() - started < FAST.max_attempts * 0.5 + 3


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=answer().body, cut=200),  # connection closed mid-body
        Reply(body=b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assist'),  # a 200 with cut JSON
        Reply(body=b"<html>502 Bad Gateway</html>"),  # a proxy's page as a 200
        Reply(body=json.dumps({"id": "x", "object": "chat.completion", "model": "m", "choices": []}).encode()),
    ],
    ids=["cut-on-the-wire", "truncated-json", "not-json", "empty-choices"],
)
def test_broken_bodies_are_transport_faults_retried_then_typed(fake, reply):
    fake.queue(reply, answer())
    assert run(fake).attempts == 2  # one broken body, then the answer
    fake.replies[:] = [reply]
    fake.requests.clear()
    with pytest.raises(ExtractionError) as info:
        run(fake)
    assert (info.value.kind, len(fake.requests)) == ("transient", FAST.max_attempts)


def test_json_that_is_not_the_schema_is_reasked_then_a_validation_error(fake):
    fake.queue(completion(json.dumps({"answer": "upheld"}), prompt_tokens=100, completion_tokens=10))
    with pytest.raises(ExtractionError) as info:
        run(fake)
    assert info.value.kind == "validation" and "items: Field required" in str(info.value)
    assert len(fake.requests) == 2 and info.value.usage.total_tokens == 220  # usage summed over attempts


def test_an_impossible_value_is_refused_not_recorded(fake, tmp_path):
    impossible = pointed(NAME)
    impossible["items"] = []  # a letter decides at least one item
    fake.queue(completion(json.dumps(impossible)))
    with pytest.raises(ExtractionError) as info:
        run(fake, cache=tmp_path)
    assert info.value.kind == "validation" and "items: must have at least 1 item" in str(info.value)
    fake.replies[:] = [answer()]
    assert not run(fake, cache=tmp_path).cache_hit  # nothing was cached from the failure


def test_in_a_batch_faulty_letters_fail_alone_and_the_rest_finish(fake, tmp_path):
    from imr_llm import extract_many

    letters = tmp_path / "letters"
    letters.mkdir()
    for n in range(6):
        (letters / f"{n}.txt").write_text(sample(NAME) + f"\nReference {n}\n")
    broken = {"1.txt": error(500), "3.txt": Reply(body=answer().body, cut=100), "5.txt": error(401)}

    def script(request):
        for name, reply in broken.items():
            if f"Reference {name[0]}" in request["messages"][1]["content"]:
                return reply
        return answer(prompt_tokens=10, completion_tokens=1)

    fake.queue(script)
    out = tmp_path / "results.jsonl"
    outcomes = list(extract_many([letters], out=out, concurrency=3, model="m", base_url=fake.base_url,
                                 strategy="whole", cache=False, options=Options(retry=FAST, timeout=5)))  # fmt: skip
    by_id = {o.letter.id: o for o in outcomes}
    assert sorted(i for i, o in by_id.items() if o.ok) == ["0.txt", "2.txt", "4.txt"]
    assert {i: by_id[i].error.kind for i in broken} == {"1.txt": "transient", "3.txt": "transient", "5.txt": "api"}
    assert len(out.read_text().splitlines()) == 3
    assert len(fake.requests) == 3 + 2 * FAST.max_attempts + 1  # retried within bounds, 401 never


def test_truncated_output_is_a_typed_error(fake):
    fake.queue(completion('{"reviewer": {"specialties": ["Occ', finish_reason="length"))
    with pytest.raises(ExtractionError) as info:
        run(fake)
    assert info.value.kind == "truncated"
