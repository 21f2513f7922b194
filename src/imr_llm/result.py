"""What one extraction cost, next to the record it produced."""

from __future__ import annotations

import html
from typing import Any

from pydantic import BaseModel

from imr_llm.schema import Determination


class Usage(BaseModel):
    """Tokens spent by new model calls (zero for a cache hit)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, usage: Any) -> Usage:
        """From an OpenAI `CompletionUsage` (or None, for endpoints that report none)."""
        if usage is None:
            return cls()
        return cls(
            prompt_tokens=usage.prompt_tokens or 0,
            completion_tokens=usage.completion_tokens or 0,
            total_tokens=usage.total_tokens or 0,
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class ExtractionResult(BaseModel):
    """A record and its cost: tokens (summed over retries), model calls, latency, cache hit.

    `text` is the letter's canonical text (`imr_llm.reading`), the text evidence offsets index
    and review pages show. Rows and the record cache store the record, never this text."""

    determination: Determination
    model: str
    strategy: str
    usage: Usage
    attempts: int
    latency_s: float
    cache_hit: bool
    text: str

    def summary(self) -> str:
        """One line: items, strategy, model, tokens, calls, seconds, and whether the cache answered."""
        cost = f"{self.usage.total_tokens} tokens in {self.attempts} call(s) · {self.latency_s:.2f}s"
        cached = " · cached" if self.cache_hit else ""
        return f"{len(self.determination.items)} item(s) · {self.strategy} · {self.model} · {cost}{cached}"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>{self.determination._repr_html_()}"
