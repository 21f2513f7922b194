"""Render eval reports (a dict from `run.evaluate`) as text, Markdown or HTML, and compare two."""

from __future__ import annotations

import html
from typing import Any


class Report(dict[str, Any]):
    """An eval report: a plain JSON-able dict (`meta`, `summary`, `letters`) that shows itself
    as a table in a notebook."""

    def _repr_html_(self) -> str:
        return to_html(self)

    def __repr__(self) -> str:
        return to_text(self)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def headline_lines(report: dict[str, Any]) -> list[str]:
    meta, s = report["meta"], report["summary"]
    lo, hi = s["interval"]
    return [
        f"model {meta['model']} · strategy {meta['strategy']} · mode {meta['mode']} · prompt {meta['prompt']} "
        f"({meta['prompt_sha256'][:12]}) · schema v{meta['schema_version']} · {meta['date']}",
        f"field accuracy (micro) {_pct(s['headline'])}  95% CI [{lo:.3f}, {hi:.3f}] over letters"
        f" · macro {_pct(s['macro'])}",
        f"decision accuracy {_pct(s['decision_accuracy'])}",
        f"items: precision {_pct(s['item_precision'])} recall {_pct(s['item_recall'])} F1 {_pct(s['item_f1'])}",
        f"{meta['letters']} letters, {meta['failed']} failed, {meta['cache_hits']} from cache · "
        f"{meta['tokens']} tokens ({meta['tokens_per_letter']}/letter) · "
        f"{meta['seconds']} s ({meta['seconds_per_letter']} s/letter)",
    ]


def _rows(report: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    s = report["summary"]
    fields = [(path, _pct(value)) for path, value in s["per_field"].items()]
    letters = [(name, _pct(value)) for name, value in s["per_letter"].items()]
    return fields, letters


def to_text(report: dict[str, Any]) -> str:
    fields, letters = _rows(report)
    width = max(len(path) for path, _ in fields + letters)
    lines = [*headline_lines(report), "", f"{'field':<{width}}  score"]
    lines += [f"{path:<{width}}  {value}" for path, value in fields]
    lines += ["", f"{'letter':<{width}}  score"] + [f"{n:<{width}}  {v}" for n, v in letters]
    lines += [f"FAILED {r['letter']}: {r['error']}" for r in report["letters"] if not r["ok"]]
    return "\n".join(lines)


def to_markdown(report: dict[str, Any]) -> str:
    fields, letters = _rows(report)
    lines = ["# Eval report", ""] + [f"- {line}" for line in headline_lines(report)]
    lines += ["", "| field | score |", "| --- | --- |"] + [f"| `{p}` | {v} |" for p, v in fields]
    lines += ["", "| letter | score |", "| --- | --- |"] + [f"| {n} | {v} |" for n, v in letters]
    failures = [f"- {r['letter']}: {r['error']}" for r in report["letters"] if not r["ok"]]
    return "\n".join(lines + (["", "## Failures", *failures] if failures else [])) + "\n"


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Per-field scores of A and B and the change B - A: the prompt-experiment loop."""
    rows = compare_rows(a, b)
    width = max(len(r["field"]) for r in rows)
    lines = [
        *(
            f"{tag}: {m['model']} {m['strategy']} prompt {m['prompt']} ({m['prompt_sha256'][:12]})"
            for tag, m in (("A", a["meta"]), ("B", b["meta"]))
        ),
        "",
        f"{'field':<{width}}      A      B   B-A",
    ]
    for r in rows:
        delta = "" if r["delta"] is None else f"{r['delta']:+.3f}"
        lines.append(f"{r['field']:<{width}}  {_pct(r['A']):>5}  {_pct(r['B']):>5}  {delta}")
    return "\n".join(lines)


def to_html(report: dict[str, Any]) -> str:
    fields, letters = _rows(report)
    head = "".join(f"<li>{html.escape(line)}</li>" for line in headline_lines(report))
    table = "".join(f"<tr><td><code>{html.escape(p)}</code></td><td>{v}</td></tr>" for p, v in fields)
    per_letter = "".join(f"<tr><td>{html.escape(n)}</td><td>{v}</td></tr>" for n, v in letters)
    return (f"<ul>{head}</ul><table><tr><th>field</th><th>score</th></tr>{table}</table>"
            f"<table><tr><th>letter</th><th>score</th></tr>{per_letter}</table>")  # fmt: skip


def compare_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-field scores of A and B and B - A as rows (for a DataFrame or a plot)."""
    sa, sb = a["summary"], b["summary"]
    paths = ["headline", "decision_accuracy", "item_f1", *dict.fromkeys([*sa["per_field"], *sb["per_field"]])]
    rows = []
    for path in paths:
        x = sa[path] if path in sa else sa["per_field"].get(path)
        y = sb[path] if path in sb else sb["per_field"].get(path)
        rows.append({"field": path, "A": x, "B": y, "delta": None if x is None or y is None else y - x})
    return rows
