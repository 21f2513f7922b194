"""The examples run as a user would run them (the notebook, on the embedded model, is in test_model.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES

EXAMPLES = ROOT / "examples"


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_batch_folder_example_writes_jsonl_and_csv_and_resumes(tmp_path: Path) -> None:
    args = [str(EXAMPLES / "batch_folder.py"), str(SAMPLES), "--strategy", "rules", "--out", "r.jsonl"]
    env = {"IMR_LLM_CACHE_DIR": str(tmp_path / "cache")}
    first = run(*args, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 5
    assert "item rows" in first.stdout and "5 item(s)" not in first.stdout.split("this run")[1]
    again = run(*args, cwd=tmp_path, env=env)
    assert again.returncode == 0 and "this run: {} decisions, 0 failed" in again.stdout
    rows = (tmp_path / "r.items.csv").read_text().splitlines()
    assert len(rows) == 1 + sum(len(json.loads(line)["determination"]["items"]) for line in
                                (tmp_path / "r.jsonl").read_text().splitlines())  # fmt: skip


@pytest.mark.parametrize("backend", ["openai", "ollama", "vllm"])
def test_remote_example_skips_with_a_message_when_not_configured(backend: str, tmp_path: Path) -> None:
    env = {
        "OPENAI_API_KEY": "",
        "IMR_LLM_BASE_URL": "",
        "IMR_LLM_MODEL": "",
        "OLLAMA_BASE_URL": "http://127.0.0.1:9/v1",
    }
    done = run(str(EXAMPLES / "remote_endpoints.py"), backend, cwd=tmp_path, env=env)
    assert done.returncode == 0 and done.stdout.startswith(f"skipped {backend}:"), done.stderr


def test_remote_example_against_a_compatible_server(fake, tmp_path: Path) -> None:
    from conftest import gold_reply

    fake.queue(gold_reply)
    env = {"IMR_LLM_BASE_URL": fake.base_url, "IMR_LLM_MODEL": "served-model", "IMR_LLM_CACHE_DIR": str(tmp_path)}
    done = run(str(EXAMPLES / "remote_endpoints.py"), "vllm", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "served-model" in done.stdout and "- " in done.stdout


def test_quickstart_with_the_rules_strategy(tmp_path: Path) -> None:
    done = run(str(EXAMPLES / "quickstart.py"), "--strategy", "rules", cwd=tmp_path,
               env={"IMR_LLM_CACHE_DIR": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Acupuncture" in done.stdout and "0 tokens, 0 model call(s)" in done.stdout
