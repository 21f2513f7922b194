"""imr-llm: California workers' compensation IMR letters to validated, structured records."""

import logging

from imr_llm import review  # noqa: F401  (gives records their notebook view)
from imr_llm.analysis import report
from imr_llm.batch import Outcome, aextract_many, extract_many
from imr_llm.errors import (
    ConfigError,
    EmbeddedModelError,
    ExtractionError,
    ImrLlmError,
    InvalidLetterError,
    NoTextLayerError,
    OcrUnavailableError,
)
from imr_llm.export import to_dataframe
from imr_llm.extract import Options, aextract, aextract_result, extract, extract_result
from imr_llm.prompts import Prompt
from imr_llm.result import ExtractionResult, Provenance, Usage
from imr_llm.retry import RetryPolicy
from imr_llm.schema import Decision, Determination, Item

# instructor logs failed attempts at ERROR with the model's output in the message, and that
# output is medical information from the letter. Quiet by default; a user may lower it again.
logging.getLogger("instructor").setLevel(logging.CRITICAL)

__all__ = [
    "ConfigError",
    "Decision",
    "Determination",
    "EmbeddedModelError",
    "ExtractionError",
    "ExtractionResult",
    "ImrLlmError",
    "InvalidLetterError",
    "Item",
    "NoTextLayerError",
    "OcrUnavailableError",
    "Options",
    "Outcome",
    "Prompt",
    "Provenance",
    "RetryPolicy",
    "Usage",
    "aextract",
    "aextract_many",
    "aextract_result",
    "extract",
    "extract_many",
    "extract_result",
    "report",
    "to_dataframe",
]
