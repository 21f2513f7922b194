"""Run an evaluation: extract every letter (through the cache), score it, describe the run.

Each letter is given to `extract_result` as its file, so it is read exactly as `extract` reads it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from imr_llm import client as clients
from imr_llm.errors import ImrLlmError
from imr_llm.evals.dataset import Case, load
from imr_llm.evals.report import Report
from imr_llm.evals.score import LetterScore, score_letter, summarise
from imr_llm.extract import DEFAULT_STRATEGY, Options, extract_result, model_name
from imr_llm.prompts import Prompt, as_prompt
from imr_llm.result import ExtractionResult
from imr_llm.schema import SCHEMA_VERSION


def evaluate(
    cases: list[Case],
    *,
    model: str | None = None,
    base_url: str | None = None,
    mode: str | None = None,
    prompt: Prompt | str | Path | None = None,
    strategy: str = DEFAULT_STRATEGY,
    cache: bool | str | Path = True,
    options: Options | None = None,
    on_letter: Callable[[dict[str, Any]], None] | None = None,
    on_record: Callable[[Case, ExtractionResult], None] | None = None,
) -> Report:
    """Extract and score each case; a failed extraction scores as misses and is listed.

    `on_letter` is called with each letter's run summary as it finishes (progress for long runs);
    `on_record` with each case and its extraction (e.g. to write review pages of `result.text`).
    """
    prompt = as_prompt(prompt)
    endpoint = clients.resolve(model, base_url, None, mode)
    letters: list[LetterScore] = []
    runs: list[dict[str, Any]] = []
    started = time.perf_counter()
    for case in cases:
        try:
            result = extract_result(
                case.path,
                model=model,
                base_url=base_url,
                mode=mode,
                prompt=prompt,
                strategy=strategy,
                cache=cache,
                options=options,
            )
        except ImrLlmError as exc:
            letters.append(score_letter(case.name, None, case.gold, error=f"{type(exc).__name__}: {exc}"))
            runs.append({"letter": case.name, "ok": False, "error": letters[-1].error})
            if on_letter:
                on_letter(runs[-1])
            continue
        letters.append(score_letter(case.name, result.determination, case.gold))
        if on_record:
            on_record(case, result)
        runs.append({
            "letter": case.name,
            "ok": True,
            "tokens": result.usage.total_tokens,
            "calls": result.attempts,
            "seconds": result.latency_s,
            "cache_hit": result.cache_hit,
        })  # fmt: skip
        if on_letter:
            on_letter(runs[-1])
    summary = summarise(letters)
    done = [r for r in runs if r["ok"]]
    return Report({
        "meta": {
            "model": model_name(endpoint, strategy),
            "strategy": strategy,
            "mode": endpoint.mode,
            "prompt": prompt.name,
            "prompt_sha256": prompt.digest,
            "schema_version": SCHEMA_VERSION,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "letters": len(cases),
            "failed": len(runs) - len(done),
            "cache_hits": sum(r["cache_hit"] for r in done),
            "tokens": sum(r["tokens"] for r in done),
            "seconds": round(time.perf_counter() - started, 2),
            "tokens_per_letter": round(sum(r["tokens"] for r in done) / len(done), 1) if done else None,
            "seconds_per_letter": round(sum(r["seconds"] for r in done) / len(done), 2) if done else None,
        },
        "summary": asdict(summary),
        "letters": [{**run, "score": letter.score} for run, letter in zip(runs, letters, strict=True)],
    })  # fmt: skip


def evaluate_folders(samples: Path | str, gold: Path | str | Sequence[Path | str], **kwargs: Any) -> Report:
    """`evaluate` over a samples folder and one or more gold folders (the first holding a record wins)."""
    return evaluate(load(samples, gold), **kwargs)
