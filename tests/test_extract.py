"""The model path over real HTTP against a scripted OpenAI-compatible server on loopback."""

import asyncio
import json

import pytest

from conftest import FAST, NAME, answer, fields, gold, sample
from conftest import run_fake as run
from fake_server import completion, error
from imr_llm import (
    ExtractionError,
    InvalidLetterError,
    Options,
    aextract_result,
    extract,
    extract_result,
)
from imr_llm.prompts import Prompt


def test_one_letter_one_call(fake):
    fake.queue(answer(prompt_tokens=1200, completion_tokens=300))
    result = run(fake)
    assert fields(result.determination) == gold(NAME)
    assert (result.attempts, result.cache_hit, result.usage.total_tokens) == (1, False, 1500)
    request = fake.requests[0]
    assert request["model"] == "fake-model"
    assert request["tool_choice"]["function"]["name"] == "DisputedItems"
    assert request["temperature"] == 0 and request["max_tokens"] == 4096


def test_letter_text_is_sent_verbatim_even_with_template_syntax(fake):
    fake.queue(answer())
    letter = sample(NAME) + "\nNote: {{ patient.name }} {% raw %} $letter"
    run(fake, letter)
    items = letter[letter.index("The Final Determination was based") :]  # what `whole` shows of a known layout
    assert items.strip() in fake.requests[0]["messages"][1]["content"]


def test_invalid_answer_is_reasked_with_the_reason_and_usage_is_summed(fake):
    bad = gold(NAME)
    bad["items"][0]["decision"] = "approved"
    fake.queue(
        completion(json.dumps(bad), prompt_tokens=1000, completion_tokens=200),
        answer(prompt_tokens=1500, completion_tokens=300),
    )
    result = run(fake)
    assert result.attempts == 2 and len(fake.requests) == 2
    assert result.usage.total_tokens == 1200 + 1800
    reask = json.dumps(fake.requests[1]["messages"])
    assert "decision" in reask and len(fake.requests[1]["messages"]) > len(fake.requests[0]["messages"])


def test_reasks_are_bounded_and_the_error_says_what_failed(fake):
    bad = gold(NAME)
    bad["items"][0]["decision"] = "approved"
    fake.queue(completion(json.dumps(bad), prompt_tokens=10, completion_tokens=5))
    with pytest.raises(ExtractionError) as info:
        run(fake, options=Options(retry=FAST, max_reasks=2, timeout=5))
    err = info.value
    assert (err.kind, err.attempts, len(fake.requests)) == ("validation", 3, 3)
    assert err.usage.total_tokens == 45
    assert "items.0.decision" in str(err) and "approved" not in str(err), (
        "errors name the field, not the letter's values"
    )


def test_token_budget_stops_reasks_early(fake):
    bad = gold(NAME)
    bad["items"][0]["decision"] = "approved"
    fake.queue(completion(json.dumps(bad), prompt_tokens=3000, completion_tokens=1000))
    with pytest.raises(ExtractionError) as info:
        run(fake, options=Options(retry=FAST, max_reasks=5, token_budget=6000, timeout=5))
    assert info.value.kind == "budget"
    assert len(fake.requests) == 2


def test_cache_hit_makes_no_call_and_reports_zero_tokens(fake, tmp_path):
    fake.queue(answer(prompt_tokens=1000, completion_tokens=100))
    first = run(fake, cache=tmp_path)
    second = run(fake, cache=tmp_path)
    assert len(fake.requests) == 1
    assert second.cache_hit and not first.cache_hit
    assert second.determination == first.determination
    assert (second.usage.total_tokens, second.attempts) == (0, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other-model"},
        {"prompt": Prompt.from_strings("Different.", "$letter")},
        {"options": Options(retry=FAST, timeout=5, temperature=0.5)},
        {"options": Options(retry=FAST, timeout=5, max_tokens=1000)},
        {"text": sample(NAME) + " "},
    ],
    ids=["model", "prompt", "temperature", "max_tokens", "letter"],
)
def test_anything_that_changes_the_answer_misses_the_cache(fake, tmp_path, change):
    fake.queue(answer())
    run(fake, cache=tmp_path)
    text = change.pop("text", None)
    model = change.pop("model", "fake-model")
    kwargs = {"cache": tmp_path, "strategy": "whole", "options": Options(retry=FAST, timeout=5), **change}
    extract_result(text or sample(NAME), model=model, base_url=fake.base_url, **kwargs)
    assert len(fake.requests) == 2


def test_nothing_is_cached_from_a_failed_call(fake, tmp_path):
    fake.queue(error(500))
    with pytest.raises(ExtractionError):
        run(fake, cache=tmp_path)
    fake.replies[:] = [answer()]
    assert not run(fake, cache=tmp_path).cache_hit


def test_extract_returns_the_record(fake):
    fake.queue(answer())
    record = extract(sample(NAME), model="m", base_url=fake.base_url, cache=False, strategy="whole")
    assert [i.decision.value for i in record.items] == ["overturned", "upheld", "upheld"]


def test_async_form(fake):
    fake.queue(error(503), answer(prompt_tokens=7, completion_tokens=3))
    result = asyncio.run(
        aextract_result(
            sample(NAME),
            model="m",
            base_url=fake.base_url,
            cache=False,
            strategy="whole",
            options=Options(retry=FAST, timeout=5),
        )
    )
    assert (result.attempts, result.usage.total_tokens) == (2, 10)


@pytest.mark.parametrize(
    ("letter", "message"),
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        (b"\xff\xfe\x00", "binary data"),
        ("a\x00b", "NUL"),
        ("x" * 100_001, "over the 100,000 limit"),
        (42, "must be str"),
    ],
)
def test_bad_input_is_refused_before_any_call(fake, letter, message):
    fake.queue(answer())
    with pytest.raises(InvalidLetterError, match=message):
        run(fake, letter)
    assert fake.requests == []
