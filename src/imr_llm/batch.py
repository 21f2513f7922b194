"""Many letters: bounded concurrency, streamed JSONL output, resumable, nothing lost.

`extract_many` loads the prompt and opens the cache once (a bad prompt fails before any
letter; an unusable cache is one warning and a run without it), locks the output files
(`Output`: a second run on the same file fails at once rather than writing every letter
twice), finds the letters (`imr_llm.sources`), skips those an earlier run already wrote, and
extracts the rest on `concurrency` worker threads (model calls are network I/O, so threads
overlap them; the endpoint sees that many requests at once). Each letter's row is appended
to the output as one complete line in a single `write`, from the worker that finished it,
so a crash or Ctrl-C leaves only whole lines (`imr_llm.files`). Failures — a file that
cannot be read among them — go to a separate errors file and never stop the batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imr_llm.errors import ImrLlmError
from imr_llm.extract import extract_result, open_cache
from imr_llm.files import JsonlLog, read_rows
from imr_llm.prompts import as_prompt
from imr_llm.result import ExtractionResult, Usage
from imr_llm.sources import Letter, discover


@dataclass(frozen=True)
class Outcome:
    """One letter's end in a batch: a result, or the error that stopped it."""

    letter: Letter
    result: ExtractionResult | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    def row(self) -> dict[str, Any]:
        """The JSONL row: the letter's identity, then the record and its cost, or the error."""
        row: dict[str, Any] = {"id": self.letter.id, "sha256": self.letter.sha256, "source": str(self.letter.path)}
        if self.result is not None:
            r = self.result
            row |= {"ok": True, "model": r.model, "strategy": r.strategy, "usage": r.usage.model_dump(),
                    "attempts": r.attempts, "latency_s": r.latency_s, "cache_hit": r.cache_hit,
                    "determination": r.determination.model_dump(mode="json")}  # fmt: skip
        else:
            error = {"type": type(self.error).__name__, "message": str(self.error)}
            if kind := getattr(self.error, "kind", None):
                error["kind"] = kind
            row |= {"ok": False, "error": error}
        return row


def extract_one(letter: Letter, **kwargs: Any) -> Outcome:
    """Read and extract one letter; any expected failure becomes the outcome, not an exception."""
    try:
        return Outcome(letter, result=extract_result(letter.path, **kwargs))
    except (ImrLlmError, OSError) as exc:
        return Outcome(letter, error=exc)


def errors_path(out: str | Path) -> Path:
    """Where failures go by default: `results.jsonl` -> `results.errors.jsonl`."""
    out = Path(out)
    return out.with_name(f"{out.stem}.errors{out.suffix or '.jsonl'}")


@dataclass
class Plan:
    """What a run will do: `todo`, and what it skips because an earlier run did it."""

    todo: list[Letter]
    done: int = 0
    failed_before: int = 0


def plan(letters: Iterable[Letter], out: str | Path | None, errors: str | Path | None, retry_failed: bool) -> Plan:
    """Letters still to extract. A letter counts as done when the last row with its id in `out`
    has its content hash (the row `export` keeps); a changed file is done again. Earlier failures
    (the last row per id in `errors`) are skipped, or with `retry_failed` are the only letters tried."""
    done = {(r["id"], r.get("sha256")) for r in read_rows(out) if r.get("ok")} if out else set()
    failed = {(r["id"], r.get("sha256")) for r in read_rows(errors) if not r.get("ok")} if errors else set()
    result = Plan(todo=[])
    for letter in letters:
        key = (letter.id, letter.sha256)
        if key in done:
            result.done += 1
        elif key in failed and not retry_failed:
            result.failed_before += 1
        elif key in failed or not retry_failed:
            result.todo.append(letter)
    return result


@dataclass
class Tally:
    """Running totals for progress lines and the end-of-run summary."""

    ok: int = 0
    failed: int = 0
    needs_review: int = 0
    """Records extracted with a reason for a person to check them (`Determination.needs_review`)."""
    cache_hits: int = 0
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.perf_counter)

    def add(self, outcome: Outcome) -> None:
        if outcome.result is None:
            self.failed += 1
            return
        self.ok += 1
        self.needs_review += bool(outcome.result.determination.needs_review)
        self.cache_hits += outcome.result.cache_hit
        self.calls += outcome.result.attempts
        self.usage += outcome.result.usage

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def per_minute(self) -> float:
        return 60 * (self.ok + self.failed) / max(self.seconds, 1e-9)

    def summary(self) -> str:
        return (
            f"{self.ok} extracted, {self.failed} failed, {self.needs_review} need review "
            f"in {self.seconds:.1f}s ({self.per_minute:.1f} letters/min); "
            f"{self.usage.prompt_tokens:,} prompt + {self.usage.completion_tokens:,} completion tokens "
            f"in {self.calls} model call(s); {self.cache_hits} from the cache"
        )


class Output:
    """Where a run's rows go: records to `out`, failures to `errors` (by default beside `out`).

    Both files are locked while it is open: a second run on either fails at once with
    `OutputBusyError`. With neither, rows are only yielded."""

    def __init__(self, out: str | Path | None, errors: str | Path | None = None) -> None:
        self.out = Path(out) if out else None
        self.errors = Path(errors) if errors else (errors_path(out) if out else None)
        self._good: JsonlLog | None = None
        self._bad: JsonlLog | None = None
        try:
            self._good = JsonlLog(self.out) if self.out else None
            self._bad = JsonlLog(self.errors) if self.errors else None
        except BaseException:
            self.close()
            raise

    def write(self, outcome: Outcome) -> Outcome:
        rows = self._good if outcome.ok else self._bad
        if rows is not None:
            rows.write(outcome.row())
        return outcome

    def close(self) -> None:
        for rows in (self._good, self._bad):
            if rows is not None:
                rows.close()

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def settled(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`extract_result` arguments with the prompt loaded and the cache opened once for a whole
    run: a bad prompt raises `PromptError` before any letter is tried, and a cache that cannot
    be used is one warning and a run without it, not a failure for every letter."""
    return kwargs | {"prompt": as_prompt(kwargs.get("prompt")), "cache": open_cache(kwargs.get("cache", True))}


def prepare(inputs: Iterable[str | Path | Letter], output: Output, retry_failed: bool) -> Plan:
    """A run's plan over `inputs` (letters, or paths to find them under; each skipped folder is
    logged) against what `output` already holds."""
    items = list(inputs)
    letters = [x for x in items if isinstance(x, Letter)] + discover(x for x in items if not isinstance(x, Letter))
    return plan(letters, output.out, output.errors, retry_failed)


def extract_many(
    inputs: Iterable[str | Path | Letter],
    *,
    concurrency: int = 4,
    out: str | Path | None = None,
    errors: str | Path | None = None,
    retry_failed: bool = False,
    **kwargs: Any,
) -> Iterator[Outcome]:
    """Extract every letter in `inputs` (files, folders, globs), yielding outcomes as they finish.

    With `out`, each record is appended to that JSONL file as it finishes and failures to
    `errors` (default `<out>.errors.jsonl`); letters already in `out` are skipped, and with
    `retry_failed` only the recorded failures are tried again. Other keyword arguments go to
    `extract_result` (model, base_url, strategy, cache, options …). Raises `PromptError` for a
    prompt that cannot be loaded and `OutputBusyError` when another run is writing `out`, both
    before any letter is tried.
    """
    kwargs = settled(kwargs)
    with Output(out, errors) as output:
        todo = prepare(inputs, output, retry_failed)
        yield from run(todo.todo, concurrency=concurrency, output=output, **kwargs)


def run(
    letters: list[Letter],
    *,
    concurrency: int = 4,
    output: Output | None = None,
    **kwargs: Any,
) -> Iterator[Outcome]:
    """Extract `letters` (no skipping) with at most `concurrency` in flight, each outcome written
    to `output` as it ends."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    sink = output.write if output is not None else (lambda outcome: outcome)
    pending = iter(letters)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="imr-llm")
    in_flight: set[Future[Outcome]] = set()

    def top_up() -> None:  # a bounded window: a million letters never become a million futures
        for letter in pending:
            in_flight.add(pool.submit(lambda one: sink(extract_one(one, **kwargs)), letter))
            if len(in_flight) >= 2 * concurrency:
                break

    interrupted = False
    try:
        top_up()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            in_flight.difference_update(finished)
            top_up()
            for future in finished:
                yield future.result()
    except BaseException as exc:
        interrupted = not isinstance(exc, GeneratorExit)
        raise
    finally:
        # The caller stopped iterating: letters in flight finish and are written. An interrupt
        # (Ctrl-C, SIGTERM) stops now: the output's owner closes it once the line being written is
        # finished, and letters in flight are abandoned unwritten (a rerun does them; a record that
        # completes anyway is in the cache). Unsent letters are never started.
        pool.shutdown(wait=not interrupted, cancel_futures=True)


async def aextract_many(
    inputs: Iterable[str | Path | Letter],
    *,
    concurrency: int = 4,
    out: str | Path | None = None,
    errors: str | Path | None = None,
    retry_failed: bool = False,
    **kwargs: Any,
) -> AsyncIterator[Outcome]:
    """Async `extract_many` (same arguments): an async iterator of outcomes as they finish."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    kwargs = settled(kwargs)
    with Output(out, errors) as output:
        todo = prepare(inputs, output, retry_failed)
        pending = iter(todo.todo)
        running: set[asyncio.Task[Outcome]] = set()

        async def one(letter: Letter) -> Outcome:
            return output.write(await asyncio.to_thread(extract_one, letter, **kwargs))

        def top_up() -> None:  # at most `concurrency` letters in flight, whatever the corpus size
            for letter in pending:
                running.add(asyncio.ensure_future(one(letter)))
                if len(running) >= concurrency:
                    break

        try:
            top_up()
            while running:
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running.difference_update(finished)
                top_up()
                for task in finished:
                    yield task.result()
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
