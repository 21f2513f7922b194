import json
import shutil

import pytest

from conftest import GOLD, SAMPLES, asked_about, cli_model, pointed
from fake_server import completion, error
from imr_llm.cli import main
from imr_llm.evals.dataset import DatasetError, load


def gold_for_letter(request):
    """Answer each letter with its own gold record, as a perfect model would."""
    name = asked_about(request)
    assert name is not None, "unknown letter"
    return completion(json.dumps(pointed(name)), prompt_tokens=1000, completion_tokens=400)


def test_eval_cli_perfect_model_scores_one_and_writes_reports(fake, tmp_path, capsys):
    fake.queue(gold_for_letter)
    out = tmp_path / "report.json"
    args = [
        "eval",
        *cli_model(fake),
        "--cache-dir",
        str(tmp_path / "c"),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert report["summary"]["headline"] == 1.0 and report["summary"]["decision_accuracy"] == 1.0
    assert report["meta"]["letters"] == 5 and report["meta"]["tokens"] == 5 * 1400
    assert len(report["meta"]["prompt_sha256"]) == 64 and report["meta"]["schema_version"] == "3"
    assert "decision accuracy 1.000" in capsys.readouterr().out
    assert "| `items.decision` | 1.000 |" in out.with_suffix(".md").read_text()

    assert main([*args[:-1], str(tmp_path / "again.json")]) == 0  # second run: all from cache
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["meta"]["cache_hits"] == 5 and again["meta"]["tokens"] == 0
    assert len(fake.requests) == 5

    capsys.readouterr()
    assert main(["eval", "compare", str(out), str(tmp_path / "again.json")]) == 0
    assert "items.decision" in capsys.readouterr().out


def test_failures_count_as_misses_and_are_listed(fake, tmp_path, capsys):
    fake.queue(error(400))
    out = tmp_path / "r.json"
    args = ["eval", *cli_model(fake), "--no-cache", "--out", str(out)]
    assert main(args) == 0, "failures are misses in the score, not a crash"
    report = json.loads(out.read_text())
    assert report["meta"]["failed"] == 5 and report["summary"]["headline"] == 0.0
    assert all(not r["ok"] and "ExtractionError" in r["error"] for r in report["letters"])
    assert "FAILED" in capsys.readouterr().out
    assert main([*args, "--fail-under", "0.5"]) == 1


def test_dataset_errors_name_the_file(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "g").mkdir()
    shutil.copy(SAMPLES / "001_63c5b1a966744848.txt", tmp_path / "s")
    with pytest.raises(DatasetError, match=r"001_63c5b1a966744848\.txt has no gold record"):
        load(tmp_path / "s", tmp_path / "g")
    (tmp_path / "g" / "001_63c5b1a966744848.json").write_text('{"items": []}')
    with pytest.raises(DatasetError, match="not a valid Determination"):
        load(tmp_path / "s", tmp_path / "g")
    shutil.copy(GOLD / "001_63c5b1a966744848.json", tmp_path / "g")
    assert [c.name for c in load(tmp_path / "s", tmp_path / "g")] == ["001_63c5b1a966744848"]
