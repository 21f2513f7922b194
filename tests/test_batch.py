"""Batches: folders of .txt and .pdf in, JSONL out as letters finish, resumable, nothing lost."""

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from conftest import SAMPLES, fields, gold, gold_reply, sample, slow
from fake_server import FakeOpenAI, error
from imr_llm import Options, RetryPolicy, aextract_many, embedded, extract_many
from imr_llm.files import JsonlLog
from imr_llm.reading import read_pdf as pdf_text
from imr_llm.rows import read_rows
from imr_llm.sources import NoTextLayerError, discover

NAMES = sorted(p.stem for p in SAMPLES.glob("*.txt"))


def pdf_of(text: str) -> bytes:
    """A letter as the state publishes it: a PDF with a text layer, one PDF line per text line."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in text.split("\n"):
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """Two blank sheets through a scanner: pictures and no text layer, and nothing on them for OCR
    to read (scans with a letter on them are in test_ocr.py)."""
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(Image.new("L", (250, 350), 236), x=0, y=0, w=210, h=297)
    return bytes(pdf.output())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Five samples as text in nested folders, the same five as PDFs, and three bad letters."""
    root = tmp_path / "letters"
    for n, name in enumerate(NAMES):
        folder = root / ("2015" if n % 2 else "2014") / "text"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / f"{name}.txt", folder / f"{name}.txt")
        (root / "pdf").mkdir(exist_ok=True)
        (root / "pdf" / f"{name}.pdf").write_bytes(pdf_of(sample(name)))
    (root / "bad").mkdir()
    (root / "bad" / "empty.txt").write_text("  \n ")
    (root / "bad" / "scan.pdf").write_bytes(scanned_pdf())
    (root / "bad" / "latin1.txt").write_bytes("Décision".encode("latin-1") * 50)
    (root / "notes.docx").write_bytes(b"ignored: not a letter format")
    return root


def test_discover_folders_globs_and_files_with_stable_ids(corpus: Path) -> None:
    letters = discover([corpus])
    ids = [letter.id for letter in letters]
    assert len(ids) == 13 and "notes.docx" not in ids
    assert f"2014/text/{NAMES[0]}.txt" in ids and f"pdf/{NAMES[0]}.pdf" in ids
    pdfs = discover([str(corpus / "pdf" / "*.pdf")])
    assert [x.id for x in pdfs] == [f"{n}.pdf" for n in NAMES]
    one = discover([corpus / "bad" / "empty.txt", corpus / "bad"])  # the same file twice: once
    assert [x.id for x in one] == ["empty.txt", "latin1.txt", "scan.pdf"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        discover([corpus / "missing"])


def test_pdf_text_reads_like_the_text_file() -> None:
    for name in NAMES:
        text = pdf_text(pdf_of(sample(name)))
        assert " ".join(text.split()) == " ".join(sample(name).split())


def test_scanned_or_broken_pdf_is_a_typed_error() -> None:
    with pytest.raises(NoTextLayerError, match="OCR"):
        pdf_text(scanned_pdf())
    with pytest.raises(ValueError, match="not a readable PDF"):
        pdf_text(b"%PDF-1.4\n garbage")


def test_a_folder_becomes_jsonl_and_bad_letters_an_errors_file(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    outcomes = list(extract_many([corpus], out=out, strategy="rules", cache=False, concurrency=3))
    assert len(outcomes) == 13 and sum(o.ok for o in outcomes) == 10
    rows = list(read_rows(out))
    assert len(rows) == 10 and all(r.ok for r in rows)
    for row in rows:  # text and PDF both give the gold record
        name = Path(row.id).stem
        assert fields(row.determination) == gold(name)
        assert row.sha256 and row.strategy == "rules"
    failures = {r.id: r.error for r in read_rows(tmp_path / "results.errors.jsonl")}
    assert failures.keys() == {"bad/empty.txt", "bad/scan.pdf", "bad/latin1.txt"}
    # A NoTextLayerError either way: OCR read nothing, or (OcrUnavailableError) no OCR engine is installed here.
    assert failures["bad/scan.pdf"].type in ("NoTextLayerError", "OcrUnavailableError")
    assert "not an IMR determination letter" in failures["bad/latin1.txt"].message  # read, not refused
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_rerun_does_only_new_and_changed_letters(corpus: Path, tmp_path: Path, fake) -> None:
    fake.queue(gold_reply)
    out = tmp_path / "results.jsonl"
    kwargs = {"out": out, "model": "m", "base_url": fake.base_url, "strategy": "whole", "cache": False}
    first = list(extract_many([corpus / "2014"], **kwargs))
    assert len(first) == 3 and len(fake.requests) == 3
    again = list(extract_many([corpus / "2014"], **kwargs))
    assert again == [] and len(fake.requests) == 3
    changed = corpus / "2014" / "text" / f"{NAMES[0]}.txt"
    changed.write_text(sample(NAMES[0]) + "\n")
    new = corpus / "2014" / "text" / "copy.txt"
    shutil.copy(SAMPLES / f"{NAMES[1]}.txt", new)
    redone = sorted(o.letter.id for o in extract_many([corpus / "2014"], **kwargs))
    assert redone == sorted(["text/copy.txt", f"text/{NAMES[0]}.txt"]) and len(fake.requests) == 5


def test_retry_failed_retries_only_the_failures(corpus: Path, tmp_path: Path, fake) -> None:
    out = tmp_path / "results.jsonl"
    kwargs = {"out": out, "model": "m", "base_url": fake.base_url, "strategy": "whole", "cache": False}
    fake.queue(error(401))  # a key problem: nothing can succeed
    assert not any(o.ok for o in extract_many([corpus / "2015"], **kwargs))
    errors = tmp_path / "results.errors.jsonl"
    assert [r.error.kind for r in read_rows(errors)] == ["api", "api"]
    fake.replies[:] = [gold_reply]
    assert list(extract_many([corpus / "2015"], **kwargs)) == []  # failures are skipped by default
    retried = list(extract_many([corpus / "2015", corpus / "bad" / "empty.txt"], retry_failed=True, **kwargs))
    assert sorted(o.letter.id for o in retried) == [f"text/{NAMES[1]}.txt", f"text/{NAMES[3]}.txt"]
    assert all(o.ok for o in retried) and len(list(read_rows(out))) == 2
    assert len(list(read_rows(errors))) == 2  # the log is append-only; a later success supersedes


def test_requests_run_concurrently_up_to_the_bound(tmp_path: Path, fake) -> None:
    for n in range(8):
        shutil.copy(SAMPLES / f"{NAMES[n % 5]}.txt", tmp_path / f"{n}.txt")
    fake.queue(slow(gold_reply, 0.3))
    outcomes = list(extract_many([tmp_path], concurrency=4, model="m", base_url=fake.base_url,
                                 strategy="whole", cache=False))  # fmt: skip
    assert all(o.ok for o in outcomes) and len(outcomes) == 8
    assert fake.peak == 4  # four requests at the server at once: overlapped, never more


class ServedByFake(embedded.EmbeddedServer):
    """The embedded default (what `resolve` picks when no model is named) with a scripted server in
    llama.cpp's place: requests take the embedded path, and no model process is started."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def base_url(self) -> str:
        return self.url


def test_a_busy_embedded_server_makes_a_batch_slower_not_failed(tmp_path: Path, monkeypatch) -> None:
    """The embedded server answers one request at a time and queues the rest. At concurrency 4 each
    request's deadline ran while it queued behind the others, and letters failed with
    APITimeoutError. Here four answers take 1.6 s in all, each request 1 s at most."""
    for n in range(4):
        shutil.copy(SAMPLES / f"{NAMES[n]}.txt", tmp_path / f"{n}.txt")
    with FakeOpenAI(one_at_a_time=True) as server:
        server.queue(slow(gold_reply, 0.4))
        monkeypatch.setattr(embedded, "default_server", ServedByFake(server.base_url))
        once = Options(retry=RetryPolicy(max_attempts=1), timeout=1.0)
        outcomes = list(extract_many([tmp_path], concurrency=4, strategy="whole", cache=False, options=once))
    assert [str(o.error) for o in outcomes if not o.ok] == []  # before: "endpoint kept failing: APITimeoutError"
    assert len(outcomes) == 4 and len(server.requests) == 4
    assert server.peak == 1  # the others waited on this side, their deadlines not yet started


def test_async_form_gives_the_same_records(corpus: Path) -> None:
    async def collect() -> list:
        return [o async for o in aextract_many([corpus / "pdf"], concurrency=2, strategy="rules", cache=False)]

    outcomes = asyncio.run(collect())
    assert sorted(o.letter.id for o in outcomes) == [f"{n}.pdf" for n in NAMES]
    assert all(fields(o.result.determination) == gold(o.letter.id[:-4]) for o in outcomes)


def test_async_form_keeps_to_the_concurrency_bound(tmp_path: Path, fake) -> None:
    (tmp_path / "letters").mkdir()
    for n in range(6):
        shutil.copy(SAMPLES / f"{NAMES[n % 5]}.txt", tmp_path / "letters" / f"{n}.txt")
    fake.queue(slow(gold_reply, 0.3))

    async def collect() -> list:
        letters = aextract_many([tmp_path / "letters"], concurrency=2, model="m", base_url=fake.base_url,
                                strategy="whole", cache=False, out=tmp_path / "out" / "r.jsonl")  # fmt: skip
        return [o async for o in letters]

    outcomes = asyncio.run(collect())
    assert len(outcomes) == 6 and all(o.ok for o in outcomes) and fake.peak == 2
    assert len((tmp_path / "out" / "r.jsonl").read_text().splitlines()) == 6


def test_a_torn_last_line_is_cut_off_and_redone(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    list(extract_many([corpus / "pdf"], out=out, strategy="rules", cache=False))
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:-1]) + lines[-1][:50])  # power cut mid-line
    again = list(extract_many([corpus / "pdf"], out=out, strategy="rules", cache=False))
    assert len(again) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]  # every line parses
    assert sorted(r["id"] for r in rows) == [f"{n}.pdf" for n in NAMES]


def test_jsonl_log_writes_whole_lines_from_many_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pydantic import BaseModel

    class Padded(BaseModel):
        id: str
        pad: str

    big = "x" * 300_000  # larger than a pipe buffer: still one line
    with JsonlLog(tmp_path / "log.jsonl") as log, ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: log.write(Padded(id=str(n), pad=big)), range(64)))
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert sorted(int(r["id"]) for r in rows) == list(range(64))
