"""Many letters: bounded concurrency, streamed JSONL output, resumable, nothing lost.

`extract_many` finds the letters (`imr_llm.sources`), skips those an earlier run already
wrote, and extracts the rest on `concurrency` worker threads (model calls are network
I/O, so threads overlap them; the endpoint sees that many requests at once). Each letter's
row is appended to the output as one complete line in a single `write`, from the worker that
finished it, so a crash or Ctrl-C leaves only whole lines; a torn last line from a power cut
is cut off on the next run. Failures go to a separate errors file and never stop the batch.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imr_llm.errors import ImrLlmError
from imr_llm.extract import extract_result
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


class JsonlLog:
    """An append-only JSONL file, written one whole line per `os.write`, safe across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)  # rows hold medical data
        self._lock = threading.Lock()
        self._cut_torn_tail()

    def _cut_torn_tail(self) -> None:
        """Drop a last line without its newline (a write cut short by power loss or a full disk)."""
        size = os.fstat(self._fd).st_size
        if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(0, end - 65536)
            cut = os.pread(self._fd, end - start, start).rfind(b"\n")
            if cut >= 0:
                os.truncate(self.path, start + cut + 1)
                return
            end = start
        os.truncate(self.path, 0)

    def write(self, row: dict[str, Any]) -> None:
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL file; a missing file has none, and a torn or garbled line is skipped."""
    if not Path(path).is_file():
        return
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "id" in row:
                yield row


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
    """Letters still to extract. A letter counts as done when a row with its id and content
    hash is in `out`; a changed file is done again. Earlier failures are skipped, or with
    `retry_failed` are the only letters tried."""
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
    cache_hits: int = 0
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.perf_counter)

    def add(self, outcome: Outcome) -> None:
        if outcome.result is None:
            self.failed += 1
            return
        self.ok += 1
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
            f"{self.ok} extracted, {self.failed} failed in {self.seconds:.1f}s ({self.per_minute:.1f} letters/min); "
            f"{self.usage.prompt_tokens:,} prompt + {self.usage.completion_tokens:,} completion tokens "
            f"in {self.calls} model call(s); {self.cache_hits} from the cache"
        )


class _Sink:
    """Routes each outcome to the output or errors file (or neither, when there is none)."""

    def __init__(self, out: str | Path | None, errors: str | Path | None) -> None:
        self.out = JsonlLog(out) if out else None
        self.errors = JsonlLog(errors) if errors else None

    def __call__(self, outcome: Outcome) -> Outcome:
        log = self.out if outcome.ok else self.errors
        if log is not None:
            log.write(outcome.row())
        return outcome

    def close(self) -> None:
        for log in (self.out, self.errors):
            if log is not None:
                log.close()


def prepare(
    inputs: Iterable[str | Path | Letter], out: str | Path | None, errors: str | Path | None, retry_failed: bool
) -> tuple[Plan, Path | str | None]:
    """A run's plan over `inputs` (letters, or paths to find them under) and its errors file
    (by default beside `out`)."""
    items = list(inputs)
    letters = [x for x in items if isinstance(x, Letter)] + discover(x for x in items if not isinstance(x, Letter))
    errors = errors or (errors_path(out) if out else None)
    return plan(letters, out, errors, retry_failed), errors


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
    `extract_result` (model, base_url, strategy, cache, options …).
    """
    todo, errors = prepare(inputs, out, errors, retry_failed)
    yield from run(todo.todo, concurrency=concurrency, out=out, errors=errors, **kwargs)


def run(
    letters: list[Letter],
    *,
    concurrency: int = 4,
    out: str | Path | None = None,
    errors: str | Path | None = None,
    **kwargs: Any,
) -> Iterator[Outcome]:
    """Extract `letters` (no skipping) with at most `concurrency` in flight, writing rows as they end."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    sink = _Sink(out, errors)
    pending = iter(letters)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="imr-llm")
    in_flight: set[Future[Outcome]] = set()

    def top_up() -> None:  # a bounded window: a million letters never become a million futures
        for letter in pending:
            in_flight.add(pool.submit(lambda one: sink(extract_one(one, **kwargs)), letter))
            if len(in_flight) >= 2 * concurrency:
                break

    try:
        top_up()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            in_flight.difference_update(finished)
            top_up()
            for future in finished:
                yield future.result()
    finally:
        # On an interrupt, letters already sent finish and are written; unsent ones are not started.
        pool.shutdown(wait=True, cancel_futures=True)
        sink.close()


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
    todo, errors = prepare(inputs, out, errors, retry_failed)
    sink = _Sink(out, errors)
    pending = iter(todo.todo)
    running: set[asyncio.Task[Outcome]] = set()

    async def one(letter: Letter) -> Outcome:
        return sink(await asyncio.to_thread(extract_one, letter, **kwargs))

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
        sink.close()
