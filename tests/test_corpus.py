"""The labeled corpus (evals/corpus): every gold record is canonical and readable in its letter.

A gold value that a validator would change, or that the letter does not hold, scores the
extractor against a label nobody could read off the page; these checks catch both before a
letter joins the corpus. The samples' gold (evals/gold) is held to the same evidence rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import GOLD, ROOT, SAMPLES, fields
from imr_llm import reading
from imr_llm.schema import Determination

CORPUS = ROOT / "evals" / "corpus"
CORPUS_GOLD = sorted((CORPUS / "gold").glob("*.json"))
LABELED = [(path, CORPUS / "text" / f"{path.stem}.txt") for path in CORPUS_GOLD] + [
    (path, SAMPLES / f"{path.stem}.txt") for path in sorted(GOLD.glob("*.json"))
]


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _verbatim(record: dict) -> list[tuple[str, str]]:
    """(field path, value) for every label the guide says is copied from the letter's words."""
    patient = record["patient"]
    values = [("patient.mechanism_of_injury", patient["mechanism_of_injury"])]
    values += [(f"patient.diagnoses.{i}", d) for i, d in enumerate(patient["diagnoses"])]
    for i, item in enumerate(record["items"]):
        values += [(f"items.{i}.request", item["request"]), (f"items.{i}.rationale", item["rationale"])]
        for side in ("claims_administrator_guideline", "reviewer_guideline"):
            for key in ("document", "topic"):
                values.append((f"items.{i}.{side}.{key}", item[side][key]))
    return [(path, value) for path, value in values if value is not None]


def test_the_corpus_has_letters() -> None:
    assert CORPUS_GOLD, "evals/corpus/gold holds no gold records"


@pytest.mark.parametrize("path", CORPUS_GOLD, ids=lambda p: p.stem)
def test_corpus_gold_is_canonical(path: Path) -> None:
    """The label is what the validators would make of it: a round trip changes nothing."""
    labeled = json.loads(path.read_text(encoding="utf-8"))
    assert fields(Determination.model_validate(labeled)) == labeled


@pytest.mark.parametrize("path", CORPUS_GOLD, ids=lambda p: p.stem)
def test_corpus_letters_are_plain_text(path: Path) -> None:
    """Letter files are the source the other forms are made from: ASCII, LF line endings."""
    data = (CORPUS / "text" / f"{path.stem}.txt").read_bytes()
    assert data.isascii()
    assert b"\r" not in data


@pytest.mark.parametrize(("gold_path", "letter_path"), LABELED, ids=[gold.stem for gold, _ in LABELED])
def test_verbatim_labels_are_in_the_letter(gold_path: Path, letter_path: Path) -> None:
    """In the letter as the pipeline reads it: page furniture (a footer mid-rationale) removed."""
    letter = _flat(reading.read(letter_path))
    record = json.loads(gold_path.read_text(encoding="utf-8"))
    missing = [path for path, value in _verbatim(record) if _flat(value) not in letter]
    assert missing == []
