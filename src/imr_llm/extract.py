"""One letter in, one validated `Determination` out.

`extract` returns the record; `extract_result` returns it with what it cost
(`ExtractionResult`); `aextract` / `aextract_result` are the async forms. Each call
checks the letter, looks in the cache, else runs the chosen strategy (`imr_llm.strategies`),
whose every model question goes through `Job.ask`: instructor's validation re-asks (bounded by
`max_reasks` and `token_budget`) inside a transport retry loop (`RetryPolicy`). It stores the
record and reports tokens, model calls, latency and whether the cache answered. Failures
raise `ExtractionError`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import openai
from instructor.core.exceptions import (
    IncompleteOutputException,
    InstructorError,
    InstructorRetryException,
    TokenBudgetError,
)
from pydantic import BaseModel, ValidationError

from imr_llm import client as clients
from imr_llm import layout, reading
from imr_llm.cache import RecordCache, cache_key
from imr_llm.errors import ConfigError, ExtractionError, shown
from imr_llm.layout import Layout
from imr_llm.prompts import Prompt, as_prompt
from imr_llm.reading import MAX_CHARS
from imr_llm.result import ExtractionResult, Usage
from imr_llm.retry import RetryPolicy, transient_cause
from imr_llm.salvage import describe
from imr_llm.schema import SCHEMA_VERSION, Determination

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
DEFAULT_STRATEGY = "per_item"


@dataclass(frozen=True)
class Options:
    """Generation and retry settings. Those in `generation()` are part of the cache key.

    `max_reasks`: re-asks when an answer fails validation; `max_checks`: re-asks when a
    `whole` answer disagrees with the letter's layout (item count, decisions, pages).
    """

    temperature: float = 0.0
    max_tokens: int = 4096
    seed: int | None = 0
    max_reasks: int = 1
    max_checks: int = 1
    token_budget: int | None = 40_000
    timeout: float = 900.0
    max_chars: int = MAX_CHARS
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def generation(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            params["seed"] = self.seed
        return params


def model_name(endpoint: clients.Endpoint, strategy: str) -> str:
    """Who answers: the endpoint's identity, or "rules" when no model is asked at all."""
    return "rules" if strategy == "rules" else endpoint.identity


PIPELINE = ("reading", "canonical", "pdftext", "layout", "rules", "normalize", "consistency", "salvage", "strategies")
"""The modules that turn a letter into a record: a change to any of them changes what is cached."""


@functools.cache
def _code_digest() -> str:
    """A hash of the pipeline's source, so a record made by other code (an upgrade, a local edit)
    is never served from the cache as if this code had made it."""
    package = Path(__file__).parent
    return cache_key(**{name: (package / f"{name}.py").read_text(encoding="utf-8") for name in PIPELINE})


@functools.cache
def _schema_digest() -> str:
    """The output contract's hash, computed once (generating the JSON schema takes milliseconds)."""
    return cache_key(version=SCHEMA_VERSION, schema=Determination.model_json_schema())


_default_caches: dict[str, RecordCache] = {}


def open_cache(cache: bool | str | Path | RecordCache | None) -> RecordCache | None:
    """`True`: the default folder; `False`: none; a path or a `RecordCache`: that one.

    A folder that cannot be used as a cache (a regular file, read-only, not a database) is a
    warning and no cache: the cache saves model calls, and its absence must not fail letters."""
    if cache is False or cache is None:
        return None
    if isinstance(cache, RecordCache):
        return cache
    where = "" if cache is True else str(cache)
    if where not in _default_caches:
        try:
            _default_caches[where] = RecordCache(where or None)
        except (OSError, sqlite3.Error) as exc:
            reason = shown(f"{type(exc).__name__}: {exc}")
            log.warning("the record cache cannot be used (%s); going on without it", reason)
            return None
    return _default_caches[where]


@dataclass
class Job:
    """One extraction in progress: its inputs, and the calls and tokens spent so far."""

    text: str
    endpoint: clients.Endpoint
    prompt: Prompt
    options: Options
    cache: RecordCache | None
    strategy: str
    started: float = field(default_factory=time.perf_counter)
    calls: int = 0
    usage: Usage = field(default_factory=Usage)

    @functools.cached_property
    def layout(self) -> Layout:
        return layout.parse(self.text)

    @functools.cached_property
    def key(self) -> str:
        return cache_key(
            endpoint=model_name(self.endpoint, self.strategy),
            mode=self.endpoint.mode,
            strategy=self.strategy,
            prompt=self.prompt.digest,
            schema=_schema_digest(),
            code=_code_digest(),
            generation=self.options.generation(),
            letter=self.text,
        )

    def cached(self) -> ExtractionResult | None:
        record = self.cache.get(self.key) if self.cache is not None else None
        return self._result(record, cache_hit=True) if record is not None else None

    def _count_call(self, *_: Any, **__: Any) -> None:
        self.calls += 1

    def ask(self, response_model: type[M], messages: list[dict[str, Any]]) -> M:
        """One answer of `response_model`, within the re-ask and transport retry bounds."""
        llm = clients.instructor_client(self.endpoint, self.options.timeout)
        llm.on("completion:kwargs", self._count_call)
        request = {
            "model": self.endpoint.model,
            "messages": messages,
            "response_model": response_model,
            "max_retries": self.options.max_reasks,
            "token_budget": self.options.token_budget,
            **self.options.generation(),
        }
        try:
            for attempt in self.options.retry.retrying():
                with attempt:
                    try:
                        answer, completion = llm.create_with_completion(**request)
                    except _RETRIED as exc:
                        self.usage += _usage_of(exc)
                        if self.endpoint.server is not None and transient_cause(exc) is not None:
                            self.endpoint.server.raise_if_crashed()  # a dead server is final, not retried
                        raise
        except _RETRIED as exc:
            kind, message = _describe(exc)
            raise ExtractionError(message, kind=kind, attempts=self.calls, usage=self.usage) from exc
        self.usage += Usage.of(getattr(completion, "usage", None))
        # A plain copy: instructor pins the raw completion on the model it returns.
        return response_model.model_validate_json(answer.model_dump_json())

    def done(self, record: Determination) -> ExtractionResult:
        if self.cache is not None:
            self.cache.set(self.key, record)
        return self._result(record, cache_hit=False)

    def _result(self, record: Determination, *, cache_hit: bool) -> ExtractionResult:
        return ExtractionResult(
            determination=record,
            model=model_name(self.endpoint, self.strategy),
            strategy=self.strategy,
            usage=self.usage,
            attempts=self.calls,
            latency_s=round(time.perf_counter() - self.started, 3),
            cache_hit=cache_hit,
            text=self.text,
        )


def _usage_of(exc: BaseException) -> Usage:
    """Tokens a failed attempt still spent (instructor keeps them on its exceptions)."""
    total = getattr(exc, "total_usage", None)
    if total is None:
        total = getattr(getattr(exc, "last_completion", None), "usage", None)
    return Usage.of(total)


def _validation_summary(exc: ValidationError) -> str:
    """Where and why validation failed, without the offending values (they are letter text)."""
    return f"answer did not fit the schema: {describe(exc)}"


def _describe(exc: Exception) -> tuple[str, str]:
    cause = transient_cause(exc)
    if cause is not None:
        return "transient", f"endpoint kept failing: {type(cause).__name__}"
    if isinstance(exc, IncompleteOutputException):
        return "truncated", "model output hit max_tokens before the record was complete"
    if isinstance(exc, TokenBudgetError):
        return "budget", str(exc).split("\n")[0]
    last = exc.__cause__
    if isinstance(exc, InstructorRetryException) and exc.failed_attempts:
        last = exc.failed_attempts[-1].exception
    if isinstance(last, ValidationError):
        return "validation", _validation_summary(last)
    api = next((e for e in (exc, exc.__cause__) if isinstance(e, openai.APIStatusError)), None)
    if api is not None:
        return "api", f"endpoint refused the request: HTTP {api.status_code} {type(api).__name__}"
    return "validation" if last else "api", f"{type(last or exc).__name__}: model answer unusable"


_RETRIED = (InstructorError, openai.OpenAIError)


def extract_result(
    text: str | bytes | os.PathLike[str],
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
    prompt: Prompt | str | Path | None = None,
    strategy: str = DEFAULT_STRATEGY,
    cache: bool | str | Path | RecordCache = True,
    options: Options | None = None,
) -> ExtractionResult:
    """Extract one letter and report what it cost. See `extract` for the arguments."""
    from imr_llm.strategies import STRATEGIES

    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    options = options or Options()
    job = Job(
        text=reading.read(text, max_chars=options.max_chars),
        endpoint=clients.resolve(model, base_url, api_key, mode),
        prompt=as_prompt(prompt),
        options=options,
        cache=open_cache(cache),
        strategy=strategy,
    )
    if hit := job.cached():
        return hit
    return job.done(STRATEGIES[strategy](job))


async def aextract_result(text: str | bytes | os.PathLike[str], **kwargs: Any) -> ExtractionResult:
    """Async `extract_result` (same arguments): runs the blocking pipeline in a worker thread."""
    return await asyncio.to_thread(extract_result, text, **kwargs)


def extract(text: str | bytes | os.PathLike[str], **kwargs: Any) -> Determination:
    """Extract one IMR letter into a validated `Determination`.

    With no `model`/`base_url` (argument or `IMR_LLM_MODEL`/`IMR_LLM_BASE_URL`) the
    embedded local model answers. `model="gpt-4.1-mini"` with `OPENAI_API_KEY` set uses
    OpenAI; add `base_url=` for vLLM, Ollama or a llama.cpp server. `prompt` is a
    packaged prompt name, a folder, or a `Prompt`; `cache=False` turns the cache off.
    `strategy` is `per_item` (default), `whole` or `rules` (see `imr_llm.strategies`).
    `text` is the letter as text, bytes (UTF-8 or Windows-1252 text, or a PDF) or a file path;
    it is read into canonical text first (`imr_llm.reading`), which `ExtractionResult.text`
    holds and evidence offsets index. Raises `InvalidLetterError` for unusable input and `ExtractionError` when the
    model gives no valid record within the retry bounds.
    """
    return extract_result(text, **kwargs).determination


async def aextract(text: str | bytes | os.PathLike[str], **kwargs: Any) -> Determination:
    """Async `extract`."""
    return (await aextract_result(text, **kwargs)).determination
