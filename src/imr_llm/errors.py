"""Typed errors: each says what failed and what to do about it; `shown` makes the names in them safe to print."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imr_llm.result import Usage


class ImrLlmError(Exception):
    """Base of every error this library raises on purpose."""


class ConfigError(ImrLlmError, ValueError):
    """The model, endpoint or key configuration cannot work."""


class OutputBusyError(ImrLlmError):
    """Another run holds the lock on an output file: two writers would write every letter twice."""


class OutputPathError(ImrLlmError, ValueError):
    """An output path that would destroy or feed back into the command's inputs: the input itself,
    a file inside an input folder (the next run would read it as a letter), or a letter's name."""


class RowError(ImrLlmError, ValueError):
    """A results file holds a line this version cannot read as a row (named by file and line)."""


class InvalidLetterError(ImrLlmError, ValueError):
    """The input is not something a letter can be extracted from (empty, binary, too long)."""


class NoTextLayerError(InvalidLetterError):
    """A PDF whose pages carry no text to read: a scan read with OCR turned off, or one whose
    pages OCR found no letter on."""


class OcrUnavailableError(NoTextLayerError):
    """A scanned PDF, and no OCR engine here to read it: the message names the line that installs one."""


class EmbeddedModelError(ImrLlmError, RuntimeError):
    """The embedded llama.cpp model could not be installed, verified or started."""


class ExtractionError(ImrLlmError, RuntimeError):
    """The model gave no valid record within the retry bounds.

    `kind` is `"transient"` (the endpoint kept failing), `"validation"` (answers never
    fitted the schema), `"truncated"` (output hit max_tokens), `"budget"` (re-asks spent
    the token budget), `"api"` (a non-retryable API error such as 401 or 404), `"layout"`
    (the `rules` strategy found no disputed items to read) or `"unasked"` (a follow-up question
    where the answers were fetched beforehand, as from the Batch API: strategies leave that field empty).
    """

    def __init__(self, message: str, *, kind: str, attempts: int, usage: Usage) -> None:
        super().__init__(f"{message} [{kind}; {attempts} attempt(s); {usage.total_tokens} tokens]")
        self.kind = kind
        self.attempts = attempts
        self.usage = usage


def shown(name: str) -> str:
    """A file name or letter id as it may be printed: control and format characters (escape
    sequences, carriage returns, bidi overrides) written as escapes, so a name cannot drive a
    terminal or forge a line; everything printable as it is."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
