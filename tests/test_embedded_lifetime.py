"""The embedded server never outlives the process that started it, and a crash is reported at once.

Each test runs real processes over real loopback HTTP with the stand-in server
(tests/stand_in_server.py); `test_model.py` runs the same parent-death check on the real llama.cpp
server with the embedded model.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import sample
from imr_llm import Options, RetryPolicy, embedded, extract_result
from imr_llm.errors import EmbeddedModelError
from stand_in_server import StandInServer

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _child_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Server children run `python -m stand_in_server`: put this folder on their path. Stand-in
    servers keep their logs in a temporary cache folder (the real model stays in the shared one)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    if request.node.get_closest_marker("model") is None:
        monkeypatch.setenv("IMR_LLM_CACHE_DIR", str(tmp_path))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return sys.platform != "linux"


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def gone_within(pid: int, port: int, seconds: float) -> float | None:
    """Seconds until the server's process is gone and its port closed, or None if it outlived `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if not alive(pid) and port_free(port):
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def test_a_server_that_crashes_while_answering_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    server = StandInServer("crash")
    monkeypatch.setattr(embedded, "default_server", server)
    patient = Options(retry=RetryPolicy(max_attempts=5, max_seconds=120, initial_wait=2), timeout=30)
    started = time.monotonic()
    try:
        with pytest.raises(EmbeddedModelError, match=r"crashed \(SIGSEGV\) while answering; see .*embedded-server"):
            extract_result(sample("001_63c5b1a966744848"), strategy="whole", cache=False, options=patient)
        assert time.monotonic() - started < 10  # not five retries with backoff
        log = Path(str(server._log))
        assert log.is_file()  # kept for the user to read
        with pytest.raises(EmbeddedModelError, match="crashed"):  # stays down: not restarted per letter
            server.base_url()
    finally:
        server.stop()


CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    import httpx
    from imr_llm.embedded import default_server
    kind = sys.argv[1]
    if kind == "stand-in":
        from stand_in_server import StandInServer
        server = StandInServer("hang")
    else:
        server = default_server
    url = server.base_url()
    print(json.dumps({"pid": server.pid, "url": url}), flush=True)
    request = {"model": server.alias, "max_tokens": 2000, "temperature": 0,
               "messages": [{"role": "user", "content": "Count from 1 to 5000, one number a line."}]}
    ask = lambda: httpx.post(url + "/chat/completions", json=request, timeout=600)  # noqa: E731
    threading.Thread(target=ask, daemon=True).start()
    time.sleep(float(sys.argv[2]))  # the server is now busy in a completion
    print("busy", flush=True)
    time.sleep(600)
    """
)


def start_parent(kind: str) -> tuple[subprocess.Popen[str], int, int]:
    """A child Python process that starts a server and keeps it busy; returns it, the server's pid and port."""
    settle = "0.5" if kind == "stand-in" else "3"  # the model takes a moment to start decoding
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, settle], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    started = json.loads(proc.stdout.readline())
    assert proc.stdout.readline().strip() == "busy"
    return proc, started["pid"], urlparse(started["url"]).port or 0


KILLS = [signal.SIGTERM, signal.SIGKILL]


def _dies_with_its_parent(kind: str, how: signal.Signals, limit: float) -> None:
    proc, pid, port = start_parent(kind)
    try:
        assert alive(pid) and not port_free(port)
        os.kill(proc.pid, how)
        proc.wait(timeout=30)
        took = gone_within(pid, port, limit)
        assert took is not None, f"server {pid} still running {limit}s after its parent got {how.name}"
        print(f"\n{kind}: server gone {took:.2f}s after the parent's {how.name}")
    finally:
        proc.kill()
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", KILLS, ids=[k.name for k in KILLS])
def test_the_server_dies_with_its_parent_even_mid_completion(how: signal.Signals) -> None:
    _dies_with_its_parent("stand-in", how, limit=3)


def test_stop_ends_a_server_busy_in_a_completion() -> None:
    server = StandInServer("hang")
    url = server.base_url()
    pid, port = server.pid, urlparse(url).port or 0
    assert pid is not None
    subprocess.Popen(  # a client of its own keeps the server busy
        [sys.executable, "-c", f"import httpx; httpx.post({url + '/chat/completions'!r}, json={{}}, timeout=60)"],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    assert gone_within(pid, port, 1) is not None
