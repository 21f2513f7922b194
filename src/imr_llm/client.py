"""Which model to call and how: one OpenAI chat-completions path for every backend.

Resolution order for each setting: argument, then environment (`IMR_LLM_MODEL`,
`IMR_LLM_BASE_URL`, `OPENAI_API_KEY`, `IMR_LLM_MODE`), then the embedded default.
A key alone never sends a letter off the machine: naming a model or a base URL does.

instructor modes by backend (override with `mode=` or `IMR_LLM_MODE`):
- embedded llama.cpp and OpenAI: `tools` — llama.cpp turns a forced tool call into a
  JSON-schema grammar, so even a 1.5B model emits well-formed records;
- vLLM: `tools`; Ollama and other servers without forced tool calls: `json`.
instructor's `json_schema` mode does not work against llama_cpp.server.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import httpx
import instructor
import openai

from imr_llm import embedded
from imr_llm.errors import ConfigError

MODES = {
    "tools": instructor.Mode.TOOLS,
    "tools_strict": instructor.Mode.TOOLS_STRICT,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    """A resolved model endpoint. `identity` names it stably for cache keys and reports."""

    model: str
    mode: str
    base_url: str | None = None
    api_key: str = field(default="", repr=False)
    server: embedded.EmbeddedServer | None = field(default=None, repr=False, compare=False)

    @property
    def identity(self) -> str:
        if self.server is not None:
            return f"embedded:{self.server.model.alias}:{self.server.model.sha256[:16]}"
        return f"{self.base_url or OPENAI_BASE_URL}#{self.model}"

    def url(self) -> str | None:
        """Base URL to call; starts the embedded server on first use."""
        return self.server.base_url() if self.server is not None else self.base_url

    @property
    def instructor_mode(self) -> instructor.Mode:
        return MODES[self.mode]


def resolve(
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
) -> Endpoint:
    """Pick the endpoint from arguments, then environment, then the embedded default."""
    model = model or os.environ.get("IMR_LLM_MODEL") or None
    base_url = base_url or os.environ.get("IMR_LLM_BASE_URL") or None
    api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
    mode = (mode or os.environ.get("IMR_LLM_MODE") or "tools").lower()
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")

    if model is None and base_url is None:
        server = embedded.default_server
        return Endpoint(model=server.alias, mode=mode, api_key="embedded", server=server)
    if base_url is None and api_key is None:
        raise ConfigError(
            f"model {model!r} needs OPENAI_API_KEY (for OpenAI) or base_url= "
            "(for vLLM, Ollama, llama.cpp …); pass neither to use the embedded model"
        )
    if model is None:
        raise ConfigError(f"base_url {base_url!r} needs a model name (model= or IMR_LLM_MODEL)")
    # Local servers ignore the key, but the openai client insists on one.
    return Endpoint(model=model, mode=mode, base_url=base_url, api_key=api_key or "not-needed")


@functools.lru_cache(maxsize=16)
def _openai_client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url, api_key=api_key, max_retries=0, timeout=httpx.Timeout(timeout, connect=10.0)
    )


def instructor_client(endpoint: Endpoint, timeout: float) -> instructor.Instructor:
    """A fresh instructor wrapper (hooks are per call) over a shared, pooled openai client."""
    raw = _openai_client(endpoint.url(), endpoint.api_key, timeout)
    return instructor.from_openai(raw, mode=endpoint.instructor_mode)
