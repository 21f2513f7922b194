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

import contextlib
import functools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from imr_llm import embedded
from imr_llm.errors import ConfigError

if TYPE_CHECKING:  # imported when a model is first called: together ~0.9 s of every start-up
    import instructor
    import openai

MODES = {"tools": "TOOLS", "tools_strict": "TOOLS_STRICT", "json": "JSON", "md_json": "MD_JSON"}
"""Our mode names -> instructor's `Mode` members."""
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

    def turn(self) -> contextlib.AbstractContextManager[object]:
        """Held while a request is at the endpoint. The embedded server answers one request at a time
        and queues the rest, where each request's deadline (`Options.timeout`) would run while it
        waited: with `--concurrency 4` letters failed as timeouts behind three others. Requests wait
        here instead, and each deadline starts when its request is sent, so a busy batch is slower,
        never failed. Remote endpoints take requests as they come (a server that queues many,
        such as vLLM, measures its own capacity, and a busy one answers 429, which is retried)."""
        return self.server.slots if self.server is not None else contextlib.nullcontext()

    @property
    def instructor_mode(self) -> instructor.Mode:
        import instructor

        return instructor.Mode[MODES[self.mode]]


def openai_key(api_key: str | None = None) -> str | None:
    """The API key: the argument, else `OPENAI_API_KEY`, else none."""
    return api_key or os.environ.get("OPENAI_API_KEY") or None


def resolve(
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
) -> Endpoint:
    """Pick the endpoint from arguments, then environment, then the embedded default."""
    model = model or os.environ.get("IMR_LLM_MODEL") or None
    base_url = base_url or os.environ.get("IMR_LLM_BASE_URL") or None
    api_key = openai_key(api_key)
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


class _DeadlineStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, deadline: float, request: httpx.Request) -> None:
        self._stream, self._deadline, self._request = stream, deadline, request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("response not complete within the request deadline", request=self._request)
            yield chunk

    def close(self) -> None:
        self._stream.close()


class DeadlineTransport(httpx.HTTPTransport):
    """Bounds a whole request, body included, by `total` seconds.

    httpx's read timeout restarts with every chunk, so a server that trickles a byte at a
    time would hold a call for ever; this one fails it as a timeout (then retried as any
    other) once the deadline passes.
    """

    def __init__(self, total: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.total = total

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.total
        response = super().handle_request(request)
        stream = _DeadlineStream(response.stream, deadline, request)  # type: ignore[arg-type]
        return httpx.Response(response.status_code, headers=response.headers, stream=stream,
                              extensions=response.extensions, request=request)  # fmt: skip


def _require_json(response: httpx.Response) -> None:
    """A success that is not complete JSON — an HTML page from a proxy or a captive portal, a body
    cut short or garbled — or a completion with no choices, is the endpoint's failure, not the
    model's: raised here it reaches the retry loop as a connection error (retried like a 503), not
    a re-ask that would tell the model to fix an answer it never gave. The content type is not
    trusted either way: the body must parse. (This client only ever calls chat completions.)"""
    if not response.is_success:
        return
    try:
        body = json.loads(response.read())
    except ValueError as exc:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise httpx.RemoteProtocolError(f"success response is not complete JSON ({kind})",
                                        request=response.request) from exc  # fmt: skip
    if isinstance(body, dict) and body.get("object") == "chat.completion" and not body.get("choices"):
        raise httpx.RemoteProtocolError("chat completion with no choices", request=response.request)


@functools.lru_cache(maxsize=16)
def _openai_client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    import openai

    http = httpx.Client(
        transport=DeadlineTransport(total=timeout),
        timeout=httpx.Timeout(timeout, connect=10.0),
        event_hooks={"response": [_require_json]},
    )
    return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, http_client=http)


def instructor_client(endpoint: Endpoint, timeout: float) -> instructor.Instructor:
    """A fresh instructor wrapper (hooks are per call) over a shared, pooled openai client."""
    import instructor

    raw = _openai_client(endpoint.url(), endpoint.api_key, timeout)
    return instructor.from_openai(raw, mode=endpoint.instructor_mode)
