"""Letters and their gold records: `<samples>/<name>.txt` pairs with `<gold>/<name>.json`.

Any folder pair in this layout can be evaluated, so users add their own labeled letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from imr_llm.errors import ImrLlmError
from imr_llm.salvage import describe
from imr_llm.schema import Determination


class DatasetError(ImrLlmError, ValueError):
    """The samples or gold folder is missing, unpaired or holds an invalid record."""


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    gold: Determination


def load(samples: Path | str, gold: Path | str) -> list[Case]:
    """Every `.txt` letter in `samples` with its gold record; errors name the file at fault."""
    samples, gold = Path(samples), Path(gold)
    for folder in (samples, gold):
        if not folder.is_dir():
            raise DatasetError(f"no folder at {folder}")
    letters = sorted(samples.glob("*.txt"))
    if not letters:
        raise DatasetError(f"no .txt letters in {samples}")
    cases = []
    for letter in letters:
        record = gold / f"{letter.stem}.json"
        if not record.is_file():
            raise DatasetError(f"letter {letter.name} has no gold record at {record}")
        try:
            expected = Determination.model_validate_json(record.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise DatasetError(f"gold record {record} is not a valid Determination: {describe(exc)}") from None
        cases.append(Case(letter.stem, letter.read_text(encoding="utf-8"), expected))
    return cases
