"""Every labeled letter in the forms letters really arrive in, and each form's score.

    python evals/forms.py build [--out DIR]          # default evals/corpus/forms
    python evals/forms.py eval [--forms DIR] [--strategy S] [--fail-under 0.95]

`build` takes each letter in `evals/samples/*.txt` (gold in `evals/gold/`) and
`evals/corpus/text/*.txt` (gold in `evals/corpus/gold/`) and writes it as
`<out>/<form>/<name>.<ext>` in every form of `FORMS`: a typeset PDF the way the state
publishes them, CRLF line endings, cp1252 bytes, form-fed pages with running footers,
Unicode typography (BOM, ligatures, NBSP, curly quotes, hyphenated wraps), ALL CAPS
headings, single spacing, and re-wrapped text with no blank lines. The content never
changes, only its form, so every form must score like the source text: `eval` runs the
library's evaluation over each form folder and prints one Markdown table row per form
(CI gates every form with `--fail-under`).

Output is deterministic (same bytes every run: fixed PDF dates, no randomness), so the
generated corpus can be kept in the repository and diffed.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF

from imr_llm.canonical import RUNNING_FOOTER, paragraph_gap
from imr_llm.schema import Determination

if TYPE_CHECKING:
    from imr_llm.evals.report import Report

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    (ROOT / "evals" / "samples", ROOT / "evals" / "gold"),
    (ROOT / "evals" / "corpus" / "text", ROOT / "evals" / "corpus" / "gold"),
)
DEFAULT_OUT = ROOT / "evals" / "corpus" / "forms"
LINES_PER_PAGE = 55
FOOTER = "Final Determination Letter for IMR Case Number {case}"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a letter: its source lines (stripped), whether it is a section title, and
    its runs: the lines a typesetter reflows, each ending where a source line stops short
    (a hard line break, as in "State(s) of Licensure: New York" over "Certification(s): ...")."""

    lines: tuple[str, ...]
    runs: tuple[str, ...]
    title: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.runs)


@dataclass(frozen=True)
class Letter:
    """A source letter: its name, its text as labeled, and the header facts its gold gives."""

    name: str
    text: str
    date_of_injury: date | None
    ur_denial_date: date | None
    labelled_case_number: str | None

    def footer(self) -> str:
        """The state's running footer: the case number gold gives, else "[REDACTED]" (a footer that
        stated a number gold does not hold would be a case number the letter states)."""
        return FOOTER.format(case=self.labelled_case_number or "[REDACTED]")

    def paragraphs(self) -> list[Paragraph]:
        return paragraphs(self.text)


def letters() -> list[Letter]:
    """Every labeled letter with a gold record, samples first, each group in name order."""
    found: list[Letter] = []
    for text_dir, gold_dir in SOURCES:
        for path in sorted(text_dir.glob("*.txt")) if text_dir.is_dir() else []:
            gold_path = gold_dir / f"{path.stem}.json"
            if not gold_path.is_file():
                continue
            gold = Determination.model_validate_json(gold_path.read_text(encoding="utf-8"))
            found.append(
                Letter(
                    name=path.stem,
                    text=path.read_text(encoding="utf-8"),
                    date_of_injury=gold.patient.date_of_injury,
                    ur_denial_date=gold.ur_decision_date,
                    labelled_case_number=gold.case_number,
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# The source's paragraphs


_BLANK_RUN = re.compile(r"\n(?:[ \t\f]*\n)+")
_TITLE = re.compile(r"^[^a-z]*[A-Z]{3}[^a-z]*$")
_HEADING = re.compile(r"^.{1,400}?:\s*(?:Upheld|Overturned)\b[ .]*$", re.S | re.I)
_LABEL = re.compile(
    r"^(?P<label>(?:Claims\s+Administrator|MAXIMUS|Expert\s+Reviewer|Reviewer)\s+guideline|Decision\s+rationale)\s*:",
    re.I | re.M,
)


def paragraphs(text: str) -> list[Paragraph]:
    """The letter's paragraphs (blank-line runs of `paragraph_gap` newlines end one); an ALL CAPS
    first line (a section title: "CLINICAL CASE SUMMARY") is a paragraph of its own."""
    gap = paragraph_gap(text)
    widths = sorted(len(line.strip()) for line in text.splitlines() if line.strip()) or [0]
    short = 0.75 * widths[int(0.8 * (len(widths) - 1))]
    pieces, pos = [], 0
    for m in _BLANK_RUN.finditer(text):
        if m.group().count("\n") >= gap:
            pieces.append(text[pos : m.start()])
            pos = m.end()
    pieces.append(text[pos:])
    found: list[Paragraph] = []
    for chunk in pieces:
        lines = tuple(line.strip() for line in chunk.splitlines() if line.strip())
        if not lines:
            continue
        if _TITLE.match(lines[0]) and len(lines[0]) <= 80:
            found.append(Paragraph(lines[:1], lines[:1], title=True))
            lines = lines[1:]
        if lines:
            found.append(Paragraph(lines, _runs(lines, short)))
    return found


_PART_START = re.compile(
    r"^(?:(?:Claims\s+Administrator|MAXIMUS|Expert\s+Reviewer|Reviewer)\s+guideline|Decision\s+rationale"
    r"|Medical\s+Treatment\s+Guideline|Rationale\s+for\s+the\s+Decision|Regarding\s+the\s+request|\d+\)\s)",
    re.I,
)
_PART_END = re.compile(r":\s*(?:(?:Upheld|Overturned)\b[ .]*)?$", re.I)


def _runs(lines: tuple[str, ...], short: float) -> tuple[str, ...]:
    """Lines joined into the runs a typesetter reflows. A run ends at a short line (the end of a
    paragraph in a source with no blank lines), after an item heading or a line that ends in a
    colon, and before a label or a numbered entry: those stand on their own lines in every
    published layout, whatever the source's spacing. Page furniture a source carries (a footer
    copied out of a PDF) stays a line of its own, as it was on the page."""
    runs, run = [], []
    for line in lines:
        if run and (_PART_START.match(line) or RUNNING_FOOTER.match(line)):
            runs.append(" ".join(" ".join(run).split()))
            run = []
        run.append(line)
        if len(line) < short or _PART_END.search(line) or RUNNING_FOOTER.match(line):
            runs.append(" ".join(" ".join(run).split()))
            run = []
    return tuple(runs + ([" ".join(" ".join(run).split())] if run else []))


def _wrapped(paragraph: Paragraph, width: int) -> list[str]:
    return [line for run in paragraph.runs for line in textwrap.wrap(run, width, break_long_words=False)]


# ---------------------------------------------------------------------------------------------
# Plain-text forms


def crlf(letter: Letter) -> bytes:
    return letter.text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _curly(text: str) -> str:
    """Typographer's quotes: apostrophes and quote pairs become the curly characters."""
    text = re.sub(r"(?<=\w)'(?=\w)", "\u2019", text)
    text = re.sub(r'"([^"\n]{1,200})"', "\u201c\\1\u201d", text)
    return re.sub(r"'([^'\n]{1,200})'", "\u2018\\1\u2019", text)


def _page_ranges(text: str) -> str:
    """An en dash in page ranges ("Page(s): 41-42" gets U+2013)."""
    return re.sub(r"(?i)\b(pages?(?:\(s\))?:?\s+\d+)-(?=\d)", "\\1\u2013", text)


def cp1252(letter: Letter) -> bytes:
    text = _page_ranges(_curly(letter.text))
    return text.encode("cp1252", errors="replace")


def pages(letter: Letter) -> bytes:
    """Pages of `LINES_PER_PAGE` source lines, each ending with the running footer, joined by
    form feeds: furniture lands wherever a page breaks, inside items and rationales."""
    lines = letter.text.split("\n")
    chunks = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    out = []
    for n, chunk in enumerate(chunks, start=1):
        body = "\n".join(chunk).rstrip("\n")
        out.append(f"{body}\n\n{letter.footer()}\n\nPage {n} of {len(chunks)}\n")
    return "\f".join(out).encode("utf-8")


_LIGATURES = (("ffi", "\ufb03"), ("ffl", "\ufb04"), ("fi", "\ufb01"), ("fl", "\ufb02"), ("ff", "\ufb00"))


def _hyphenate(words: list[str], width: int) -> list[str]:
    """Lines of at most ~`width` columns; a long word that does not fit is split across the
    break with a hyphen, as typesetting programs do."""
    lines: list[str] = []
    line = ""
    for word in words:
        room = width - len(line) - 1
        if line and len(word) > room:
            if re.fullmatch(r"[a-z]{9,}", word) and room >= 5:
                cut = max(4, min(room - 1, len(word) - 4))
                lines.append(f"{line} {word[:cut]}-")
                line = word[cut:]
                continue
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


def unicode_form(letter: Letter) -> bytes:
    """A UTF-8 BOM, ligatures, NBSP between numbers and units, curly quotes, and paragraphs
    re-wrapped at 70 columns with long words hyphenated across line breaks."""
    blocks = []
    for paragraph in letter.paragraphs():
        lines = [line for run in paragraph.runs for line in _hyphenate(run.split(), 70)]
        blocks.append("\n".join(lines))
    text = _curly("\n\n".join(blocks) + "\n")
    text = re.sub(r"(?<=\d) (?=(?:mg|mcg|ml|g|times|visits|sessions)\b)", "\u00a0", text)
    for plain, ligature in _LIGATURES:
        text = text.replace(plain, ligature)
    return "\ufeff".encode() + text.encode("utf-8")


def _escaped(replacement: str) -> str:
    return replacement.replace("\\", "\\\\")


def caps(letter: Letter) -> bytes:
    """Section titles, the item labels and the item headings in ALL CAPS (spacing as the source)."""
    text = _LABEL.sub(lambda m: m.group().upper(), letter.text)
    for paragraph in letter.paragraphs():
        if paragraph.title or _HEADING.match(paragraph.text):
            for line in paragraph.lines:
                text = re.sub(rf"(?m)^([ \t]*){re.escape(line)}", rf"\g<1>{_escaped(line.upper())}", text)
    return text.encode("utf-8")


def single(letter: Letter) -> bytes:
    """One newline between lines, a blank line between paragraphs."""
    return ("\n\n".join("\n".join(p.lines) for p in letter.paragraphs()) + "\n").encode("utf-8")


def wrapped(letter: Letter) -> bytes:
    """Paragraphs re-wrapped at 90 columns and no blank lines at all."""
    return ("\n".join(line for p in letter.paragraphs() for line in _wrapped(p, 90)) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------
# The typeset PDF

_LATIN1 = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
PDF_DATE = datetime(2014, 1, 2, tzinfo=timezone.utc)


def latin1(text: str) -> str:
    """What the PDF core fonts can draw: compatibility forms folded, other characters dropped."""
    text = unicodedata.normalize("NFKC", text.translate(_LATIN1))
    return text.encode("latin-1", errors="ignore").decode("latin-1")


class _Letterhead(FPDF):
    """US Letter pages with the state's running footer (case number, "Page N of M")."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="pt", format="letter")
        self.footer_text = footer_text
        self.set_margins(72, 72, 72)
        self.set_auto_page_break(True, margin=72)
        self.set_creation_date(PDF_DATE)
        self.set_producer("imr-llm evals/forms.py")

    def footer(self) -> None:
        self.set_y(-54)
        self.set_font("Helvetica", size=9)
        self.cell(0, 11, f"{self.footer_text}    Page {self.page_no()} of {{nb}}", align="C")


def header_lines(letter: Letter) -> list[str]:
    """Page 1's header block; a value gold leaves null is left out (so header and gold agree)."""
    lines = ["IMR Case Number: " + letter.labelled_case_number] if letter.labelled_case_number else []
    if letter.date_of_injury:
        lines.append(f"Date of Injury: {letter.date_of_injury:%m/%d/%Y}")
    if letter.ur_denial_date:
        lines.append(f"UR Denial Date: {letter.ur_denial_date:%m/%d/%Y}")
    return lines


def pdf(letter: Letter) -> bytes:
    """The letter typeset as the state publishes it: 11 pt, paragraphs wrapped by the PDF,
    section titles bold, a header block on page 1 and a running footer on every page."""
    doc = _Letterhead(letter.footer())
    doc.add_page()
    doc.set_font("Helvetica", style="B", size=13)
    for line in ("Independent Medical Review", "Final Determination Letter"):
        doc.cell(0, 16, line, new_x="LMARGIN", new_y="NEXT", align="C")
    doc.ln(10)
    doc.set_font("Helvetica", size=11)
    for line in header_lines(letter):
        doc.cell(0, 14, line, new_x="LMARGIN", new_y="NEXT")
    doc.ln(14)
    for paragraph in letter.paragraphs():
        doc.set_font("Helvetica", style="B" if paragraph.title else "", size=11)
        for run in paragraph.runs:
            doc.multi_cell(0, 14, latin1(run), new_x="LMARGIN", new_y="NEXT")
        doc.ln(7)
    return bytes(doc.output())


FORMS: dict[str, tuple[str, Callable[[Letter], bytes]]] = {
    "pdf": ("pdf", pdf),
    "crlf": ("txt", crlf),
    "cp1252": ("txt", cp1252),
    "pages": ("txt", pages),
    "unicode": ("txt", unicode_form),
    "caps": ("txt", caps),
    "single": ("txt", single),
    "wrapped": ("txt", wrapped),
}
"""Form name -> (file extension, builder of the letter's bytes in that form)."""


def build(out: Path, only: list[Letter] | None = None) -> Iterator[Path]:
    """Write every letter in every form under `out`; yields the paths written."""
    chosen = letters() if only is None else only
    for form, (ext, make) in FORMS.items():
        folder = out / form
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f"*.{ext}"):
            if stale.stem not in {letter.name for letter in chosen}:
                stale.unlink()
        for letter in chosen:
            path = folder / f"{letter.name}.{ext}"
            path.write_bytes(make(letter))
            yield path


GOLDS = [gold for _, gold in SOURCES]


def evaluate(forms: Path, strategy: str, cache: bool, names: Iterable[str] = FORMS) -> list[tuple[str, Report]]:
    """(form, report) for every form folder under `forms` (or those in `names`, e.g. the scans'
    `200dpi`), scored against every gold folder."""
    from imr_llm.evals.dataset import load
    from imr_llm.evals.run import evaluate as run

    golds = [g for g in GOLDS if g.is_dir()]
    folders = [forms / form for form in names if (forms / form).is_dir()]
    return [(folder.name, run(load(folder, golds), strategy=strategy, cache=cache)) for folder in folders]


def table(reports: list[tuple[str, Report]]) -> str:
    """One Markdown row per form: field accuracy, decisions, item F1 and letters failed."""
    rows = ["| form | letters | field accuracy | decisions | item F1 | failed |", "|---|---|---|---|---|---|"]
    for form, report in reports:
        s, meta = report.summary, report.meta
        rows.append(
            f"| {form} | {meta.letters} | {s.headline:.3f} | {s.decision_accuracy:.3f} "
            f"| {s.item_f1:.3f} | {meta.failed} |"
        )
    return "\n".join(rows)


def passes(report: Report, fail_under: float) -> bool:
    """The gate CI holds every form to: field accuracy at least `fail_under`, every decision right,
    every item found, no letter failed."""
    summary = report.summary
    return (
        summary.headline >= fail_under
        and summary.decision_accuracy == 1.0
        and summary.item_f1 == 1.0
        and report.meta.failed == 0
    )


def eval_arguments(parser: argparse.ArgumentParser, strategy: str = "rules") -> None:
    """The options every form eval takes: strategy, cache, and the gate."""
    parser.add_argument("--strategy", default=strategy, help=f"extraction strategy (default {strategy})")
    parser.add_argument("--no-cache", action="store_true", help="extract afresh, not from the record cache")
    parser.add_argument(
        "--fail-under", type=float,
        help="exit 1 when a form scores under this, or gets a decision wrong, misses an item or fails a letter",
    )  # fmt: skip


def gate(reports: list[tuple[str, Report]], fail_under: float | None) -> int:
    """Print the table; exit status 1 when a form misses the gate (`passes`) at `fail_under`."""
    print(table(reports))
    low = [form for form, report in reports if fail_under is not None and not passes(report, fail_under)]
    if low:
        print(f"under --fail-under {fail_under}: {', '.join(low)}", file=sys.stderr)
    return 1 if low else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="write every labeled letter in every form")
    p_build.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p_eval = sub.add_parser("eval", help="score every form folder; one Markdown table row per form")
    p_eval.add_argument("--forms", type=Path, default=DEFAULT_OUT, help="the folder `build` wrote")
    eval_arguments(p_eval)
    args = parser.parse_args(argv)
    if args.command == "build":
        written = list(build(args.out))
        print(f"wrote {len(written)} files under {args.out}")
        return 0
    return gate(evaluate(args.forms, args.strategy, cache=not args.no_cache), args.fail_under)


if __name__ == "__main__":
    sys.exit(main())
