"""End to end on the real embedded model (llama.cpp, Qwen2.5-Coder-1.5B) over real HTTP.

Slow (a minute or more per letter on 2 cores): marked `model`; skip with -m "not model".
Expectations (item count, each decision) are the hand-read gold records.
"""

import json
import subprocess
import sys

import pytest

from conftest import SAMPLES, gold, sample
from fake_server import CountingProxy
from imr_llm import extract_result
from imr_llm.embedded import default_server

pytestmark = [pytest.mark.model, pytest.mark.timeout(1200)]

LETTERS = ["001_63c5b1a966744848", "002_53cd04ea59152e39"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("records")


def decisions(record) -> list[str]:
    items = record["items"] if isinstance(record, dict) else record.model_dump(mode="json")["items"]
    return [item["decision"] for item in items]


@pytest.mark.parametrize("name", LETTERS)
def test_embedded_default_gets_items_and_decisions_right(name, cache_dir):
    result = extract_result(sample(name), cache=cache_dir)
    assert not result.cache_hit and result.attempts >= 1 and result.usage.total_tokens > 0
    assert decisions(result.determination) == decisions(gold(name))


def test_cli_prints_the_record_and_repeat_is_cached(cache_dir):
    name = LETTERS[0]
    path = str(SAMPLES / f"{name}.txt")
    run = subprocess.run(
        [sys.executable, "-m", "imr_llm.cli", "extract", path, "--cache-dir", str(cache_dir)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    assert decisions(json.loads(run.stdout)) == decisions(gold(name))
    assert "cached" in run.stderr


def test_second_call_reaches_no_server(tmp_path):
    """Counted at the server side of real HTTP, not by inspecting the cache."""
    name = LETTERS[0]
    with CountingProxy(default_server.base_url()) as proxy:
        kwargs = {"model": default_server.alias, "base_url": proxy.base_url, "cache": tmp_path}
        first = extract_result(sample(name), **kwargs)
        calls = proxy.count
        second = extract_result(sample(name), **kwargs)
        assert calls >= 1 and proxy.count == calls
    assert decisions(first.determination) == decisions(gold(name))
    assert second.cache_hit and second.usage.total_tokens == 0
    assert second.determination == first.determination
