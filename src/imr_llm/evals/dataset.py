"""Letters and their gold records: `<samples>/<name>.txt` (or `.pdf`) pairs with `<gold>/<name>.json`.

Any folder pair in this layout can be evaluated, so users add their own labeled letters; several
gold folders can serve one letters folder (the first holding `<name>.json` wins), so a form of
the corpus built from two labeled sets is scored against both. A case keeps its letter's path,
not its text: the evaluation reads it through `imr_llm.reading` exactly as `extract` does, so a
letter scores as it extracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from imr_llm import reading
from imr_llm.errors import ImrLlmError
from imr_llm.salvage import describe
from imr_llm.schema import Determination
from imr_llm.sources import SUFFIXES


class DatasetError(ImrLlmError, ValueError):
    """The samples or gold folder is missing, unpaired or holds an invalid record."""


@dataclass(frozen=True)
class Case:
    """One labeled letter: extraction reads it from `path`, as `imr-llm extract` would."""

    name: str
    path: Path
    gold: Determination

    @property
    def text(self) -> str:
        """The letter as the pipeline reads it (`imr_llm.reading`): the text evidence spans index."""
        return reading.read(self.path)


def load(samples: Path | str, gold: Path | str | Sequence[Path | str]) -> list[Case]:
    """Every `.txt`/`.pdf` letter in `samples` with its gold record from the first of the `gold`
    folders that holds one; errors name the file at fault."""
    samples = Path(samples)
    golds = [Path(gold)] if isinstance(gold, str | Path) else [Path(g) for g in gold]
    for folder in (samples, *golds):
        if not folder.is_dir():
            raise DatasetError(f"no folder at {folder}")
    letters = sorted(p for p in samples.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not letters:
        raise DatasetError(f"no .txt or .pdf letters in {samples}")
    cases = []
    for letter in letters:
        record = next((g / f"{letter.stem}.json" for g in golds if (g / f"{letter.stem}.json").is_file()), None)
        if record is None:
            where = ", ".join(str(g) for g in golds)
            raise DatasetError(f"letter {letter.name} has no gold record ({letter.stem}.json) in {where}")
        try:
            expected = Determination.model_validate_json(record.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise DatasetError(f"gold record {record} is not a valid Determination: {describe(exc)}") from None
        cases.append(Case(letter.stem, letter, expected))
    return cases
