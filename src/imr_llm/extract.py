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

import ast
import asyncio
import functools
import importlib.util
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imr_llm import client as clients
from imr_llm import reading
from imr_llm.cache import RecordCache, cache_key
from imr_llm.canonical import CanonicalText
from imr_llm.errors import ConfigError, shown
from imr_llm.job import Asker, Job, M
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

RECORD_MAKER = "imr_llm.extract"
"""Where records are made: this module and every `imr_llm` module it imports, directly or through
another (lazy imports inside functions included), make or shape a record, and are in the cache key."""


def _imports(module: str) -> set[str]:
    """The `imr_llm` modules `module`'s source imports anywhere in it, named in full."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(_file(module).read_text(encoding="utf-8"))):  # type: ignore[union-attr]
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), module.rpartition(".")[0])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from imr_llm import layout`
    return {name for name in found if name.startswith("imr_llm.") and _file(name) is not None}


def _file(module: str) -> Path | None:
    """The source file of an `imr_llm` module, found without importing it; None for a name that
    is no module (`imr_llm.schema.Determination`)."""
    path = Path(__file__).parent.joinpath(*module.split(".")[1:])
    return next((f for f in (path.with_suffix(".py"), path / "__init__.py") if f.is_file()), None)


@functools.cache
def record_modules() -> tuple[str, ...]:
    """`RECORD_MAKER` and every `imr_llm` module it reaches by imports, found by reading their
    source (nothing is imported), so a module added to the path is covered without being listed.
    The package's `__init__` (which imports every consumer too) is not followed."""
    todo, seen = [RECORD_MAKER], {RECORD_MAKER}
    while todo:
        for name in _imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return tuple(sorted(seen))


@functools.cache
def _code_digest() -> str:
    """A hash of the source of every module that makes a record (`record_modules`), so a record
    made by other code (an upgrade, a local edit) is never served from the cache as if this code
    had made it."""
    return cache_key(**{name: _file(name).read_text(encoding="utf-8") for name in record_modules()})  # type: ignore[union-attr]


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


_MODEL_IMPORT = threading.Lock()
"""Held while the model client (instructor, openai) is first imported: worker threads importing
them at once found `openai` partially initialised."""


@dataclass(frozen=True)
class _Live:
    """Asks `endpoint` (an `Asker`). instructor and openai are imported on the first question, one
    thread at a time, so a run on `rules` (which asks none), and every CLI start, does without them."""

    endpoint: clients.Endpoint

    def __call__(self, job: Job, response_model: type[M], messages: list[dict[str, Any]]) -> M:
        with _MODEL_IMPORT:
            from imr_llm.asking import EndpointAsker
        return EndpointAsker(self.endpoint)(job, response_model, messages)


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

    def key(self, text: str, furniture: tuple[str, ...] = ()) -> str:
        """The cache key of `text`'s record under this extractor (and this code and schema); `furniture`
        is what its removed page furniture said that the record holds (`CanonicalText`: case numbers,
        pages missing)."""
        return cache_key(
            endpoint=self.model,
            mode=self.endpoint.mode,
            strategy=self.strategy,
            prompt=self.prompt.digest,
            schema=_schema_digest(),
            code=_code_digest(),
            generation=self.options.generation(),
            letter=text,
            furniture=furniture,
        )

    def run(
        self, letter: str | bytes | os.PathLike[str], *, asker: Asker | None = None, progress: bool = False
    ) -> ExtractionResult:
        """Extract one letter (text, bytes or a file path). Questions go to the endpoint, or to
        `asker` when given (answers that came some other way, e.g. a Batch API download).
        `progress`: a bar on stderr for each page read by OCR (a batch with a bar of its own)."""
        read = reading.read_letter(letter, max_chars=self.options.max_chars, ocr=self.options.ocr, progress=progress)
        text = read.text
        job = Job(text=text, prompt=self.prompt, options=self.options, asker=asker or _Live(self.endpoint))
        cache = self.cache
        furniture = (*read.letter.footer_case_numbers, *map(str, read.letter.pages_missing))
        key = self.key(text, furniture) if cache is not None else ""
        if cache is not None and (record := cache.get(key)) is not None:
            return self._result(job, record, read.provenance, cache_hit=True)
        record = _with_furniture(STRATEGIES[self.strategy](job), read.letter)
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


def _with_furniture(record: Determination, read: CanonicalText) -> Determination:
    """The record with the case number only its running footers state (the state posts letters with
    page 1 redacted, so the footer is the one place it is written), and with a doubt where its footers
    state different case numbers (letters of two cases in one file) or count pages it does not hold."""
    if record.case_number is None and read.footer_case_number is not None:
        record = record.model_copy(update={"case_number": read.footer_case_number})
    reasons = []
    if read.footers_disagree:
        reasons.append(
            f"letter: its running footers state {len(read.footer_case_numbers)} different case numbers "
            "(letters of different cases in one file?)"
        )
    if read.pages_missing:
        reasons.append(
            f"letter: its page counters say page(s) {', '.join(map(str, read.pages_missing))} exist, "
            "and the file does not hold them (a letter cut short)"
        )
    return flagged(record, reasons)


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
