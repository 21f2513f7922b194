"""Run an evaluation: extract every letter (through the cache), score it, describe the run.

One `Extractor` is resolved for the run (a bad prompt, strategy or endpoint fails before any
letter), and each letter is given to it as its file, so it is read exactly as `extract` reads it.
The result is a typed `Report` (`imr_llm.evals.report`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from imr_llm.errors import ImrLlmError
from imr_llm.evals.dataset import Case, load
from imr_llm.evals.report import LetterRun, Meta, Report
from imr_llm.evals.score import LetterScore, score_letter, summarise
from imr_llm.extract import Extractor, one_extractor
from imr_llm.result import ExtractionResult
from imr_llm.schema import SCHEMA_VERSION


def evaluate(
    cases: list[Case],
    *,
    extractor: Extractor | None = None,
    on_letter: Callable[[LetterRun], None] | None = None,
    on_record: Callable[[Case, ExtractionResult], None] | None = None,
    **settings: Any,
) -> Report:
    """Extract and score each case; a failed extraction scores as misses and is listed.

    Give an `extractor`, or the keyword arguments of `Extractor.resolve` (model, base_url, mode,
    prompt, strategy, cache, options). `on_letter` is called with each letter's `LetterRun` as it
    finishes (progress for long runs); `on_record` with each case and its extraction (e.g. to
    write review pages of `result.text`).
    """
    extractor = one_extractor(extractor, settings)
    scores: list[LetterScore] = []
    runs: list[LetterRun] = []
    started = time.perf_counter()
    for case in cases:
        try:
            result = extractor.run(case.path)
        except ImrLlmError as exc:
            scores.append(score_letter(case.name, None, case.gold, error=f"{type(exc).__name__}: {exc}"))
            runs.append(LetterRun(letter=case.name, ok=False, error=scores[-1].error, score=scores[-1].score))
        else:
            scores.append(score_letter(case.name, result.determination, case.gold))
            if on_record:
                on_record(case, result)
            runs.append(LetterRun(letter=case.name, ok=True, tokens=result.usage.total_tokens,
                                  calls=result.attempts, seconds=result.latency_s, cache_hit=result.cache_hit,
                                  score=scores[-1].score))  # fmt: skip
        if on_letter:
            on_letter(runs[-1])
    return Report(meta=_meta(extractor, runs, time.perf_counter() - started), summary=summarise(scores), letters=runs)


def _meta(extractor: Extractor, runs: list[LetterRun], seconds: float) -> Meta:
    done = [r for r in runs if r.ok]
    tokens = sum(r.tokens or 0 for r in done)
    return Meta(
        model=extractor.model,
        strategy=extractor.strategy,
        mode=extractor.endpoint.mode,
        prompt=extractor.prompt.name,
        prompt_sha256=extractor.prompt.digest,
        schema_version=SCHEMA_VERSION,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        letters=len(runs),
        failed=len(runs) - len(done),
        cache_hits=sum(bool(r.cache_hit) for r in done),
        tokens=tokens,
        seconds=round(seconds, 2),
        tokens_per_letter=round(tokens / len(done), 1) if done else None,
        seconds_per_letter=round(sum(r.seconds or 0.0 for r in done) / len(done), 2) if done else None,
    )


def evaluate_folders(samples: Path | str, gold: Path | str | Sequence[Path | str], **kwargs: Any) -> Report:
    """`evaluate` over a samples folder and one or more gold folders (the first holding a record wins)."""
    return evaluate(load(samples, gold), **kwargs)
