"""Scanned letters: image-only PDFs are read by OCR to the record their typed letter gives, and
the record says its text came from OCR.

The scans are made here as a scanner makes them: a sample letter typeset by `evals/forms.py`
(fpdf2), rendered to pictures, degraded (tilt, blur, speck, noise, JPEG) and wrapped as an image
PDF by `evals/scans.py`. Tests that run tesseract are marked `ocr` (seconds a page) and skip
with the install line where it is missing, except in CI (`CI=true`), where they must run."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pypdfium2
import pytest

from conftest import ROOT
from imr_llm import extract_many, extract_result, ocr, reading, to_dataframe
from imr_llm.cli import main
from imr_llm.errors import NoTextLayerError, OcrUnavailableError
from imr_llm.evals.score import score_letter
from imr_llm.export import write_csv
from imr_llm.options import Options
from imr_llm.result import Provenance
from imr_llm.rows import read_rows
from imr_llm.schema import Determination

sys.path.insert(0, str(ROOT / "evals"))
import forms
import scans

NAME = "unseen_03"
"""A two-page corpus letter with three items: overturned, upheld, overturned."""


def _missing() -> str | None:
    try:
        ocr.engine()
    except OcrUnavailableError as exc:
        return str(exc)
    return None


MISSING = _missing()
needs_engine = pytest.mark.skipif(MISSING is not None and os.environ.get("CI") != "true", reason=MISSING or "")


def slow_ocr(test: Callable[..., None]) -> Callable[..., None]:
    """Marks a test that runs tesseract: `ocr` (slow), skipped without the engine outside CI."""
    return pytest.mark.ocr(needs_engine(test))


@pytest.fixture(scope="module")
def typed() -> bytes:
    """The sample typeset as the state publishes it: a PDF with a text layer."""
    [letter] = [x for x in forms.letters() if x.name == NAME]
    return forms.pdf(letter)


@pytest.fixture(scope="module")
def scanned(typed: bytes) -> bytes:
    """The typed letter printed and scanned at 200 dpi: pictures only, no text layer."""
    return scans.scan(typed, 200, "test", skewed=2)


def decisions(record: Determination) -> list[str]:
    return [item.decision.value for item in record.items]


def gold_record() -> Determination:
    return Determination.model_validate_json((ROOT / "evals" / "corpus" / "gold" / f"{NAME}.json").read_text())


# --- reading a scan ----------------------------------------------------------------------------


@slow_ocr
def test_a_scanned_letter_extracts_to_its_records_gold(scanned: bytes) -> None:
    """Every decision right and the fields as the typed letter's; the text is said to be OCR's."""
    assert pdf_text_chars(scanned) == 0  # a scan: nothing for a PDF text reader
    with pytest.raises(NoTextLayerError, match="turned off"):
        reading.read_letter(scanned, ocr=False)
    result = extract_result(scanned, strategy="rules", cache=False)
    assert decisions(result.determination) == decisions(gold_record()) == ["overturned", "upheld", "overturned"]
    assert score_letter(NAME, result.determination, gold_record()).score >= 0.95  # an OCR slip costs a field
    assert result.provenance.source == "ocr" and result.provenance.ocr_pages == 2
    assert result.provenance.ocr_confidence is not None and result.provenance.ocr_confidence > ocr.LOW_CONFIDENCE
    assert not [reason for reason in result.determination.needs_review if "OCR" in reason]
    assert "OCR of 2 page(s)" in result.summary()


def pdf_text_chars(data: bytes) -> int:
    from imr_llm.pdftext import pdf_pages

    return sum(len(page.strip()) for page in pdf_pages(data))


@slow_ocr
def test_a_letter_fed_in_sideways_is_read_upright(typed: bytes) -> None:
    """Every page turned 90 degrees (and tilted): tesseract's orientation detection turns it back."""
    sideways = scans.scan(typed, 200, "sideways", sideways=True)
    with pypdfium2.PdfDocument(sideways) as document:
        assert all(page.get_width() > page.get_height() for page in document)  # landscape: the text runs down
    result = extract_result(sideways, strategy="rules", cache=False)
    assert decisions(result.determination) == decisions(gold_record())
    assert score_letter(NAME, result.determination, gold_record()).score >= 0.95  # an OCR slip costs a field


@slow_ocr
def test_a_page_scanned_upside_down_is_read_upright() -> None:
    """A sheet fed in head first (the PDF shows it turned 180 degrees): read in order, not as noise."""
    with pypdfium2.PdfDocument(quick_scan()) as document:
        document[0].set_rotation(180)
        buffer = io.BytesIO()
        document.save(buffer)
    [page] = ocr.read_pages(buffer.getvalue(), [0])
    lines = [line for line in page.text.splitlines() if line.strip()]
    assert lines[:2] == ["Independent Medical Review", "Final Determination Letter"]
    assert page.confidence is not None and page.confidence > ocr.LOW_CONFIDENCE


@slow_ocr
def test_a_page_scanned_into_a_typed_letter_is_the_only_page_read(typed: bytes, scanned: bytes) -> None:
    """Page 1 typed, page 2 a scan: OCR reads page 2 alone, and the letter reads whole."""
    mixed = pypdfium2.PdfDocument.new()
    with pypdfium2.PdfDocument(typed) as first, pypdfium2.PdfDocument(scanned) as second:
        mixed.import_pages(first, [0])
        mixed.import_pages(second, [1])
    buffer = io.BytesIO()
    mixed.save(buffer)
    mixed.close()
    read = reading.read_letter(buffer.getvalue())
    assert read.provenance.source == "ocr" and read.provenance.ocr_pages == 1
    assert reading.read_letter(typed).provenance == Provenance(source="pdf")  # a typed letter: no OCR at all
    result = extract_result(buffer.getvalue(), strategy="rules", cache=False)
    assert decisions(result.determination) == decisions(gold_record())


@slow_ocr
def test_rows_and_exports_say_which_text_came_from_ocr(
    tmp_path: Path, typed: bytes, scanned: bytes, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A batch (`imr-llm extract`) of the scan, the typed PDF and the text: each row and export
    row names its text's source; the scan's record, under a confidence bar it misses, says why it
    needs review; the batch's bar is joined by one for the scan's pages."""
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "scan.pdf").write_bytes(scanned)
    (letters / "typed.pdf").write_bytes(typed)
    shutil.copy(ROOT / "evals" / "corpus" / "text" / f"{NAME}.txt", letters / "text.txt")
    monkeypatch.setattr(ocr, "LOW_CONFIDENCE", 0.999)  # no scan is that sure: the reason must show
    out = tmp_path / "results.jsonl"
    assert main(["extract", str(letters), "--out", str(out), "--strategy", "rules", "--no-cache"]) == 0
    rows = {row.id: row for row in read_rows(out)}
    assert {k: row.provenance.source for k, row in rows.items() if row.provenance} == {
        "scan.pdf": "ocr", "typed.pdf": "pdf", "text.txt": "text"
    }  # fmt: skip
    assert rows["scan.pdf"].provenance.ocr_pages == 2
    reasons = {k: [r for r in row.determination.needs_review if "OCR" in r] for k, row in rows.items()}
    assert len(reasons["scan.pdf"]) == 1 and "under 1.00" in reasons["scan.pdf"][0]
    assert reasons["typed.pdf"] == reasons["text.txt"] == []
    frame = to_dataframe(out)
    by_letter = frame.groupby("letter").first()
    assert by_letter.loc["scan.pdf", "text_source"] == "ocr" and by_letter.loc["scan.pdf", "ocr_pages"] == 2
    assert 0 < by_letter.loc["scan.pdf", "ocr_confidence"] < 1
    assert by_letter.loc["text.txt", "text_source"] == "text"
    write_csv(out, tmp_path / "items.csv")
    assert "text_source,ocr_pages,ocr_confidence" in (tmp_path / "items.csv").read_text().splitlines()[0]
    assert "OCR scan.pdf" in capsys.readouterr().err  # the page bar names the file


# --- without the engine ------------------------------------------------------------------------


def quick_scan() -> bytes:
    """A one-page scan made in a blink (150 dpi): enough to need OCR."""
    [letter] = [x for x in forms.letters() if x.name == NAME]
    with pypdfium2.PdfDocument(forms.pdf(letter)) as document:
        single = pypdfium2.PdfDocument.new()
        single.import_pages(document, [0])
        buffer = io.BytesIO()
        single.save(buffer)
        single.close()
    return scans.scan(buffer.getvalue(), 150, "quick")


def test_without_an_engine_a_scan_fails_naming_the_install_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """No tesseract on PATH: a typed error that says how to install it, never "not a letter"; in a
    batch it is that letter's row and the rest go on; with OCR turned off, the old refusal."""
    scan = tmp_path / "letters" / "scan.pdf"
    scan.parent.mkdir()
    scan.write_bytes(quick_scan())
    shutil.copy(ROOT / "evals" / "corpus" / "text" / f"{NAME}.txt", scan.parent / "text.txt")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(OcrUnavailableError) as caught:
        reading.read(scan)
    assert ocr.INSTALL in str(caught.value) and "not an IMR" not in str(caught.value)
    assert isinstance(caught.value, NoTextLayerError)  # still a PDF without a text layer, for callers that ask that
    out = tmp_path / "results.jsonl"
    assert [o.ok for o in sorted(extract_many([scan.parent], out=out, strategy="rules", cache=False),
                                 key=lambda o: o.letter.id)] == [False, True]  # fmt: skip
    [failure] = read_rows(tmp_path / "results.errors.jsonl")
    assert failure.error.type == "OcrUnavailableError" and ocr.INSTALL in failure.error.message
    with pytest.raises(NoTextLayerError, match="turned off") as off:
        extract_result(scan, strategy="rules", cache=False, options=Options(ocr=False))
    assert not isinstance(off.value, OcrUnavailableError)
    assert main(["extract", str(scan), "--strategy", "rules", "--no-cache", "--no-ocr"]) == 1
    assert "NoTextLayerError" in capsys.readouterr().err


def test_scans_are_built_the_same_every_time() -> None:
    """`evals/scans.py` draws its noise from a fixed seed and dates its PDFs: same bytes every build."""
    assert quick_scan() == quick_scan()


@needs_engine
def test_tesseract_without_its_language_data_is_unavailable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    with pytest.raises(OcrUnavailableError, match="language data") as caught:
        ocr.engine()
    assert ocr.INSTALL in str(caught.value)


# --- the parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("quarter_turns", [0, 1, 2, 3])
@pytest.mark.parametrize("tilt", [2.4, -0.7])
def test_the_skew_is_found_whichever_way_up_the_page_is(typed: bytes, quarter_turns: int, tilt: float) -> None:
    with pypdfium2.PdfDocument(typed) as document:
        page = document[0].render(scale=100 / 72, grayscale=True).to_pil().convert("L")
    tilted = page.rotate(90 * quarter_turns, expand=True).rotate(tilt, expand=True, fillcolor=255)
    assert ocr.skew_angle(tilted) == pytest.approx(-tilt, abs=0.1)
    assert ocr.skew_angle(page) == pytest.approx(0.0, abs=0.1)


TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
PAGE = (1000, 1400)
"""The upright page's width and height, in pixels."""
MARKS = {":": (4, 4), "_": (3, 3), "-": (12, 3)}
"""Width and height of the marks: two specks, and a dash as wide as a real one."""


def scanned_box(box: tuple[int, int, int, int], quarter: int) -> tuple[int, int, int, int]:
    """Where a box (left, top, width, height) of the upright page lies on the page as scanned:
    turned `quarter` quarter-turns clockwise (tesseract reads it upright, but reports it as scanned)."""
    (left, top, width, height), (page_width, page_height) = box, PAGE
    return {
        0: (left, top, width, height),
        1: (page_height - top - height, left, height, width),
        2: (page_width - left - width, page_height - top - height, width, height),
        3: (top, page_width - left - width, height, width),
    }[quarter]


def tsv(*words: tuple[int, int, int, float, str], quarter: int = 0) -> str:
    """Tesseract's TSV for words given as (line, left, top, conf, text) on the upright page, 40
    pixels wide and 30 high (marks as in `MARKS`), on the page scanned `quarter` turns round."""
    size = PAGE if quarter % 2 == 0 else PAGE[::-1]
    rows = [TSV_HEADER, f"1\t1\t0\t0\t0\t0\t0\t0\t{size[0]}\t{size[1]}\t-1\t"]
    for number, (line, left, top, conf, text) in enumerate(words, start=1):
        box = scanned_box((left, top, *MARKS.get(text, (40, 30))), quarter)
        rows.append(f"5\t1\t1\t1\t{line}\t{number}\t" + "\t".join(map(str, box)) + f"\t{conf}\t{text}")
    return "\n".join(rows) + "\n"


WORDS = [
    (1, 100, 100, 96.0, "Flexeril"), (1, 200, 100, 90.0, "#60:"), (1, 300, 100, 95.0, "Upheld"),
    (1, 400, 120, 41.0, ":"), (1, 440, 110, 90.0, "_"),
    (2, 100, 170, 93.0, "Claims"), (2, 200, 170, 92.0, "Administrator"),
    (3, 100, 220, 91.0, "guideline"), (3, 200, 220, 97.0, "-"), (3, 300, 220, 90.0, "page"),
    (4, 100, 270, 95.0, "Decision"),
]  # fmt: skip
"""A heading with two specks after it (one read surely), a paragraph gap, two lines (one with a
spaced dash), one more."""


@pytest.mark.parametrize("quarter", [0, 1, 2, 3])
def test_tsv_lines_paragraphs_specks_and_confidence(quarter: int) -> None:
    """Lines as PDF lines are laid out (a wider gap makes a paragraph), however the page was turned
    when scanned; a speck read as a mark goes (a tiny box, or a small one tesseract is unsure of);
    confidences are fractions."""
    text, confidences = ocr._from_tsv(tsv(*WORDS, quarter=quarter))
    assert text == "Flexeril #60: Upheld\n\nClaims Administrator\nguideline - page\nDecision"
    assert len(confidences) == 9 and confidences[0] == pytest.approx(0.96)


def test_low_ocr_confidence_is_a_reason_to_review() -> None:
    assert ocr.doubts(Provenance(source="ocr", ocr_pages=2, ocr_confidence=0.95)) == []
    assert ocr.doubts(Provenance(source="pdf")) == []
    [reason] = ocr.doubts(Provenance(source="ocr", ocr_pages=2, ocr_confidence=0.62))
    assert "0.62" in reason and "OCR" in reason
