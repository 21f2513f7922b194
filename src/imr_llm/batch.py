"""Many letters: one extractor, one bounded concurrency loop, streamed JSONL output, resumable, nothing lost.

`extract_many` resolves one `Extractor` for the whole run (a bad prompt, strategy or endpoint
fails before any letter; an unusable cache is one warning and a run without it), locks the
output files (`imr_llm.rows.Output`: a second run on the same file fails at once rather than
writing every letter twice), finds the letters (`imr_llm.sources`), skips those an earlier run
already wrote (`imr_llm.rows.plan`), and extracts the rest in `run`: `concurrency` worker
threads (model calls are network I/O, so threads overlap them; the endpoint sees that many
requests at once), with at most twice that many letters handed to the pool, so a million
letters never become a million futures. Each letter's row is appended to the output as one
complete line in a single `write`, from the worker that finished it, so a crash or Ctrl-C
leaves only whole lines (`imr_llm.files`). Failures — a file that cannot be read among them —
go to a separate errors file and never stop the batch. A batch that shows a progress bar
(`run(progress=True)`, as the CLI's does) shows one more per scanned letter while OCR reads its pages.

`aextract_many` is the same loop stepped from a worker thread: one window rule for both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imr_llm.errors import ConfigError, ImrLlmError
from imr_llm.extract import Extractor, one_extractor
from imr_llm.result import Usage
from imr_llm.rows import Outcome, Output, Plan, errors_path, plan
from imr_llm.sources import Letter, discover, refuse_as_output

__all__ = [
    "Outcome", "Output", "Tally", "aextract_many", "check_concurrency", "extract_many", "extract_one", "prepare", "run",
]  # fmt: skip


def check_concurrency(concurrency: int) -> int:
    """`concurrency` if it can run letters (at least one at a time), else `ConfigError`."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a whole number of at least 1, not {concurrency!r}")
    return concurrency


def extract_one(letter: Letter, extractor: Extractor, *, progress: bool = False) -> Outcome:
    """Read and extract one letter; any expected failure becomes the outcome, not an exception.
    `progress`: a bar on stderr for the pages OCR reads (a scanned letter's)."""
    try:
        return Outcome(letter, result=extractor.run(letter.path, progress=progress))
    except (ImrLlmError, OSError) as exc:
        return Outcome(letter, error=exc)


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
    notes: list[str] = field(default_factory=list)
    """What the run passed over besides failures (files that are not letters …), for the summary."""

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
        ) + "".join(f"; {note}" for note in self.notes)


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
    extractor: Extractor | None = None,
    **kwargs: Any,
) -> Iterator[Outcome]:
    """Extract every letter in `inputs` (files, folders, globs), yielding outcomes as they finish.

    With `out`, each record is appended to that JSONL file as it finishes and failures to
    `errors` (default `<out>.errors.jsonl`); letters already in `out` are skipped, and with
    `retry_failed` only the recorded failures are tried again. Give an `extractor`, or the
    keyword arguments of `Extractor.resolve` (model, base_url, strategy, cache, options …).
    Raises, on the call itself and before any file is created, `ConfigError` (a concurrency under
    1; `PromptError` for a prompt that cannot be loaded) and `OutputPathError` (an output a run
    over these inputs would read as a letter); `OutputBusyError` when another run is writing `out`,
    before any letter is tried.
    """
    check_concurrency(concurrency)
    extractor = one_extractor(extractor, kwargs)
    inputs = list(inputs)
    outputs = [out, errors or (out and errors_path(out))]
    refuse_as_output(outputs, [x.path if isinstance(x, Letter) else x for x in inputs])
    return _extract_many(inputs, concurrency, out, errors, retry_failed, extractor)


def _extract_many(
    inputs: list[str | Path | Letter],
    concurrency: int,
    out: str | Path | None,
    errors: str | Path | None,
    retry_failed: bool,
    extractor: Extractor,
) -> Iterator[Outcome]:
    with Output(out, errors) as output:
        todo = prepare(inputs, output, retry_failed)
        yield from run(todo.todo, extractor, concurrency=concurrency, output=output)


def run(
    letters: Iterable[Letter],
    extractor: Extractor,
    *,
    concurrency: int = 4,
    output: Output | None = None,
    progress: bool = False,
) -> Iterator[Outcome]:
    """Extract `letters` (no skipping) with at most `concurrency` in flight, each outcome written
    to `output` as it ends. `progress`: each scanned letter shows a bar of its OCR'd pages on stderr."""
    check_concurrency(concurrency)
    sink = output.write if output is not None else (lambda outcome: outcome)
    pending = iter(letters)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="imr-llm")
    in_flight: set[Future[Outcome]] = set()

    def top_up() -> None:  # a bounded window: a million letters never become a million futures
        for letter in pending:
            in_flight.add(pool.submit(lambda one: sink(extract_one(one, extractor, progress=progress)), letter))
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
    extractor: Extractor | None = None,
    **kwargs: Any,
) -> AsyncIterator[Outcome]:
    """Async `extract_many` (same arguments): an async iterator of outcomes as they finish.

    It steps `extract_many` from one worker thread of its own, so the event loop never blocks
    and both forms keep the same concurrency bound. Stopping early (a `break`, a cancelled task)
    stops sending letters; those in flight finish and are written, as when a caller of
    `extract_many` stops iterating."""
    outcomes = extract_many(inputs, concurrency=concurrency, out=out, errors=errors, retry_failed=retry_failed,
                            extractor=extractor, **kwargs)  # fmt: skip
    loop = asyncio.get_running_loop()
    finished = object()
    # One thread of its own steps the generator: a generator may not run in two threads at once.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imr-llm-steps") as steps:
        try:
            while (outcome := await loop.run_in_executor(steps, next, outcomes, finished)) is not finished:
                yield outcome  # type: ignore[misc]
        finally:
            await asyncio.shield(loop.run_in_executor(steps, outcomes.close))
