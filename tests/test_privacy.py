"""Privacy: letters carry medical information. At the default log level no letter text,
extracted value or key reaches a log, stderr or an errors file; what is stored is private."""

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FAST, NAME, SAMPLES, answer, gold_reply, pointed, sample
from conftest import run_fake as run
from fake_server import completion
from imr_llm import ExtractionError, Options

SECRET = "sk-secret-key-123"
PHRASES = ("police officer", "Acupuncture for the Cervical Spine", "jumping jacks", "approved")
"""Words from letter 002 and from a bad answer about it: none may be logged."""


def assert_private(text: str) -> None:
    assert SECRET not in text
    for phrase in PHRASES:
        assert phrase not in text


def test_logs_hold_no_letter_text_values_or_keys(fake, caplog):
    """At INFO and above (the default is WARNING), a full run with a failed re-ask logs nothing private."""
    caplog.set_level(logging.INFO)
    bad = pointed(NAME)
    bad["items"][0]["decision"] = "approved"
    fake.queue(completion(json.dumps(bad)), answer(), completion(json.dumps(bad)))
    letter = sample(NAME)
    run(fake, letter, api_key=SECRET)
    with pytest.raises(ExtractionError):
        run(fake, letter, options=Options(retry=FAST, max_reasks=0, timeout=5))
    assert_private(caplog.text)


def test_a_batch_run_from_the_shell_shows_and_records_nothing_private(fake, tmp_path: Path) -> None:
    letters = tmp_path / "letters"
    letters.mkdir()
    for n in range(3):
        (letters / f"{n}.txt").write_text(sample(NAME))
    bad = pointed(NAME)
    bad["items"][0]["decision"] = "approved"
    fake.queue(completion(json.dumps(bad)))  # every answer fails validation: the errors file is written
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "IMR_LLM_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "imr_llm.cli", "extract", str(letters), "--out", str(out), "--model", "m",
               "--base-url", fake.base_url, "--strategy", "whole"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert_private(done.stdout + done.stderr)
    errors = (tmp_path / "results.errors.jsonl").read_text()
    assert [json.loads(line)["error"]["kind"] for line in errors.splitlines()] == ["validation"] * 3
    assert_private(errors)
    assert "jumping jacks" in fake.requests[0]["messages"][1]["content"]  # the letter's items were sent


def test_what_is_stored_is_readable_by_its_owner_only(fake, tmp_path: Path) -> None:
    from imr_llm import extract_many

    fake.queue(gold_reply)
    cache = tmp_path / "cache"
    out = tmp_path / "results.jsonl"
    outcomes = list(extract_many([SAMPLES], out=out, cache=cache, model="m", base_url=fake.base_url,
                                 strategy="whole", options=Options(retry=FAST, timeout=5)))  # fmt: skip
    assert all(o.ok for o in outcomes)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "results.errors.jsonl").stat().st_mode) == 0o600


@pytest.mark.parametrize("level", [logging.WARNING, logging.INFO])
def test_failed_extractions_log_nothing_private(fake, caplog, level) -> None:
    caplog.set_level(level)
    fake.queue(completion(json.dumps({"patient": "police officer, approved"})))
    with pytest.raises(ExtractionError) as info:
        run(fake, sample(NAME), api_key=SECRET, options=Options(retry=FAST, max_reasks=1, timeout=5))
    assert_private(caplog.text + str(info.value))
