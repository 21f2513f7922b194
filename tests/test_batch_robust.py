"""Batch robustness: unreadable inputs, an unusable cache or prompt, two writers on one file,
duplicate rows, linked and looping folders, empty inputs, file modes, CSV formulas, hostile
file names, a closed stdout, and records that need review. Real files, processes and pipes."""

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from conftest import NAME, SAMPLES, gold, gold_reply, sample
from imr_llm import ConfigError, ExtractionResult, Usage, extract_many
from imr_llm.batch import Outcome, Output, Tally, plan
from imr_llm.errors import OutputBusyError
from imr_llm.export import item_rows, to_dataframe, write_csv, write_parquet
from imr_llm.prompts import PromptError
from imr_llm.rows import Row, read_rows
from imr_llm.schema import Determination
from imr_llm.sources import Letter, discover, scan

NAMES = sorted(p.stem for p in SAMPLES.glob("*.txt"))


def cli(*args: str, bound_by_modes: bool = False, **kwargs) -> subprocess.CompletedProcess:
    """The real command in a child process (stderr as it would reach a terminal). With
    `bound_by_modes`, run as root it loses the power to ignore file modes (CAP_DAC_OVERRIDE), so
    a chmod means what it says, as for any other user."""
    command = [sys.executable, "-m", "imr_llm.cli", *args]
    if bound_by_modes and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file modes do not stop root")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    kwargs.setdefault("capture_output", "stdout" not in kwargs)
    return subprocess.run(command, text=True, timeout=120, **kwargs)


def letters(folder: Path, count: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        shutil.copy(SAMPLES / f"{NAMES[n % 5]}.txt", folder / f"{n}.txt")
    return folder


# 1. A letter file that cannot be read fails alone; discovery goes on.


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_file_whose_read_fails_is_that_letters_failure_not_the_batchs(tmp_path: Path) -> None:
    folder = letters(tmp_path / "letters")
    (folder / "io_error.txt").symlink_to("/proc/self/mem")  # a regular file whose read is EIO, even for root
    out = tmp_path / "results.jsonl"
    outcomes = list(extract_many([folder], out=out, strategy="rules", cache=False))
    assert sorted((o.letter.id, o.ok) for o in outcomes) == [("0.txt", True), ("1.txt", True), ("io_error.txt", False)]
    [failure] = read_rows(tmp_path / "results.errors.jsonl")
    assert failure.id == "io_error.txt" and failure.sha256 is None
    assert failure.error.type == "OSError" and "Input/output error" in failure.error.message
    assert sorted(r.id for r in read_rows(out)) == ["0.txt", "1.txt"]


def test_a_file_without_read_permission_is_recorded_with_its_name_escaped(tmp_path: Path) -> None:
    folder = letters(tmp_path / "letters")
    locked = folder / "locked\x1b[31mred.txt"
    shutil.copy(SAMPLES / f"{NAME}.txt", locked)
    locked.chmod(0)
    out = tmp_path / "results.jsonl"
    done = cli("extract", str(folder), "--strategy", "rules", "--no-cache", "--out", str(out), bound_by_modes=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "\x1b" not in done.stderr and "locked\\x1b[31mred.txt: failed: PermissionError" in done.stderr
    [failure] = read_rows(tmp_path / "results.errors.jsonl")
    assert failure.id == locked.name and failure.error.type == "PermissionError"
    assert len(list(read_rows(out))) == 2


# 2. A cache that cannot be used: one warning, and the run goes on without it.


def test_a_cache_dir_that_is_a_file_is_one_warning_and_no_cache(tmp_path: Path) -> None:
    folder = letters(tmp_path / "letters", 3)
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    out = tmp_path / "results.jsonl"
    done = cli("extract", str(folder), "--strategy", "rules", "--cache-dir", str(not_a_folder), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("record cache cannot be used") == 1 and "Traceback" not in done.stderr
    assert len(list(read_rows(out))) == 3 and not (tmp_path / "results.errors.jsonl").read_text()
    assert not_a_folder.read_text() == "a file"


def test_the_api_with_an_unusable_cache_warns_once_and_extracts(tmp_path: Path, caplog) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    outcomes = list(extract_many([letters(tmp_path / "letters", 3)], strategy="rules", cache=not_a_folder))
    assert len(outcomes) == 3 and all(o.ok for o in outcomes)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "record cache cannot be used" in warnings[0].getMessage()


def test_a_read_only_cache_database_is_a_warning_not_failures(tmp_path: Path) -> None:
    from imr_llm.cache import RecordCache

    cache = tmp_path / "cache"
    RecordCache(cache).close()
    (cache / "cache.db").chmod(0o400)
    folder = letters(tmp_path / "letters")
    done = cli("extract", str(folder), "--strategy", "rules", "--cache-dir", str(cache), "-q", bound_by_modes=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("record cache cannot be used") == 1 and "Traceback" not in done.stderr
    assert len(done.stdout.splitlines()) == 2


# 3. A prompt that cannot be loaded is a usage error before any letter.


def test_a_bad_prompt_folder_stops_the_cli_before_any_letter(tmp_path: Path, fake) -> None:
    from imr_llm.cli import main

    empty = tmp_path / "prompt"
    empty.mkdir()
    out = tmp_path / "results.jsonl"
    args = ["extract", str(letters(tmp_path / "letters")), "--model", "m", "--base-url", fake.base_url,
            "--prompt", str(empty), "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    assert main([*args[:2], *args[2:6], "--prompt", str(empty)]) == 2
    assert fake.requests == [] and not out.exists()


def test_a_bad_prompt_is_a_config_error_raised_before_the_api_tries_a_letter(tmp_path: Path, fake) -> None:
    assert issubclass(PromptError, ConfigError)
    out = tmp_path / "results.jsonl"
    with pytest.raises(PromptError, match=r"needs system\.txt"):
        list(extract_many([letters(tmp_path / "letters")], out=out, model="m", base_url=fake.base_url,
                          prompt=tmp_path, cache=False))  # fmt: skip
    assert fake.requests == [] and not out.exists()


# 4. One writer per output file; one row per letter id, the last one.


def test_a_second_cli_run_on_the_same_output_fails_at_once(tmp_path: Path, fake) -> None:
    folder = letters(tmp_path / "letters", 6)
    release = threading.Event()  # the first run's second letter waits until the second run is over
    fake.queue(gold_reply, lambda request: (release.wait(60), gold_reply(request))[1])
    out = tmp_path / "results.jsonl"
    args = ["extract", str(folder), "--out", str(out), "--model", "m", "--base-url", fake.base_url,
            "--strategy", "whole", "--no-cache", "--concurrency", "1", "-q"]  # fmt: skip
    first = subprocess.Popen([sys.executable, "-m", "imr_llm.cli", *args], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(read_rows(out)) and time.monotonic() < deadline:  # the first run holds the lock
        time.sleep(0.05)
    try:
        second = cli(*args)
    finally:
        release.set()
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert f"{out} is being written by another imr-llm run" in second.stderr
    assert first.wait(timeout=60) == 0, first.stderr.read()
    first.stderr.close()
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == [f"{n}.txt" for n in range(6)] and len(fake.requests) == 6


def test_the_api_refuses_an_output_another_writer_holds(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    with Output(out), pytest.raises(OutputBusyError, match="being written by another"):
        list(extract_many([letters(tmp_path / "letters")], out=out, strategy="rules", cache=False))
    errors = out.with_name("results.errors.jsonl")
    with Output(tmp_path / "other.jsonl", errors=errors), pytest.raises(OutputBusyError):  # errors files too
        Output(out)
    assert len(list(extract_many([tmp_path / "letters"], out=out, strategy="rules", cache=False))) == 2


def test_the_last_row_of_a_letter_wins_in_reading_exporting_and_resuming(tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    letter = folder / "a.txt"
    letter.write_text(sample(NAME))
    out = tmp_path / "results.jsonl"
    run = {"out": out, "strategy": "rules", "cache": False}
    assert len(list(extract_many([folder], **run))) == 1
    letter.write_text(sample(NAME) + "\n")  # changed: redone, and the newer row appended
    assert len(list(extract_many([folder], **run))) == 1
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    [row] = read_rows(out)
    assert row == Row.model_validate(second) and row.sha256 != first["sha256"]
    items = len(gold(NAME)["items"])
    assert write_csv(out, tmp_path / "items.csv") == items  # not twice
    assert len(item_rows(read_rows(out))) == items
    letter.write_text(sample(NAME))  # back to the first bytes: the last row is for other bytes
    assert len(plan(discover([folder]), out, None, False).todo) == 1


class Numbered(BaseModel):
    id: str
    n: int


def test_reading_rows_keeps_ids_in_order_of_their_last_row_and_skips_garbage(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = [{"id": "a", "n": 1}, {"id": "b", "n": 1}, "not json", {"n": 0}, {"id": "a", "n": 2}, {"id": "c", "n": 1}]
    text = "\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines)
    path.write_bytes(text.encode() + b"\n\xff\xfe\n" + b'{"id": "c", "n": 2')  # bad bytes, torn tail
    assert [(r.id, r.n) for r in read_rows(path, Numbered)] == [("b", 1), ("a", 2), ("c", 1)]
    assert list(read_rows(tmp_path / "missing.jsonl")) == []


# 5. Discovery follows links, ends loops and says what it skipped.


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """letters/{a.txt, real/b.txt, linked -> ../elsewhere (c.txt), twice -> real, loop -> ., up -> ..}"""
    root = tmp_path / "letters"
    (root / "real").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for path in (root / "a.txt", root / "real" / "b.txt", tmp_path / "elsewhere" / "c.txt"):
        path.write_text(sample(NAME))
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    (root / "twice").symlink_to(root / "real")
    (root / "loop").symlink_to(".")
    (root / "real" / "up").symlink_to("..")
    (root / "fifo.txt").symlink_to(tmp_path / "nowhere.txt")  # a broken link named like a letter
    return root


@pytest.mark.timeout(20)
def test_linked_folders_are_read_once_and_loops_end(linked: Path) -> None:
    found = scan([linked])
    assert [x.id for x in found.letters] == ["a.txt", "linked/c.txt", "real/b.txt"]
    skipped = {skip.path.relative_to(linked).as_posix(): skip.reason for skip in found.skipped}
    assert skipped.keys() == {"loop", "real/up", "fifo.txt"}
    assert "loop" in skipped["loop"] and "loop" in skipped["real/up"] and "not a regular file" in skipped["fifo.txt"]
    globbed = scan([f"{linked}/**/*.txt"])  # the recursive glob ends too, with the same letters
    assert [x.id for x in globbed.letters] == ["a.txt", "linked/c.txt", "real/b.txt"]


@pytest.mark.timeout(20)
def test_the_cli_and_the_api_report_what_was_skipped(linked: Path, tmp_path: Path, caplog, capsys) -> None:
    from imr_llm.cli import main

    evil = linked / "real" / "x\x1b]0;owned\x07"
    evil.symlink_to(linked)
    assert main(["extract", str(linked), "--strategy", "rules", "--no-cache", "--out", str(tmp_path / "r.jsonl")]) == 0
    err = capsys.readouterr().err
    assert err.count("skipped ") == 4 and "\x1b" not in err and "\x07" not in err
    assert "x\\x1b]0;owned\\x07: a link back to a folder above it (a loop)" in err
    assert len(discover([linked])) == 3
    assert sum("skipped" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING) == 4


def test_an_unlistable_folder_is_reported(tmp_path: Path) -> None:
    folder = letters(tmp_path / "letters")
    shut = letters(folder / "shut", 1)
    shut.chmod(0)
    try:
        done = cli("extract", str(folder), "--strategy", "rules", "--no-cache", "-q", bound_by_modes=True)
    finally:
        shut.chmod(0o700)
    assert done.returncode == 0, done.stderr
    assert f"skipped {shut}: folder cannot be read (Permission denied)" in done.stderr
    assert sorted(json.loads(line)["id"] for line in done.stdout.splitlines()) == ["0.txt", "1.txt"]


def test_a_folder_is_walked_in_sorted_path_order(tmp_path: Path) -> None:
    for name in ("B.txt", "a/x.txt", "a-b.txt", "a.txt", "a/b/y.pdf", "c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    expected = [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*")) if p.is_file()]
    assert [x.id for x in scan([tmp_path]).letters] == expected


@pytest.mark.parametrize("pattern", ["*.txt", "*/*.txt", "**/*.txt", "**", "sub/**/*.pdf", "s*/[a-b]*.txt", "**/.*"])
def test_glob_patterns_find_what_the_standard_glob_finds(tmp_path: Path, pattern: str) -> None:
    import glob

    for name in ("a.txt", "b.pdf", ".hidden.txt", "sub/a.txt", "sub/b.pdf", "sub/deep/c.txt", ".dot/d.txt", "x.docx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    ours = sorted(str(letter.path) for letter in scan([f"{tmp_path}/{pattern}"]).letters)
    theirs = sorted(p for p in glob.glob(f"{tmp_path}/{pattern}", recursive=True) if p.endswith((".txt", ".pdf")))
    assert ours == theirs


# 6. Nothing to do is a usage error.


def test_no_letters_is_exit_2_with_a_message(tmp_path: Path, capsys) -> None:
    from imr_llm.cli import main

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.docx").write_text("not a letter")
    assert main(["extract", str(tmp_path / "empty"), "--strategy", "rules", "--no-cache"]) == 2
    assert main(["extract", f"{tmp_path}/*.pdf", "--strategy", "rules", "--no-cache"]) == 2
    assert capsys.readouterr().err.count("no letters (.txt or .pdf files) under") == 2


# 7. What leaves the library is private, and CSV cells are never formulas.


@pytest.fixture
def results(tmp_path: Path) -> Path:
    out = tmp_path / "results.jsonl"
    assert all(o.ok for o in extract_many([SAMPLES / f"{NAME}.txt"], out=out, strategy="rules", cache=False))
    return out


@pytest.fixture
def umask_022():
    """What most shells have: new files are 0644 unless the code creates them otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.usefixtures("umask_022")
def test_exports_and_request_files_are_owner_only(results: Path, tmp_path: Path) -> None:
    from imr_llm.openai_batch import write_requests

    stale = tmp_path / "items.csv"
    stale.write_text("old")
    stale.chmod(0o644)
    paths = [stale, tmp_path / "items.parquet", tmp_path / "requests.jsonl"]
    write_csv(results, paths[0])
    write_parquet(results, paths[1])
    write_requests([SAMPLES / f"{NAME}.txt"], paths[2], model="m")
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in paths] == ["0o600"] * 3


@pytest.mark.usefixtures("umask_022")
def test_downloaded_batch_results_are_owner_only(tmp_path: Path, fake) -> None:
    from fake_server import Reply
    from imr_llm.openai_batch import download

    batch = {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file_in",
             "completion_window": "24h", "status": "completed", "created_at": 0,
             "output_file_id": "file_out"}  # fmt: skip
    fake.queue(Reply(body=json.dumps(batch).encode()), Reply(body=b'{"custom_id": "x"}\n'))
    assert download("batch_1", tmp_path / "results.jsonl", base_url=fake.base_url, api_key="k") == 1
    assert [r["GET"] for r in fake.requests] == ["/v1/batches/batch_1", "/v1/files/file_out/content"]
    assert stat.S_IMODE((tmp_path / "results.jsonl").stat().st_mode) == 0o600


def test_csv_cells_that_would_be_formulas_are_quoted_and_nothing_else_changes(tmp_path: Path) -> None:
    record = gold(NAME)
    hostile = ['=HYPERLINK("http://x","Norco")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
    for item, text in zip(record["items"], hostile, strict=False):
        item["request"] = text
    record["items"][0]["treatment"]["name"] = hostile[3]
    record["patient"]["diagnoses"] = [hostile[4], "cervical strain"]
    rows = [{"id": "a.txt", "ok": True, "determination": record}]
    write_csv(rows, tmp_path / "items.csv")
    import csv

    with (tmp_path / "items.csv").open(newline="", encoding="utf-8") as fh:
        cells = list(csv.DictReader(fh))
    assert [c["request"] for c in cells] == [f"'{t}" for t in hostile[: len(cells)]]
    assert cells[0]["treatment.name"] == "'@SUM(A1)" and cells[0]["patient.diagnoses"] == "'\tTAB; cervical strain"
    assert cells[0]["patient.age"] == "45" and cells[0]["treatment.visits"] == "6"  # numbers stay numbers
    frame = to_dataframe(rows)
    assert list(frame["request"]) == hostile[: len(cells)] and frame["patient.age"].iloc[0] == 45
    write_parquet(rows, tmp_path / "items.parquet")
    import pandas

    assert list(pandas.read_parquet(tmp_path / "items.parquet")["request"]) == hostile[: len(cells)]


# 8 and 9. Names are printed escaped; a closed stdout is not an error.


def test_a_hostile_file_name_is_printed_escaped_and_kept_true_in_the_jsonl(tmp_path: Path, capsys) -> None:
    from imr_llm.cli import main

    folder = letters(tmp_path / "letters", 1)
    bad = folder / "a\x1b[31mb\rforged.txt"
    bad.write_text("   ")  # empty: a failure, so the name is printed
    out = tmp_path / "results.jsonl"
    assert main(["extract", str(folder), "--strategy", "rules", "--no-cache", "--out", str(out)]) == 1
    err = capsys.readouterr().err  # the progress bar's own carriage returns are in it, the name's are not
    assert "\x1b" not in err and "b\rforged" not in err
    assert "a\\x1b[31mb\\rforged.txt: failed: InvalidLetterError" in err
    [row] = read_rows(tmp_path / "results.errors.jsonl")
    assert row.id == bad.name


@pytest.mark.parametrize("batch", [False, True], ids=["one letter", "batch"])
def test_a_reader_that_left_is_exit_141_without_a_traceback(batch: bool) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as after `head -1`
    target = str(SAMPLES) if batch else str(SAMPLES / f"{NAME}.txt")
    try:
        done = cli("extract", target, "--strategy", "rules", "--no-cache", "-q", stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr and "Exception" not in done.stderr


# 10. Records that need review are counted.


def test_records_that_need_review_are_counted_in_the_summary() -> None:
    tally = Tally()
    letter = Letter(id="a.txt", path=Path("a.txt"), sha256=None)
    for reasons in ([], ["layout: 3 items announced, 2 found"], ["patient.age rejected"]):
        record = Determination.model_validate(gold(NAME) | {"needs_review": reasons})
        result = ExtractionResult(determination=record, model="rules", strategy="rules", usage=Usage(), attempts=0,
                                  latency_s=0.0, cache_hit=False, text="")  # fmt: skip
        tally.add(Outcome(letter, result=result))
    tally.add(Outcome(letter, error=OSError("unreadable")))
    assert (tally.ok, tally.needs_review, tally.failed) == (3, 2, 1)
    assert "3 extracted, 1 failed, 2 need review" in tally.summary()
