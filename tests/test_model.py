"""End to end on the real embedded model (llama.cpp, Qwen2.5-Coder-1.5B) over real HTTP.

Slow (a minute or more per letter on 2 cores): marked `model`; skip with -m "not model". Every
test on the real model lives here, so pytest-xdist (`--dist loadfile`) runs them in one worker, one
after another. Expectations (item count, each decision) are the hand-read gold records; the
prompt-lab notebook runs top to bottom; the real server dies with the process that started it.
"""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, gold, sample
from fake_server import CountingProxy
from imr_llm import extract_result
from imr_llm.embedded import SETTINGS, default_server
from test_embedded_lifetime import KILLS, _dies_with_its_parent
from variants import unknown_treatments

pytestmark = [pytest.mark.model, pytest.mark.timeout(1500)]

LETTERS = ["001_63c5b1a966744848", "002_53cd04ea59152e39"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("records")


def decisions(record) -> list[str]:
    items = record["items"] if isinstance(record, dict) else record.model_dump(mode="json")["items"]
    return [item["decision"] for item in items]


@pytest.mark.parametrize("name", LETTERS)
def test_whole_letter_on_the_embedded_default(name, cache_dir):
    result = extract_result(sample(name), strategy="whole", cache=cache_dir)
    assert not result.cache_hit and result.attempts >= 1 and result.usage.total_tokens > 0
    assert result.model.startswith("embedded:qwen2.5-coder-1.5b")
    assert decisions(result.determination) == decisions(gold(name))
    print(f"\n{name}: {result.attempts} call(s), {result.usage.total_tokens} tokens, {result.latency_s:.0f}s")


def test_whole_finds_the_shared_prompt_prefix_evaluated(tmp_path):
    """The system text, the pointing tool's schema and the instructions come before the letter, so
    the next letter's call finds them evaluated: checked in the server's own counter
    (llama-cpp-python's "N prefix-match hit, remaining M prompt tokens to eval")."""
    extract_result(sample(LETTERS[0]), strategy="whole", cache=False)  # samples ask no gap question
    seen = len(default_server.log.read_text().splitlines())
    second = extract_result(sample(LETTERS[1]), strategy="whole", cache=False)
    later = "\n".join(default_server.log.read_text().splitlines()[seen:])
    hit, remaining = map(int, re.search(r"(\d+) prefix-match hit, remaining (\d+) prompt tokens", later).groups())
    assert hit >= 600, "system text, tool schema and instructions: about 700 tokens, evaluated once"
    assert remaining >= 500, "the letter's own tokens are evaluated (002 from its items section on: ~870)"
    print(f"\nprefix reused: {hit} tokens; evaluated: {remaining}; {second.latency_s:.0f}s")


def test_cli_prints_the_record_and_repeat_is_cached(cache_dir):
    name = LETTERS[0]
    run = subprocess.run(
        [sys.executable, "-m", "imr_llm.cli", "extract", str(SAMPLES / f"{name}.txt"), "--strategy", "whole",
         "--cache-dir", str(cache_dir)],
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    assert decisions(json.loads(run.stdout)) == decisions(gold(name))
    assert "cached" in run.stderr


def test_per_item_fills_a_gap_and_the_repeat_reaches_no_server(tmp_path):
    """The model fills the one gap the rules leave; requests are counted at the server side of
    real HTTP (a counting proxy in front of the embedded server), not by inspecting the cache."""
    letter = unknown_treatments(sample("002_53cd04ea59152e39"))
    with CountingProxy(default_server.base_url()) as proxy:
        kwargs = {"model": default_server.alias, "base_url": proxy.base_url, "cache": tmp_path}
        first = extract_result(letter, **kwargs)
        calls = proxy.count
        second = extract_result(letter, **kwargs)
        assert calls >= 1 and proxy.count == calls
    record = first.determination
    assert first.strategy == "per_item" and first.usage.total_tokens > 0
    assert decisions(record) == ["overturned", "upheld", "upheld"]
    assert {e.path: e.source for e in record.evidence}["items.1.treatment.category"] == "model"
    assert record.ungrounded == []
    assert second.cache_hit and second.usage.total_tokens == 0 and second.attempts == 0
    assert second.determination == first.determination
    print(f"\nper_item gap: {record.items[1].treatment.category.value}, {first.usage.total_tokens} tokens")


@pytest.mark.skipif(sys.platform != "linux", reason="reads the server's command line from /proc")
def test_the_embedded_server_runs_with_the_memory_settings() -> None:
    """llama_cpp.server's defaults held 4.0 GB for a 1.1 GB model: a logits row per prompt token, the
    mapped weights beside their repacked copy, 512-token batches (issue 26). The running server's own
    command line carries the chosen settings, and its log shows llama.cpp applied them; the memory
    they save is measured by `evals/bench.py`, not here."""
    default_server.base_url()
    argv = Path(f"/proc/{default_server.pid}/cmdline").read_bytes().decode().rstrip("\0").split("\0")
    options = argv[argv.index("llama_cpp.server") + 1 :]  # --name value, each option
    given = dict(zip(options[::2], options[1::2], strict=True))
    assert {name: given.get(f"--{name}") for name in SETTINGS} == SETTINGS
    assert given["--logits_all"] == "false" and given["--use_mmap"] == "false"
    log = default_server.log.read_text()
    assert "CPU_Mapped" not in log  # the weights were read in, not mapped beside their repacked copy
    assert re.search(r"n_ubatch\s*=\s*128\b", log) and "K (q8_0)" in log and "V (f16)" in log


@pytest.mark.timeout(600)
@pytest.mark.parametrize("how", KILLS, ids=[k.name for k in KILLS])
def test_the_real_embedded_server_dies_with_its_parent_mid_completion(how: signal.Signals) -> None:
    _dies_with_its_parent("embedded", how, limit=5)


@pytest.mark.timeout(1800)
def test_prompt_lab_notebook_runs_top_to_bottom_on_the_embedded_model() -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "examples" / "prompt_lab.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=1500, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "field accuracy" in html and "<mark" in html  # the reports and the review page rendered
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot of the deltas
