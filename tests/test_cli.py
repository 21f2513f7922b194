import json

from conftest import SAMPLES, cli_model, gold
from fake_server import completion
from imr_llm.cli import main

NAME = "002_53cd04ea59152e39"


def test_one_file_prints_the_record(fake, tmp_path, capsys):
    fake.queue(completion(json.dumps(gold(NAME))))
    args = [
        "extract",
        str(SAMPLES / f"{NAME}.txt"),
        *cli_model(fake),
        "--cache-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert {k: v for k, v in json.loads(out).items() if k not in ("evidence", "ungrounded")} == gold(NAME)
    assert "3 item(s)" in err and "cached" not in err
    assert main(args) == 0
    assert "cached" in capsys.readouterr().err
    assert len(fake.requests) == 1


def test_several_files_one_bad_the_rest_go_on(fake, tmp_path, capsys):
    fake.queue(completion(json.dumps(gold(NAME))))
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    out_file = tmp_path / "out.jsonl"
    code = main(
        [
            "extract",
            str(empty),
            str(SAMPLES / f"{NAME}.txt"),
            str(tmp_path / "missing.txt"),
            *cli_model(fake),
            "--no-cache",
            "--out",
            str(out_file),
        ]
    )
    assert code == 1
    lines = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [line["ok"] for line in lines] == [False, True, False]
    assert lines[0]["error"]["type"] == "InvalidLetterError"
    assert lines[1]["determination"]["items"] == gold(NAME)["items"]
    assert lines[2]["error"]["type"] == "FileNotFoundError"
    assert "Traceback" not in capsys.readouterr().err


def test_cache_commands(fake, tmp_path, capsys):
    fake.queue(completion(json.dumps(gold(NAME))))
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
