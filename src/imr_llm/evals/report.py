"""An eval report as a typed object (`Report`: `meta`, `summary`, `letters`), written as JSON, read
back for `compare`, and rendered as text, Markdown or HTML.

The JSON is what earlier versions wrote (`meta`, `summary` as `score.Summary`, one object per
letter without the fields that do not apply), so `imr-llm eval compare` reads old reports.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from imr_llm.evals.score import Summary
from imr_llm.rows import Compact


class Meta(BaseModel):
    """What was run (model, strategy, mode, prompt, schema, date) and what it cost."""

    model: str
    strategy: str
    mode: str
    prompt: str
    prompt_sha256: str
    schema_version: str
    date: str
    letters: int
    failed: int
    cache_hits: int
    tokens: int
    seconds: float
    tokens_per_letter: float | None
    seconds_per_letter: float | None


class LetterRun(Compact):
    """One letter of an eval: its score, and what its extraction cost or why it failed."""

    ALWAYS = frozenset({"letter", "ok", "score"})

    letter: str
    ok: bool
    error: str | None = None
    tokens: int | None = None
    calls: int | None = None
    seconds: float | None = None
    cache_hit: bool | None = None
    score: float


class Report(BaseModel):
    """An eval report; shows itself as a table in a notebook."""

    meta: Meta
    summary: Summary
    letters: list[LetterRun]

    @classmethod
    def read(cls, path: str | Path) -> Report:
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def _repr_html_(self) -> str:
        return to_html(self)

    def __repr__(self) -> str:
        return to_text(self)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def headline_lines(report: Report) -> list[str]:
    meta, s = report.meta, report.summary
    lo, hi = s.interval
    return [
        f"model {meta.model} · strategy {meta.strategy} · mode {meta.mode} · prompt {meta.prompt} "
        f"({meta.prompt_sha256[:12]}) · schema v{meta.schema_version} · {meta.date}",
        f"field accuracy (micro) {_pct(s.headline)}  95% CI [{lo:.3f}, {hi:.3f}] over letters · macro {_pct(s.macro)}",
        f"decision accuracy {_pct(s.decision_accuracy)}",
        f"items: precision {_pct(s.item_precision)} recall {_pct(s.item_recall)} F1 {_pct(s.item_f1)}",
        f"{meta.letters} letters, {meta.failed} failed, {meta.cache_hits} from cache · "
        f"{meta.tokens} tokens ({meta.tokens_per_letter}/letter) · "
        f"{meta.seconds} s ({meta.seconds_per_letter} s/letter)",
    ]


def _rows(report: Report) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    s = report.summary
    fields = [(path, _pct(value)) for path, value in s.per_field.items()]
    letters = [(name, _pct(value)) for name, value in s.per_letter.items()]
    return fields, letters


def to_text(report: Report) -> str:
    fields, letters = _rows(report)
    width = max(len(path) for path, _ in fields + letters)
    lines = [*headline_lines(report), "", f"{'field':<{width}}  score"]
    lines += [f"{path:<{width}}  {value}" for path, value in fields]
    lines += ["", f"{'letter':<{width}}  score"] + [f"{n:<{width}}  {v}" for n, v in letters]
    lines += [f"FAILED {r.letter}: {r.error}" for r in report.letters if not r.ok]
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    fields, letters = _rows(report)
    lines = ["# Eval report", ""] + [f"- {line}" for line in headline_lines(report)]
    lines += ["", "| field | score |", "| --- | --- |"] + [f"| `{p}` | {v} |" for p, v in fields]
    lines += ["", "| letter | score |", "| --- | --- |"] + [f"| {n} | {v} |" for n, v in letters]
    failures = [f"- {r.letter}: {r.error}" for r in report.letters if not r.ok]
    return "\n".join(lines + (["", "## Failures", *failures] if failures else [])) + "\n"


def compare(a: Report, b: Report) -> str:
    """Per-field scores of A and B and the change B - A: the prompt-experiment loop."""
    rows = compare_rows(a, b)
    width = max(len(r.field) for r in rows)
    lines = [
        *(
            f"{tag}: {m.model} {m.strategy} prompt {m.prompt} ({m.prompt_sha256[:12]})"
            for tag, m in (("A", a.meta), ("B", b.meta))
        ),
        "",
        f"{'field':<{width}}      A      B   B-A",
    ]
    for r in rows:
        delta = "" if r.delta is None else f"{r.delta:+.3f}"
        lines.append(f"{r.field:<{width}}  {_pct(r.A):>5}  {_pct(r.B):>5}  {delta}")
    return "\n".join(lines)


def to_html(report: Report) -> str:
    fields, letters = _rows(report)
    head = "".join(f"<li>{html.escape(line)}</li>" for line in headline_lines(report))
    table = "".join(f"<tr><td><code>{html.escape(p)}</code></td><td>{v}</td></tr>" for p, v in fields)
    per_letter = "".join(f"<tr><td>{html.escape(n)}</td><td>{v}</td></tr>" for n, v in letters)
    return (f"<ul>{head}</ul><table><tr><th>field</th><th>score</th></tr>{table}</table>"
            f"<table><tr><th>letter</th><th>score</th></tr>{per_letter}</table>")  # fmt: skip


@dataclass(frozen=True)
class FieldDelta:
    """One field's score in reports A and B, and B - A (None where either has no score)."""

    field: str
    A: float | None
    B: float | None
    delta: float | None

    @classmethod
    def of(cls, field: str, a: float | None, b: float | None) -> FieldDelta:
        return cls(field, a, b, None if a is None or b is None else b - a)


HEADLINES = ("headline", "decision_accuracy", "item_f1")
"""The summary's aggregate scores, compared before the per-field ones."""


def compare_rows(a: Report, b: Report) -> list[FieldDelta]:
    """Per-field scores of A and B and B - A as rows (for a DataFrame or a plot)."""
    sa, sb = a.summary, b.summary
    rows = [FieldDelta.of(name, getattr(sa, name), getattr(sb, name)) for name in HEADLINES]
    paths = dict.fromkeys([*sa.per_field, *sb.per_field])
    return rows + [FieldDelta.of(path, sa.per_field.get(path), sb.per_field.get(path)) for path in paths]
