"""Records flattened to one row per disputed item, for spreadsheets and pandas."""

import csv
from collections import Counter
from pathlib import Path

import pandas as pd

from conftest import SAMPLES, gold
from imr_llm import extract_many, extract_result, to_dataframe
from imr_llm.export import item_rows, write_csv, write_parquet

NAME = "004_6c580757ad27c254"


def test_one_row_per_item_with_the_letter_fields_repeated():
    result = extract_result((SAMPLES / f"{NAME}.txt").read_text(), strategy="rules", cache=False)
    rows = item_rows([result])
    expected = gold(NAME)
    assert [r["item"] for r in rows] == [1, 2, 3, 4]
    assert [r["decision"] for r in rows] == [i["decision"] for i in expected["items"]]
    assert {r["patient.date_of_injury"] for r in rows} == {expected["patient"]["date_of_injury"]}
    assert rows[0]["reviewer.licensed_states"] == ["NY"]
    assert rows[0]["reviewer_guideline.pages"] == [78]
    assert rows[2]["treatment.generic_name"] == expected["items"][2]["treatment"]["generic_name"]
    assert rows[0]["strategy"] == "rules" and not any(k.startswith("evidence") for k in rows[0])
    assert (rows[0]["text_source"], rows[0]["ocr_pages"], rows[0]["ocr_confidence"]) == ("text", None, None)
    bare = [r | {"model": None, "strategy": None, "text_source": None} for r in rows]  # a record alone: source unknown
    assert item_rows([result.determination]) == bare


def test_csv_parquet_and_dataframe_agree(tmp_path: Path):
    out = tmp_path / "results.jsonl"
    list(extract_many([SAMPLES], out=out, strategy="rules", cache=False))
    n = sum(len(gold(p.stem)["items"]) for p in SAMPLES.glob("*.txt"))
    assert write_csv(out, tmp_path / "items.csv") == n
    with (tmp_path / "items.csv").open() as fh:
        table = list(csv.DictReader(fh))
    row = next(r for r in table if r["letter"] == f"{NAME}.txt" and r["item"] == "3")
    assert row["reviewer_guideline.pages"] == "63; 64" and row["decision"] == "upheld"
    assert write_parquet(out, tmp_path / "items.parquet") == n
    frame = pd.read_parquet(tmp_path / "items.parquet")
    third = frame[(frame.letter == f"{NAME}.txt") & (frame.item == 3)].iloc[0]
    assert list(third["reviewer_guideline.pages"]) == [63, 64]
    df = to_dataframe(out)
    decisions = Counter(i["decision"] for p in SAMPLES.glob("*.txt") for i in gold(p.stem)["items"])
    assert df.decision.value_counts().to_dict() == dict(decisions)
    assert set(df.letter) == {f"{p.stem}.txt" for p in SAMPLES.glob("*.txt")}


def test_failed_letters_have_no_rows():
    assert item_rows([{"id": "x", "ok": False, "error": {"type": "InvalidLetterError"}}]) == []
