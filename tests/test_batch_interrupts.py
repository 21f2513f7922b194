"""A batch stopped by SIGKILL, Ctrl-C or SIGTERM while letters are in flight: whole lines, a prompt
and conventional exit, and a rerun that finishes every letter exactly once (real CLI processes)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLES, gold_reply, slow
from imr_llm.rows import read_rows

NAMES = sorted(p.stem for p in SAMPLES.glob("*.txt"))


def _foreground() -> None:
    """Ctrl-C as in a terminal: a background job of a non-interactive shell (CI, nohup … &)
    inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "imr_llm.cli", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_foreground)


KILLS = [signal.SIGKILL, signal.SIGINT, signal.SIGTERM]


@pytest.mark.parametrize("how", KILLS, ids=[k.name for k in KILLS])
def test_killed_run_leaves_whole_lines_and_a_rerun_finishes(tmp_path: Path, fake, how: signal.Signals) -> None:
    letters = tmp_path / "letters"
    letters.mkdir()
    for n in range(12):
        shutil.copy(SAMPLES / f"{NAMES[n % 5]}.txt", letters / f"{n:02d}.txt")
    # Four quick answers, then a model that takes 30 s: the stop comes while letters are in flight.
    fake.queue(*[slow(gold_reply, 0.4)] * 4, slow(gold_reply, 30))
    out = tmp_path / "results.jsonl"
    args = [str(letters), "--out", str(out), "--model", "m", "--base-url", fake.base_url,
            "--strategy", "whole", "--no-cache", "--concurrency", "2", "--quiet"]  # fmt: skip
    proc = _cli("extract", *args)
    deadline = time.monotonic() + 60
    while len(list(read_rows(out))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, how)
    stopped = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    if how != signal.SIGKILL:  # stopped cleanly, promptly, with the shell's status
        assert proc.returncode == 128 + how, err
        assert time.monotonic() - stopped < 5
    rows = [json.loads(line) for line in out.read_text().splitlines()]  # nothing torn
    assert 3 <= len(rows) < 12
    fake.replies[:] = [slow(gold_reply, 0.05)]
    proc = _cli("extract", *args)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == [f"{n:02d}.txt" for n in range(12)]  # each once: nothing lost, nothing twice
