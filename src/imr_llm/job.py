"""One letter's extraction in progress: what a strategy reads, and the one door it asks through.

A strategy (`imr_llm.strategies`) gets a `Job` — the letter's canonical `text`, its `layout`,
the `prompt` and `options` — and puts every model question through `job.ask`, which counts
into `job.calls` and `job.usage`. Who answers is the job's `asker`: a live endpoint
(`imr_llm.asking.EndpointAsker`) or an answer already downloaded from the Batch API
(`imr_llm.openai_batch`), so both are read, checked and recorded by the same strategy code.

This module imports neither the extractor nor the strategies, so `extract -> strategies -> job`
has no cycle.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from imr_llm import structure
from imr_llm.layout import Layout
from imr_llm.options import Options
from imr_llm.prompts import Prompt
from imr_llm.result import Usage

M = TypeVar("M", bound=BaseModel)


class Asker(Protocol):
    """Answers one question of a job with a `response_model`, adding what it spent to the job's
    `calls` and `usage`; raises `ExtractionError` when no valid answer comes."""

    def __call__(self, job: Job, response_model: type[M], messages: list[dict[str, Any]]) -> M: ...


@dataclass
class Job:
    """One extraction in progress: its inputs, and the calls and tokens spent so far."""

    text: str
    prompt: Prompt
    options: Options
    asker: Asker
    started: float = field(default_factory=time.perf_counter)
    calls: int = 0
    usage: Usage = field(default_factory=Usage)

    @functools.cached_property
    def layout(self) -> Layout:
        return structure.parse(self.text)

    def ask(self, response_model: type[M], messages: list[dict[str, Any]]) -> M:
        """One answer of `response_model`, from whoever answers this job."""
        return self.asker(self, response_model, messages)
