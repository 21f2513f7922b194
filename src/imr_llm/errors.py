"""Typed errors: each says what failed and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imr_llm.result import Usage


class ImrLlmError(Exception):
    """Base of every error this library raises on purpose."""


class ConfigError(ImrLlmError, ValueError):
    """The model, endpoint or key configuration cannot work."""


class InvalidLetterError(ImrLlmError, ValueError):
    """The input is not something a letter can be extracted from (empty, binary, too long)."""


class EmbeddedModelError(ImrLlmError, RuntimeError):
    """The embedded llama.cpp model could not be installed, verified or started."""


class ExtractionError(ImrLlmError, RuntimeError):
    """The model gave no valid record within the retry bounds.

    `kind` is `"transient"` (the endpoint kept failing), `"validation"` (answers never
    fitted the schema), `"truncated"` (output hit max_tokens), `"budget"` (re-asks spent
    the token budget), `"api"` (a non-retryable API error such as 401 or 404) or `"layout"`
    (the `rules` strategy found no disputed items to read).
    """

    def __init__(self, message: str, *, kind: str, attempts: int, usage: Usage) -> None:
        super().__init__(f"{message} [{kind}; {attempts} attempt(s); {usage.total_tokens} tokens]")
        self.kind = kind
        self.attempts = attempts
        self.usage = usage
