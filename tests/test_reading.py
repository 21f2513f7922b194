"""One reading path: every form a letter arrives in reads to the text its source reads to.

The forms are built by `evals/forms.py` (the generator the team's form corpus comes from):
typeset PDFs with running footers, CRLF, cp1252, form-fed pages, Unicode typography, ALL CAPS,
single spacing and re-wrapped text."""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import pytest

from conftest import GOLD, ROOT, SAMPLES, fields, sample
from imr_llm import InvalidLetterError, canonical, extract_result, reading
from imr_llm.batch import Outcome
from imr_llm.cli import main
from imr_llm.evals.dataset import DatasetError, load
from imr_llm.evals.run import evaluate
from imr_llm.evals.score import score_letter
from imr_llm.reading import LegacyEncodingWarning, NoTextLayerError
from imr_llm.sources import Letter

sys.path.insert(0, str(ROOT / "evals"))
import forms

NAMES = sorted(p.stem for p in SAMPLES.glob("*.txt"))
SAME_RECORD = ["pdf", "crlf", "cp1252", "pages", "unicode", "single"]
"""Forms the current layout reads to exactly the source's record (caps and wrapped need layout work)."""
FURNITURE = re.compile(r"Final Determination Letter for|Page \d+ of \d+|CM1\d-\d{7}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sample in every form, written by the generator."""
    out = tmp_path_factory.mktemp("forms")
    samples = [letter for letter in forms.letters() if letter.name in NAMES]
    assert len(list(forms.build(out, samples))) == len(NAMES) * len(forms.FORMS)
    return out


def form_file(built: Path, form: str, name: str) -> Path:
    return built / form / f"{name}.{forms.FORMS[form][0]}"


@pytest.fixture(scope="module")
def source_records() -> dict[str, dict]:
    return {name: fields(extract_result(sample(name), strategy="rules", cache=False).determination) for name in NAMES}


@pytest.mark.parametrize("form", SAME_RECORD)
def test_each_form_extracts_to_the_source_letters_record(built: Path, source_records: dict, form: str) -> None:
    """The same record, so also: the PDF header's dates equal gold's, and no value or text keeps
    page furniture (footers, "Page N of M", the case number)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LegacyEncodingWarning)
        for name in NAMES:
            result = extract_result(form_file(built, form, name), strategy="rules", cache=False)
            assert fields(result.determination) == source_records[name], (form, name)
            assert not FURNITURE.search(json.dumps(fields(result.determination)))
            assert not re.search(r"Final Determination Letter for|Page \d+ of", result.text)


def test_caps_keeps_every_item_and_decision(built: Path, source_records: dict) -> None:
    for name in NAMES:
        record = fields(extract_result(form_file(built, "caps", name), strategy="rules", cache=False).determination)
        got = [(i["request"].lower(), i["decision"]) for i in record["items"]]
        assert got == [(i["request"].lower(), i["decision"]) for i in source_records[name]["items"]]


def test_a_crlf_twin_shares_the_cache_key_and_record(built: Path, tmp_path: Path) -> None:
    name = NAMES[0]
    first = extract_result(sample(name), strategy="rules", cache=tmp_path)
    twin = extract_result(form_file(built, "crlf", name).read_bytes(), strategy="rules", cache=tmp_path)
    assert twin.cache_hit and not first.cache_hit
    assert twin.determination == first.determination and twin.text == first.text


def test_cp1252_is_read_with_a_warning_that_names_the_file_only(built: Path) -> None:
    path = form_file(built, "cp1252", NAMES[4])
    assert not path.read_bytes().isascii()
    with pytest.warns(LegacyEncodingWarning) as caught:
        text = reading.read(path)
    [warning] = caught
    assert str(warning.message) == f"{path.name} is not UTF-8; read as Windows-1252"
    assert text == reading.read(sample(NAMES[4]))


def test_bytes_cp1252_cannot_decode_read_as_latin1() -> None:
    letter = sample(NAMES[0]).encode() + b"\x81\x8d caf\xe9"
    with pytest.warns(LegacyEncodingWarning):
        assert reading.read(letter).endswith("\x81\x8d caf\u00e9")


def test_eval_scores_each_form_exactly_as_extract_reads_it(built: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LegacyEncodingWarning)
        for form in forms.FORMS:
            cases = load(built / form, GOLD)
            report = evaluate(cases, strategy="rules", cache=False)
            for case, row in zip(cases, report.letters, strict=True):
                record = extract_result(case.path, strategy="rules", cache=False).determination
                assert row.score == score_letter(case.name, record, case.gold).score, (form, case.name)


def test_a_pdf_with_only_its_footer_has_no_text_layer() -> None:
    doc = forms._Letterhead("Final Determination Letter for IMR Case Number CM14-0000001")
    for _ in range(3):
        doc.add_page()
    with pytest.raises(NoTextLayerError, match="without a text layer"):
        reading.read(bytes(doc.output()))


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    [letter] = [x for x in forms.letters() if x.name == NAMES[1]]
    assert all(make(letter) == make(letter) for _, make in forms.FORMS.values())


# --- the canonical text ---------------------------------------------------------------------


def test_samples_are_canonical_already_and_reading_is_idempotent(built: Path) -> None:
    for name in NAMES:
        assert reading.read(sample(name)) == sample(name)
    for path in built.rglob("*.*"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LegacyEncodingWarning)
            text = reading.read(path)
        assert reading.read(text) == text, path


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("the cri-\nteria are met", "the criteria\nare met"),
        ("medi-\n\ncally necessary", "medically\n\nnecessary"),
        ("Non-\nMTUS Citation", "Non-\nMTUS Citation"),
        ("a follow-\nup visit", "a follow-\nup visit"),
        ("the re-\nevaluation", "the re-\nevaluation"),
        ("a self-\nreported score", "a self-\nreported score"),
        ("an anti-\nspasmodic; an anti-spasmodic", "an anti-\nspasmodic; an anti-spasmodic"),
        ("week-\nly; weekly", "weekly;\nweekly"),
        ("L4-\nL5", "L4-\nL5"),
        ("docu\u00ad\nmentation", "documentation"),
    ],
)
def test_words_hyphenated_across_a_line_break(written: str, read: str) -> None:
    assert canonical.dehyphenate(written) == read


def test_a_hyphen_at_a_paragraph_break_is_left_alone() -> None:
    assert canonical.dehyphenate("one two three-\n\n\nfour") == "one two three-\n\n\nfour"


def test_unicode_forms_fold_to_the_plain_characters() -> None:
    text = (
        "\ufeffCerti\ufb01ed \u201cO\ufb03cial\u201d \u2013 patient\u2019s 5\u00a0mg\u2009x\u200b2 \u00bd\r\nnext\rline"
    )
    assert canonical.characters(text) == 'Certified "Official" - patient\'s 5 mg x2 1/2\nnext\nline'


def test_running_headers_footers_and_page_numbers_go_wherever_they_fall() -> None:
    body = [f"line {i} of the letter, long enough to be a full line of wrapped text here" for i in range(12)]
    pages = [
        "\n".join(["Acme Review Services  ref 20-1", *body[:4], "", "Final Determination Letter for IMR Case Number "
                   "CM13-0000001 Page 1 of 3", "1"]),
        "\n".join(["Acme Review Services  ref 20-2", *body[4:8], "Page 2 of 3", "2"]),
        "\n".join(["Acme Review Services  ref 20-3", *body[8:], "Page 3 of 3"]),
    ]  # fmt: skip
    assert canonical.unpaginate(pages) == "\n".join(body)


def test_a_page_break_after_a_short_line_is_a_paragraph_break() -> None:
    full = [f"{word}: a full line of wrapped paragraph text that runs the whole width of the page" for word in "abcd"]
    pages = [f"{full[0]}\n{full[1]}\nthe paragraph ends.\nPage 1 of 2", f"{full[2]}\n{full[3]}\nPage 2 of 2"]
    assert canonical.unpaginate(pages) == f"{full[0]}\n{full[1]}\nthe paragraph ends.\n\n{full[2]}\n{full[3]}"
    runs_on = [f"{full[0]}\n{full[1]}\nPage 1 of 2", f"{full[2]}\n{full[3]}\nPage 2 of 2"]
    assert canonical.unpaginate(runs_on) == "\n".join(full)


def test_a_line_repeated_only_at_page_edges_is_furniture_but_body_text_is_not() -> None:
    filler = "\n".join(f"text line {i} with words" for i in range(6))
    pages = [f"Decision rationale: see below\n{filler}\nCONFIDENTIAL\n", f"{filler}\nCONFIDENTIAL", filler]
    text = canonical.unpaginate(pages)
    assert "CONFIDENTIAL" not in text and "Decision rationale: see below" in text


def test_a_2013_notice_is_a_letter_and_a_grocery_list_is_not() -> None:
    notice = (
        "Notice of Independent Medical Review Determination\n\nFinal Determination: UPHOLD\n\nThe reviewer "
        "has determined the request for Norco is not medically necessary and appropriate.\n"
    )
    assert reading.read(notice) == notice
    assert reading.read(notice.replace("UPHOLD", "OVERTURN").replace(" not", ""))
    with pytest.raises(InvalidLetterError, match="not an IMR determination letter"):
        reading.read("Milk, eggs, bread.\nCall the plumber about the sink.\n")


# --- every entry point reads the same text ----------------------------------------------------


def test_the_result_holds_the_canonical_text_and_batch_rows_do_not(built: Path) -> None:
    path = form_file(built, "unicode", NAMES[0])
    letter = Letter.at(path, path.parent)
    result = extract_result(path, strategy="rules", cache=False)
    assert result.text == letter.read() == reading.read(path.read_bytes())
    assert "\ufb01" not in result.text and "Certified" in result.text
    [span] = [e for e in result.determination.evidence if e.path == "items.0.rationale"]
    assert " ".join(result.text[span.start : span.end].split()) == result.determination.items[0].rationale
    row = Outcome(letter, result=result).row().model_dump_json()
    assert "text" not in json.loads(row) and result.text[:500] not in row


def test_the_review_page_shows_the_canonical_text(built: Path, tmp_path: Path) -> None:
    path = form_file(built, "unicode", NAMES[0])
    page = tmp_path / "review.html"
    assert main(["review", str(path), "--strategy", "rules", "--no-cache", "--out", str(page)]) == 0
    html = page.read_text()
    assert "Certified" in html and "\ufb01" not in html


def test_eval_reads_pdfs_and_searches_gold_folders_in_order(built: Path, tmp_path: Path) -> None:
    empty, other = tmp_path / "empty", tmp_path / "other"
    empty.mkdir()
    other.mkdir()
    (other / f"{NAMES[0]}.json").write_text('{"items": []}')  # invalid, but a later folder: never read
    cases = load(built / "pdf", [empty, GOLD, other])
    assert [c.name for c in cases] == NAMES and all(c.path.suffix == ".pdf" for c in cases)
    with pytest.raises(DatasetError, match="has no gold record") as info:
        load(built / "pdf", [empty])
    assert str(empty) in str(info.value)
    with pytest.raises(DatasetError, match=r"items\.0|reviewer") as info:
        load(built / "pdf", [other, GOLD])
    out = tmp_path / "report.json"
    args = ["eval", "--samples", str(built / "pdf"), "--gold", str(empty), "--gold", str(GOLD)]
    assert main([*args, "--strategy", "rules", "--no-cache", "--out", str(out), "--fail-under", "0.99"]) == 0
    assert json.loads(out.read_text())["summary"]["headline"] == 1.0
