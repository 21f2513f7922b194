"""What real files do to the reading path: PDFs that crash pdfminer, Notepad's UTF-16, turned
pages, long files whose pages repeat a line of the letter, and a case number that only the
running footer states. Every file here is real bytes: PDFs typeset by fpdf2 (as
`evals/forms.py` typesets the corpus), edited by hand only where fpdf2 cannot make the case."""

from __future__ import annotations

import codecs
import io
import re
import struct
import sys
from pathlib import Path

import pytest
from fpdf import FPDF

from conftest import ROOT, SAMPLES, sample
from imr_llm import InvalidLetterError, canonical, extract_many, reading
from imr_llm.reading import NoTextLayerError
from imr_llm.rows import read_rows

sys.path.insert(0, str(ROOT / "evals"))
import forms

NAME = sorted(p.stem for p in SAMPLES.glob("*.txt"))[1]  # the shortest sample: two typeset pages
FOOTER = re.compile(r"Final Determination Letter for|Page \d+ of \d+")


@pytest.fixture(scope="module")
def letter() -> forms.Letter:
    [found] = [x for x in forms.letters() if x.name == NAME]
    return found


@pytest.fixture(scope="module")
def typeset(letter: forms.Letter) -> bytes:
    """The letter as the state publishes it (the corpus's `pdf` form)."""
    return forms.pdf(letter)


def with_xref(data: bytes) -> bytes:
    """A PDF edited by hand, its cross-reference table written again for the objects' new places
    (the objects of fpdf2's output are never in streams, so each starts a line "N 0 obj")."""
    body = data[: data.rindex(b"\nxref\n") + 1]
    offsets = {int(m[1]): m.start() for m in re.finditer(rb"(?m)^(\d+) 0 obj\b", body)}
    count = max(offsets) + 1
    table = b"xref\n0 %d\n0000000000 65535 f \n" % count
    table += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, count))
    trailer = data[data.index(b"trailer", len(body)) : data.rindex(b"startxref")]
    return body + table + trailer + b"startxref\n%d\n%%%%EOF\n" % len(body)


# --- 1. a PDF that crashes pdfminer -----------------------------------------------------------


def bad_octal_pdf() -> bytes:
    """A one-page PDF whose text string holds the escape "\\777", an octal code over 255: what
    fuzzing found makes pdfminer fail an `assert` in its string parser."""
    doc = FPDF()
    doc.compress = False
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.cell(0, 10, "Upheld")
    data = bytes(doc.output())
    assert b"(Upheld)" in data
    return with_xref(data.replace(b"(Upheld)", b"(Uphe\\777ld)"))


def test_pdfminer_really_fails_an_assert_on_a_bad_octal_escape() -> None:
    from pdfminer.high_level import extract_pages

    with pytest.raises(AssertionError, match="Invalid octal"):
        list(extract_pages(io.BytesIO(bad_octal_pdf())))


def test_a_pdf_that_crashes_pdfminer_is_an_invalid_letter() -> None:
    with pytest.raises(InvalidLetterError, match=r"^not a readable PDF \(AssertionError\)$"):
        reading.read(bad_octal_pdf())


def test_a_batch_records_the_pdf_that_crashes_pdfminer_and_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "a_fuzzed.pdf").write_bytes(bad_octal_pdf())
    (folder / "b_letter.txt").write_text(sample(NAME), encoding="utf-8")
    out = tmp_path / "results.jsonl"
    outcomes = list(extract_many([folder], out=out, strategy="rules", cache=False))
    assert sorted((o.letter.id, o.ok) for o in outcomes) == [("a_fuzzed.pdf", False), ("b_letter.txt", True)]
    [failure] = read_rows(tmp_path / "results.errors.jsonl")
    assert (failure.id, failure.error.type) == ("a_fuzzed.pdf", "InvalidLetterError")


# --- 2. UTF-16 text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),  # Notepad's "Unicode"
        (codecs.BOM_UTF16_BE, "utf-16-be"),  # Notepad's "Unicode big endian"
        (b"", "utf-16-le"),
        (b"", "utf-16-be"),
    ],
)
def test_utf16_text_with_or_without_a_bom_reads_as_its_utf8_twin(bom: bytes, codec: str, tmp_path: Path) -> None:
    text = sample(NAME).replace("\n", "\r\n").replace("'", "\u2019")  # as Notepad saves it
    path = tmp_path / "letter.txt"
    path.write_bytes(bom + text.encode(codec))
    assert reading.read(path) == reading.read(text.encode("utf-8"))


@pytest.mark.parametrize(
    "data",
    [
        struct.pack("<2048H", *(n % 200 + 1 for n in range(2048))),  # 16-bit samples: a NUL every other byte
        codecs.BOM_UTF16_LE + bytes(range(256)) * 8,
        codecs.BOM_UTF16_LE + "Upheld".encode("utf-16-le") + b"\x00\xd8",  # a lone surrogate
    ],
)
def test_binary_that_looks_like_utf16_is_still_refused(data: bytes) -> None:
    with pytest.raises(InvalidLetterError, match="binary data"):
        reading.read(data)


# --- 3. turned pages --------------------------------------------------------------------------


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_pages_turned_by_rotate_read_as_the_upright_pdf(typeset: bytes, rotate: int) -> None:
    turned = with_xref(typeset.replace(b"/Type /Page\n", b"/Rotate %d\n/Type /Page\n" % rotate))
    assert turned.count(b"/Rotate %d" % rotate) == typeset.count(b"/Type /Page\n") >= 2
    assert reading.read(turned) == reading.read(typeset)


def drawn_turned(letter: forms.Letter, angle: int) -> bytes:
    """The letter's paragraphs drawn in a frame turned `angle` degrees about the page's centre,
    eight paragraphs a page: what a landscape scan's text layer or a sideways form looks like."""
    doc = FPDF(unit="pt", format="letter")
    doc.set_auto_page_break(False)
    doc.set_font("Helvetica", size=10)
    paragraphs = [forms.latin1(p.text) for p in letter.paragraphs()]
    for first in range(0, len(paragraphs), 8):
        doc.add_page()
        with doc.rotation(angle, x=306, y=396):
            doc.set_xy(306 - 330, 396 - 250)
            for paragraph in paragraphs[first : first + 8]:
                doc.multi_cell(660, 12, paragraph, new_x="LEFT", new_y="NEXT")
                doc.ln(6)
    return bytes(doc.output())


@pytest.mark.parametrize("angle", [90, 270])
def test_text_drawn_sideways_reads_as_the_same_text_drawn_upright(letter: forms.Letter, angle: int) -> None:
    upright = reading.read(drawn_turned(letter, 0))
    assert "Upheld" in upright or "Overturned" in upright
    assert reading.read(drawn_turned(letter, angle)) == upright


# --- 4. long files whose pages repeat a line of the letter ------------------------------------

REPEATED = ("Decision rationale: see attached", "Upheld")


def repeating_pdf(pages: int) -> bytes:
    """A letter whose every page after the first holds the same two lines of its body, with the
    state's running footer ("... IMR Case Number CM14-0087654", "Page N of M") on every page."""
    doc = forms._Letterhead("Final Determination Letter for IMR Case Number CM14-0087654")
    doc.set_font("Helvetica", size=11)
    doc.add_page()
    for line in ("Independent Medical Review", "Final Determination Letter", "Treatment: Physical therapy"):
        doc.cell(0, 14, line, new_x="LMARGIN", new_y="NEXT")
    for _ in range(pages - 1):
        doc.add_page()
        for line in REPEATED:
            doc.cell(0, 14, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def test_a_500_page_pdf_whose_pages_repeat_a_body_line_keeps_it_and_drops_the_footer() -> None:
    text = reading.read(repeating_pdf(500))
    assert text.count(REPEATED[0]) == 499 and len(re.findall(r"(?m)^Upheld$", text)) == 499
    assert not FOOTER.search(text) and "CM14" not in text


def test_lines_repeated_at_every_page_edge_stay_when_they_are_most_of_the_text() -> None:
    pages = [f"Physical therapy, six visits\nDecision rationale: see attached\nUpheld\nPage {n} of 4" for n in range(4)]
    text = canonical.unpaginate(pages)
    assert text.count("Physical therapy, six visits\nDecision rationale: see attached\nUpheld") == 4
    assert "Page" not in text


def test_a_page_counter_at_every_edge_is_furniture_even_when_it_is_all_the_text() -> None:
    """A scan whose only text layer is the fax machine's stamp is still a scan (to OCR)."""
    doc = FPDF()
    doc.set_font("Helvetica", size=8)
    for n in range(12):
        doc.add_page()
        doc.cell(0, 5, f"Jul 14 2015 10:{n:02d}AM  From: Maximus Federal Services  (916) 555-0100  p. {n + 1}/12")
        doc.rect(20, 20, 170, 250, style="F")
    with pytest.raises(NoTextLayerError, match="OCR"):
        reading.read(bytes(doc.output()))


# --- 5. the case number only the running footer states ----------------------------------------


class _Redacted(forms._Letterhead):
    """Pages whose footers state the case numbers `cases` in turn, the last for the rest."""

    def __init__(self, cases: tuple[str, ...]) -> None:
        super().__init__("")
        self.cases = cases

    def footer(self) -> None:
        self.footer_text = forms.FOOTER.format(case=self.cases[min(self.page_no(), len(self.cases)) - 1])
        super().footer()


def redacted(letter: forms.Letter, *cases: str) -> bytes:
    """The letter typeset with its header's case number blacked out (as the state posts letters),
    page N's running footer stating the Nth of `cases` (the last for the pages after)."""
    doc = _Redacted(cases)
    doc.set_font("Helvetica", size=11)
    doc.add_page()
    doc.cell(0, 14, "IMR Case Number: [redacted]", new_x="LMARGIN", new_y="NEXT")
    for paragraph in letter.paragraphs():
        for run in paragraph.runs:
            doc.multi_cell(0, 14, forms.latin1(run), new_x="LMARGIN", new_y="NEXT")
        doc.ln(7)
    assert doc.page_no() >= 2
    return bytes(doc.output())


def test_the_running_footer_gives_the_case_number_the_text_no_longer_holds(letter: forms.Letter) -> None:
    read = reading.read_letter(redacted(letter, "CM14-0087654")).letter
    assert read.footer_case_numbers == ("CM14-0087654",) and read.footer_case_number == "CM14-0087654"
    assert not read.footers_disagree
    assert "CM14-0087654" not in read.text and not FOOTER.search(read.text)
    assert read.text == reading.read(redacted(letter, "CM14-0087654"))


def test_footers_stating_two_case_numbers_give_none_and_say_they_disagree(letter: forms.Letter) -> None:
    read = reading.read_letter(redacted(letter, "CM14-0087654", "CM15-0000123")).letter
    assert read.footer_case_numbers == ("CM14-0087654", "CM15-0000123")
    assert read.footer_case_number is None and read.footers_disagree


@pytest.mark.parametrize(
    "header",
    [
        "IMR Case Number: cm14-0087654",
        "IMR Case No. CM14-0087654",
        "Case #: CM14-0087654",
        "Case# CM14-0087654",
        "Re: Case No CM14-0087654",
    ],
)
def test_a_running_header_with_the_case_number_gives_it_too(header: str) -> None:
    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    body = [f"the {word} line of the letter, long enough to be a full line of wrapped text" for word in words]
    pages = [f"{header}\n" + "\n".join(body[i : i + 4]) for i in range(0, 12, 4)]
    read = canonical.canonical_text(pages)
    assert read.text == "\n".join(body) and read.footer_case_number == "CM14-0087654"


def test_text_without_furniture_states_no_footer_case_number() -> None:
    read = reading.read_letter(sample(NAME)).letter
    assert read.text == sample(NAME) and read.footer_case_numbers == () and read.footer_case_number is None
