"""One letter in, one validated `Determination` out, by an `Extractor` resolved once.

An `Extractor` holds everything a run decides before its first letter: the endpoint
(`imr_llm.client.resolve`), the prompt (loaded), the strategy (checked against
`imr_llm.strategies.STRATEGIES`), the record cache (opened) and the `Options`. `extract_many`,
the eval, the Batch API path and the CLI each build one and share it across letters, so a bad
prompt or strategy fails before any letter and nothing is resolved twice.

`Extractor.run` reads a letter into canonical text (`imr_llm.reading`; a scan by OCR), looks in the cache,
else runs the strategy on a `Job` whose questions go to the live endpoint
(`imr_llm.asking.EndpointAsker`) or to a given asker (the Batch API's downloaded answers), and
stores the record. It reports tokens, model calls, latency, whether the cache answered and where
the text came from (`ExtractionResult.provenance`); a record read by OCR with low confidence gets a
reason in `needs_review`, added after the cache (it belongs to the scan, not to the text).
Failures raise `InvalidLetterError` or `ExtractionError`.

`extract` / `extract_result` / `aextract` / `aextract_result` are the one-letter keyword API
over a fresh `Extractor`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imr_llm import client as clients
from imr_llm import reading
from imr_llm.cache import RecordCache, cache_key
from imr_llm.errors import ConfigError, shown
from imr_llm.job import Asker, Job
from imr_llm.ocr import doubts
from imr_llm.options import Options
from imr_llm.prompts import Prompt, as_prompt
from imr_llm.result import ExtractionResult, Provenance
from imr_llm.schema import SCHEMA_VERSION, Determination
from imr_llm.strategies import STRATEGIES, flagged

__all__ = [
    "DEFAULT_STRATEGY",
    "Extractor",
    "Options",
    "aextract",
    "aextract_result",
    "extract",
    "extract_result",
    "one_extractor",
]

log = logging.getLogger(__name__)
DEFAULT_STRATEGY = "per_item"

PIPELINE = (
    "reading",
    "canonical",
    "pdftext",
    "layout",
    "rules",
    "normalize",
    "consistency",
    "salvage",
    "fields",
    "paths",
    "strategies",
    "pointers",
    "questions",
    "job",
)
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


def _live(endpoint: clients.Endpoint) -> Asker:
    """The asker that calls `endpoint`; instructor and openai are imported with it, on the first
    letter that needs a model, so a run on `rules` (and every CLI start) does without them."""
    from imr_llm.asking import EndpointAsker

    return EndpointAsker(endpoint)


@dataclass(frozen=True)
class Extractor:
    """Endpoint, prompt, strategy, cache and options, resolved once and shared by every letter."""

    endpoint: clients.Endpoint
    prompt: Prompt
    strategy: str
    cache: RecordCache | None
    options: Options

    @classmethod
    def resolve(
        cls,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str | None = None,
        prompt: Prompt | str | Path | None = None,
        strategy: str = DEFAULT_STRATEGY,
        cache: bool | str | Path | RecordCache | None = True,
        options: Options | None = None,
    ) -> Extractor:
        """Check and load everything a run depends on. Raises `ConfigError` for an unknown strategy
        or endpoint settings that cannot work and `PromptError` for a prompt that cannot be loaded;
        a cache that cannot be used is one warning and no cache (`open_cache`)."""
        if strategy not in STRATEGIES:
            raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        return cls(
            endpoint=clients.resolve(model, base_url, api_key, mode),
            prompt=as_prompt(prompt),
            strategy=strategy,
            cache=open_cache(cache),
            options=options or Options(),
        )

    @property
    def model(self) -> str:
        """Who answers: the endpoint's identity, or "rules" when no model is asked at all."""
        return "rules" if self.strategy == "rules" else self.endpoint.identity

    def key(self, text: str) -> str:
        """The cache key of `text`'s record under this extractor (and this code and schema)."""
        return cache_key(
            endpoint=self.model,
            mode=self.endpoint.mode,
            strategy=self.strategy,
            prompt=self.prompt.digest,
            schema=_schema_digest(),
            code=_code_digest(),
            generation=self.options.generation(),
            letter=text,
        )

    def run(
        self, letter: str | bytes | os.PathLike[str], *, asker: Asker | None = None, progress: bool = False
    ) -> ExtractionResult:
        """Extract one letter (text, bytes or a file path). Questions go to the endpoint, or to
        `asker` when given (answers that came some other way, e.g. a Batch API download).
        `progress`: a bar on stderr for each page read by OCR (a batch with a bar of its own)."""
        read = reading.read_letter(letter, max_chars=self.options.max_chars, ocr=self.options.ocr, progress=progress)
        text = read.text
        job = Job(text=text, prompt=self.prompt, options=self.options, asker=asker or _live(self.endpoint))
        cache = self.cache
        key = self.key(text) if cache is not None else ""
        if cache is not None and (record := cache.get(key)) is not None:
            return self._result(job, record, read.provenance, cache_hit=True)
        record = STRATEGIES[self.strategy](job)
        if cache is not None:
            cache.set(key, record)
        return self._result(job, record, read.provenance, cache_hit=False)

    def _result(self, job: Job, record: Determination, provenance: Provenance, *, cache_hit: bool) -> ExtractionResult:
        return ExtractionResult(
            determination=flagged(record, doubts(provenance)),
            model=self.model,
            strategy=self.strategy,
            usage=job.usage,
            attempts=job.calls,
            latency_s=round(time.perf_counter() - job.started, 3),
            cache_hit=cache_hit,
            text=job.text,
            provenance=provenance,
        )


def one_extractor(extractor: Extractor | None, settings: dict[str, Any]) -> Extractor:
    """The run's extractor: the one given, or one resolved from `Extractor.resolve`'s keyword
    arguments (the keyword API of `extract_many` and `evaluate`); never both."""
    if extractor is not None and settings:
        raise TypeError(f"give an extractor or its settings, not both ({', '.join(settings)})")
    return extractor or Extractor.resolve(**settings)


def extract_result(text: str | bytes | os.PathLike[str], **settings: Any) -> ExtractionResult:
    """Extract one letter and report what it cost. `settings` are `Extractor.resolve`'s keywords
    (model, base_url, api_key, mode, prompt, strategy, cache, options); see `extract`."""
    return Extractor.resolve(**settings).run(text)


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
