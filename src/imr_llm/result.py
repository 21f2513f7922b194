"""What one extraction cost, next to the record it produced."""

from __future__ import annotations

import html
from typing import Any, Literal

from pydantic import BaseModel, Field

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


class Provenance(BaseModel):
    """Where a record's text came from, so an analyst can set apart what OCR read (not scored).

    `source`: `text` (a text file or string), `pdf` (a PDF's text layer) or `ocr` (some page of
    a PDF had no text layer and was read by OCR, `imr_llm.ocr`); for `ocr`, how many pages OCR
    read and the mean confidence of their words (0-1)."""

    source: Literal["text", "pdf", "ocr"] = "text"
    ocr_pages: int | None = None
    ocr_confidence: float | None = None


class ExtractionResult(BaseModel):
    """A record and its cost: tokens (summed over retries), model calls, latency, cache hit.

    `text` is the letter's canonical text (`imr_llm.reading`), the text evidence offsets index
    and review pages show. Rows and the record cache store the record, never this text.
    `provenance` says whether that text was typed, a PDF's text layer, or read by OCR."""

    determination: Determination
    model: str
    strategy: str
    usage: Usage
    attempts: int
    latency_s: float
    cache_hit: bool
    text: str
    provenance: Provenance = Field(default_factory=Provenance)

    def summary(self) -> str:
        """One line: items, strategy, model, tokens, calls, seconds, whether the cache answered, and OCR."""
        cost = f"{self.usage.total_tokens} tokens in {self.attempts} call(s) · {self.latency_s:.2f}s"
        cached = " · cached" if self.cache_hit else ""
        read = self.provenance
        ocr = (
            f" · OCR of {read.ocr_pages} page(s), confidence {read.ocr_confidence:.2f}" if read.source == "ocr" else ""
        )
        return f"{len(self.determination.items)} item(s) · {self.strategy} · {self.model} · {cost}{cached}{ocr}"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>{self.determination._repr_html_()}"
