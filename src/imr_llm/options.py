"""Generation and retry settings for one extraction: what every strategy and model call reads.

Kept apart from `imr_llm.extract` so the per-letter `Job` (and the strategies that read
`job.options`) can import it without importing the extractor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imr_llm.reading import MAX_CHARS
from imr_llm.retry import RetryPolicy


@dataclass(frozen=True)
class Options:
    """Generation and retry settings. Those in `generation()` are part of the cache key.

    `max_reasks`: re-asks when an answer fails validation; `max_checks`: re-asks when a
    `whole` answer disagrees with a layout that adds up (item count, decisions, pages). None by
    default: the layout settles what still disagrees either way, and on the samples a re-ask fixed
    one disagreement in three for ~25 s of the embedded model's time each (`evals/README.md`).
    `ocr`: read a PDF's pages that have no text layer (scans) by OCR (`imr_llm.ocr`); False
    refuses such a PDF with `NoTextLayerError` instead.
    """

    temperature: float = 0.0
    max_tokens: int = 4096
    seed: int | None = 0
    max_reasks: int = 1
    max_checks: int = 0
    token_budget: int | None = 40_000
    timeout: float = 900.0
    max_chars: int = MAX_CHARS
    ocr: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def generation(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            params["seed"] = self.seed
        return params
