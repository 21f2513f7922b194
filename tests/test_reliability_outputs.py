"""Batches, exports, reports and review pages under hostile use (issue 22): nothing crashes, no
output overwrites or feeds back into an input, nothing is lost, stale or counted twice, and
nothing is passed over silently. Real files, real CLI runs (in-process and child processes)."""

import csv
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES
from imr_llm import ConfigError, extract_many, report
from imr_llm import export as exports
from imr_llm.cli import main
from imr_llm.errors import OutputPathError

sys.path.insert(0, str(ROOT / "evals"))
from bench_report import write_results

NAMES = sorted(p.stem for p in SAMPLES.glob("*.txt"))
RULES = ["--strategy", "rules", "--no-cache", "-q"]


def letters(folder: Path, count: int = 3) -> Path:
    """`count` different sample letters in `folder` (0.txt, 1.txt …)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        shutil.copy(SAMPLES / f"{NAMES[n]}.txt", folder / f"{n}.txt")
    return folder


def extracted(tmp_path: Path, count: int = 3) -> Path:
    """A results file of `count` letters extracted by rules."""
    out = tmp_path / "results.jsonl"
    assert main(["extract", str(letters(tmp_path / "letters", count)), "--out", str(out), *RULES]) == 0
    return out


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imr_llm.cli", *args], capture_output=True, text=True, timeout=120,
                          **kwargs)  # fmt: skip


def item_count(csv_path: Path) -> dict[str, int]:
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {letter: sum(r["letter"] == letter for r in rows) for letter in {r["letter"] for r in rows}}


# 2. A concurrency under 1 is bad usage, refused before any file is made.


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_concurrency_under_one_is_refused_before_any_file_exists(tmp_path: Path, value: str, capsys) -> None:
    folder = letters(tmp_path / "letters", 2)
    out = tmp_path / "out" / "results.jsonl"
    with pytest.raises(SystemExit) as stop:
        main(["extract", str(folder), "--out", str(out), "--concurrency", value, *RULES])
    assert stop.value.code == 2
    assert "--concurrency" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="concurrency"):
        extract_many([folder], out=out, concurrency=int(value), strategy="rules", cache=False)  # on the call
    assert not (tmp_path / "out").exists()


# 3. An output that is a letter, lies among the letters, or would be read as one is refused.


def test_an_output_among_the_inputs_is_refused_and_the_letter_is_untouched(tmp_path: Path, capsys) -> None:
    folder = letters(tmp_path / "letters")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    (tmp_path / "link").symlink_to(folder)
    cases = [
        ["--out", str(folder / "0.txt")],  # an input letter
        ["--out", str(folder / "results.jsonl")],  # inside the input folder
        ["--out", str(tmp_path / "link" / "sub" / "results.jsonl")],  # inside it, through a link
        ["--out", str(tmp_path / "results.txt")],  # named like a letter: the next run over its folder reads it
        ["--out", str(tmp_path / "r.jsonl"), "--errors", str(folder / "r.errors.jsonl")],  # the errors file inside
    ]
    for args in cases:
        assert main(["extract", str(folder), *args, *RULES]) == 2, args
        assert "imr-llm extract: output" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing appended, nothing added
    assert not list(tmp_path.glob("*.txt")) and not list(tmp_path.glob("*.jsonl*"))
    with pytest.raises(OutputPathError):
        extract_many([folder], out=folder / "0.txt", strategy="rules", cache=False)
    assert main(["extract", str(folder), "--out", str(tmp_path / "results.jsonl"), *RULES]) == 0  # outside: fine


# 4. An output that is an input file is refused: export, report, review.


def test_no_command_overwrites_its_input(tmp_path: Path, capsys) -> None:
    out = extracted(tmp_path, 2)
    errors = tmp_path / "results.errors.jsonl"
    letter = tmp_path / "letters" / "0.txt"
    kept = {p: p.read_bytes() for p in (out, errors, letter)}
    for argv in (
        ["export", str(out), "--items", str(out)],
        ["export", str(out), "--parquet", str(errors)],
        ["export", str(out), "--items", str(tmp_path / "x.csv"), "--parquet", str(tmp_path / "x.csv")],
        ["report", str(out), "--out", str(out), "-q"],
        ["report", str(out), "--out", str(tmp_path / "r.html"), "--csv-dir", str(tmp_path), "-q"],  # a CSV name
        ["review", str(letter), "--out", str(letter), "--strategy", "rules", "--no-cache"],
    ):
        if argv[0] == "report" and "--csv-dir" in argv:
            shutil.copy(out, tmp_path / "quality.csv")  # a results file that a report CSV would replace
            argv[1] = str(tmp_path / "quality.csv")
            kept[tmp_path / "quality.csv"] = out.read_bytes()
        assert main(argv) == 2, argv
        assert "imr-llm" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in kept} == kept


# 5. Export is atomic and streams.


def test_export_killed_mid_write_never_leaves_a_partial_file(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    write_results(results, 3000)
    items = tmp_path / "items.csv"
    proc = subprocess.Popen([sys.executable, "-m", "imr_llm.cli", "export", str(results), "--items", str(items)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        writing = [p for p in tmp_path.glob(".items.csv.*.tmp") if p.stat().st_size] or items.exists()
        if writing:
            break
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the export ended before it could be killed mid-write"
    assert not items.exists()  # the old file or none: never a partial CSV that looks complete
    [temp] = tmp_path.glob(".items.csv.*.tmp")  # what SIGKILL leaves: a hidden temporary, owner-only
    assert stat.S_IMODE(temp.stat().st_mode) == 0o600


def _peak(results: Path, out: Path, write) -> int:
    tracemalloc.start()
    try:
        write(results, out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("write", [exports.write_csv, exports.write_parquet], ids=["csv", "parquet"])
def test_export_memory_does_not_grow_with_the_rows(tmp_path: Path, write, monkeypatch) -> None:
    monkeypatch.setattr(
        exports, "BATCH", 32, raising=False
    )  # Parquet holds one batch of rows: make it small beside the inputs
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    write_results(small, 50)
    write_results(large, 400, seed=1)
    _peak(small, tmp_path / "warm", write)  # module caches and compiled patterns are not the rows
    few, many = _peak(small, tmp_path / "a", write), _peak(large, tmp_path / "b", write)
    assert many < 1.5 * few + 512 * 1024, (few, many)  # 8 times the rows; holding them all would be 8 times the memory


# 6. A review page that cannot be written whole is not written at all.


def test_review_on_a_full_disk_leaves_no_partial_page(tmp_path: Path) -> None:
    page = tmp_path / "review.html"
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)); "
            "from imr_llm.cli import main; sys.exit(main(sys.argv[1:]))")  # fmt: skip
    letter = SAMPLES / f"{NAMES[0]}.txt"
    run = subprocess.run([sys.executable, "-c", code, "review", str(letter), "--out", str(page), "--strategy",
                          "rules", "--no-cache"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "File too large" in run.stderr and str(page) in run.stderr
    assert not page.exists() and list(tmp_path.iterdir()) == []  # no page, no temporary left behind
    page.write_text("an older page")
    page.chmod(0o644)
    assert main(["review", str(letter), "--out", str(page), "--strategy", "rules", "--no-cache"]) == 0
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and "<!doctype html>" in page.read_text()


# 7. One letter under two ids is counted once.


def test_a_subfolder_rerun_skips_letters_done_and_copies_count_once(tmp_path: Path, capsys) -> None:
    folder = letters(tmp_path / "letters" / "2014", 2).parent
    shutil.copy(folder / "2014" / "0.txt", folder / "copy-of-0.txt")  # the same letter under a second name
    out = tmp_path / "results.jsonl"
    assert main(["extract", str(folder), "--out", str(out), *RULES]) == 0
    rows = out.read_text().splitlines()
    assert main(["extract", str(folder / "2014"), "--out", str(out), *RULES]) == 0  # ids "0.txt", not "2014/0.txt"
    assert out.read_text().splitlines() == rows  # nothing extracted again under a second id
    capsys.readouterr()
    done = report(out)
    assert done.quality.letters_counted == 2
    assert done.quality.duplicates == [("copy-of-0.txt", "2014/0.txt")]
    assert ("same content: copy-of-0.txt", "counted as 2014/0.txt") in done.quality.rows()
    assert main(["export", str(out), "--items", str(tmp_path / "items.csv")]) == 0
    assert set(item_count(tmp_path / "items.csv")) == {"2014/0.txt", "2014/1.txt"}
    assert "copy-of-0.txt (same as 2014/0.txt)" in capsys.readouterr().err


# 8. A record whose letter has failed since is stale: not counted, not exported.


def test_a_later_failure_supersedes_an_earlier_record(tmp_path: Path, capsys) -> None:
    out = extracted(tmp_path, 3)
    (tmp_path / "letters" / "1.txt").write_text("This page was replaced: it is no determination letter.\n" * 20)
    assert main(["extract", str(tmp_path / "letters"), "--out", str(out), *RULES]) == 1  # 1.txt now fails
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "report.html"), "-q"]) == 0
    assert "2 letter(s)" in (said := capsys.readouterr().out) and "1 failed" in said
    assert sum(report(out).quality.failed.values()) == 1
    assert main(["export", str(out), "--items", str(tmp_path / "items.csv")]) == 0
    assert set(item_count(tmp_path / "items.csv")) == {"0.txt", "2.txt"}
    assert "1 record(s) left out: the letter failed since" in capsys.readouterr().err


# 9. Files that are not letters are counted, never passed over silently, never quoted.


def test_files_that_are_not_letters_are_named_by_kind(tmp_path: Path) -> None:
    folder = letters(tmp_path / "letters", 2)
    for name in ("a.docx", "b.html", "c.rtf", "d.RTF"):
        (folder / name).write_text("SECRET-PATIENT-TEXT")
    run = cli("extract", str(folder), "--out", str(tmp_path / "results.jsonl"), "--strategy", "rules", "--no-cache")
    assert run.returncode == 0, run.stderr
    note = "4 file(s) passed over that are not .txt or .pdf letters (.docx 1, .html 1, .rtf 2)"
    assert run.stderr.count(note) == 2  # at the start, and in the summary
    assert "SECRET-PATIENT-TEXT" not in run.stderr + run.stdout


# 10. Export says what it passed over, as report counts it.


def test_export_says_how_many_lines_it_could_not_read(tmp_path: Path, capsys) -> None:
    out = extracted(tmp_path, 2)
    with out.open("a") as fh:
        fh.write('{"id": "torn.txt", "ok": tr\n')
        fh.write("not json at all\n")
    capsys.readouterr()
    assert main(["export", str(out), "--items", str(tmp_path / "items.csv")]) == 0  # as report: counted, exit 0
    assert "2 line(s) of" in capsys.readouterr().err
    assert report(out).quality.unreadable_lines == 2
