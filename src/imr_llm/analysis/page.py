"""The report as one self-contained HTML page: inline style, charts as inline SVG, no script.

The review page's discipline (`imr_llm.review.CSP`): a Content-Security-Policy that forbids
every fetch, so the page opens from disk or an attachment with no network and cannot leak what
it shows. Charts are SVG written here (a bar per group; for rates a whisker over the 95%
interval), small enough that no plotting library is needed. Every value from a letter (a
topic, a generic name, a specialty) is HTML-escaped. Tables show their largest `SHOWN` rows;
the CSV beside the page holds them all, with the same text in each cell.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from imr_llm.analysis.tables import YEAR_COLUMNS, Quality, Row, Table, YearRow, percent
from imr_llm.review import CSP

SHOWN = 25
"""Rows of a table shown on the page; the CSV has every row."""
CHARTED = 15
"""Bars in a chart: the largest groups."""
LABEL_CHARS = 46

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{padding:12px 22px;background:#243447;color:#fff}header h1{font-size:18px;margin:0}
header p{margin:3px 0 0;font-size:13px;opacity:.9}
main{max-width:1100px;margin:0 auto;padding:12px 18px}
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:10px 14px;margin:12px 0}
h2{font-size:15px;margin:2px 0 8px}p.note{font-size:12px;color:#555;margin:4px 0}
table{border-collapse:collapse;font-size:12.5px;margin-top:6px}
td,th{border-bottom:1px solid #eceef1;padding:2px 8px;text-align:right}
td:first-child,th:first-child,td.key,th.key{text-align:left}
svg{display:block;max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#1d232a}
.bar{fill:#6f93c9}.bar.items{fill:#8aa86f}.whisker{stroke:#243447;stroke-width:1.5}
.quality td:last-child{font-variant-numeric:tabular-nums}.alert{border-color:#d12d5a;background:#fff6f8}
"""


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def chart(name: str, bars: Sequence[tuple[str, float, str, tuple[float, float] | None]], kind: str) -> str:
    """A horizontal bar chart: (label, fraction of the axis, value text, interval or None) per bar."""
    width, left, height, top = 760, 300, 18, 22
    axis = "overturn rate (95% interval)" if kind == "rate" else "items"
    parts = [f'<text x="{left}" y="13">{axis}</text>']
    for i, (label, value, text, interval) in enumerate(bars):
        y = top + i * height
        span = width - left - 90
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{html.escape(_label(label))}'
                     f"<title>{html.escape(label)}</title></text>")  # fmt: skip
        parts.append(
            f'<rect class="bar {kind}" x="{left}" y="{y + 2}" width="{value * span:.1f}" height="{height - 5}"/>'
        )
        if interval is not None:
            low, high = (left + v * span for v in interval)
            parts.append(f'<line class="whisker" x1="{low:.1f}" x2="{high:.1f}" y1="{y + 8}" y2="{y + 8}"/>')
        parts.append(f'<text x="{left + span + 6}" y="{y + 12}">{html.escape(text)}</text>')
    total = top + len(bars) * height + 4
    return (f'<svg class="chart" data-table="{name}" role="img" aria-label="{html.escape(axis)} by group" '
            f'viewBox="0 0 {width} {total}" width="{width}" height="{total}">{"".join(parts)}</svg>')  # fmt: skip


def _bars(table: Table) -> list[tuple[str, float, str, tuple[float, float] | None]]:
    rows = table.rows[:CHARTED]
    label = (lambda r: " · ".join(r.key)) if len(table.key_columns) > 1 else (lambda r: r.key[0])
    if table.chart == "items":
        most = max((r.items for r in rows), default=1)
        return [(label(r), r.items / most, str(r.items), None) for r in rows]
    return [(label(r), r.rate, f"{percent(r.rate)}% of {r.items}", r.interval) for r in rows]


def _html_table(name: str, columns: Sequence[str], rows: Sequence[Sequence[str]], keys: int) -> str:
    head = "".join(f'<th class="{"key" if i < keys else "n"}">{html.escape(c)}</th>' for i, c in enumerate(columns))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"key" if i < keys else "n"}">{html.escape(c)}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _more(shown: int, total: int, name: str) -> str:
    return f'<p class="note">{total - shown} more row(s) in {name}.csv</p>' if total > shown else ""


def _section(table: Table) -> str:
    rows = [r.cells() for r in table.rows[:SHOWN]]
    note = table.note or ("" if rows else "No items to count.")
    parts = [
        f'<section id="{table.name}"><h2>{html.escape(table.title)}</h2>',
        f'<p class="note">{html.escape(note)}</p>' if note else "",
        chart(table.name, _bars(table), table.chart) if rows else "",
        _html_table(table.name, table.columns, rows, len(table.key_columns)),
        _more(len(rows), len(table.rows), table.name),
        "</section>",
    ]
    return "".join(parts)


def _years(years: Sequence[YearRow]) -> str:
    most = max((y.letters for y in years), default=1)
    bars = [(y.year, y.letters / most, f"{y.letters} letter(s), {y.items} item(s)", None) for y in years]
    return (f'<section id="by_year"><h2>Letters and items per year (decision date, else UR decision date)</h2>'
            f"{chart('by_year', bars, 'items') if years else ''}"
            f"{_html_table('by_year', YEAR_COLUMNS, [y.cells() for y in years], 1)}</section>")  # fmt: skip


def _quality(quality: Quality) -> str:
    lost = sum(quality.failed.values()) + sum(quality.invalid.values()) + quality.unreadable_lines
    alert = " alert" if lost or quality.needs_review_letters or quality.duplicates else ""
    return (f'<section id="quality" class="quality{alert}"><h2>What was read, what failed, what needs review</h2>'
            f"{_html_table('quality', ('measure', 'value'), quality.rows(), 1)}</section>")  # fmt: skip


def render(tables: Sequence[Table], years: Sequence[YearRow], quality: Quality, title: str) -> str:
    """The whole page."""
    overall: Row = tables[0].rows[0]
    low, high = overall.interval
    summary = (f"{quality.letters_counted} letter(s), {overall.items} item(s); overturned {overall.overturned} "
               f"({percent(overall.rate)}%, 95% interval {percent(low)}-{percent(high)}%). "
               f"Files: {', '.join(Path(f).name for f in quality.files)}")  # fmt: skip
    sections = "".join(_section(t) for t in tables)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head>
<body><header><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p></header>
<main>{_quality(quality)}{sections}{_years(years)}</main></body></html>
"""
