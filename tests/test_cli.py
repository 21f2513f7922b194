import json

from conftest import SAMPLES, cli_model, gold, labelled, pointed
from fake_server import completion
from imr_llm.cli import main

NAME = "002_53cd04ea59152e39"


def test_one_file_prints_the_record(fake, tmp_path, capsys):
    fake.queue(completion(json.dumps(pointed(NAME))))
    args = [
        "extract",
        str(SAMPLES / f"{NAME}.txt"),
        *cli_model(fake),
        "--cache-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert labelled(json.loads(out)) == gold(NAME)
    assert "3 item(s)" in err and "cached" not in err
    assert main(args) == 0
    assert "cached" in capsys.readouterr().err
    assert len(fake.requests) == 1


def test_several_files_one_bad_the_rest_go_on(fake, tmp_path, capsys):
    fake.queue(completion(json.dumps(pointed(NAME))))
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    out_file = tmp_path / "out.jsonl"
    args = ["extract", str(empty), str(SAMPLES / f"{NAME}.txt"), *cli_model(fake), "--no-cache"]
    assert main([*args, "--out", str(out_file)]) == 1
    [row] = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert row["ok"] and row["id"] == f"{NAME}.txt" and row["determination"]["items"] == gold(NAME)["items"]
    [bad] = [json.loads(line) for line in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert (bad["id"], bad["error"]["type"]) == ("empty.txt", "InvalidLetterError")
    err = capsys.readouterr().err
    assert "1 extracted, 1 failed" in err and "Traceback" not in err

    assert main(args) == 1  # no --out: every row, failures too, on stdout
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["ok"] for r in rows) == [False, True]


def test_a_missing_input_is_a_usage_error_before_anything_runs(fake, tmp_path, capsys):
    code = main(["extract", str(SAMPLES), str(tmp_path / "typo"), *cli_model(fake), "--out", str(tmp_path / "o")])
    assert code == 2 and "no such file or folder" in capsys.readouterr().err
    assert fake.requests == [] and not (tmp_path / "o").exists()


def test_export_items_to_csv_and_parquet(tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    assert main(["extract", str(SAMPLES), "--strategy", "rules", "--no-cache", "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().err == ""
    csv_path, parquet_path = tmp_path / "items.csv", tmp_path / "items.parquet"
    assert main(["export", str(out), "--items", str(csv_path), "--parquet", str(parquet_path)]) == 0
    items = sum(len(gold(p.stem)["items"]) for p in SAMPLES.glob("*.txt"))
    assert f"wrote {items} item row(s)" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "nope.jsonl"), "--items", str(csv_path)]) == 2


def test_cache_commands(fake, tmp_path, capsys):
    fake.queue(completion(json.dumps(pointed(NAME))))
    main(
        [
            "extract",
            str(SAMPLES / f"{NAME}.txt"),
            *cli_model(fake),
            "--cache-dir",
            str(tmp_path),
        ]
    )
    capsys.readouterr()
    assert main(["cache", "info", "--dir", str(tmp_path)]) == 0
    assert "1 cached record(s)" in capsys.readouterr().out
    assert main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert "removed 1" in capsys.readouterr().out
