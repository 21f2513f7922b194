"""A review page: the letter with each extracted value's source highlighted, beside the record.

One self-contained HTML file (inline style and script, a Content-Security-Policy that
forbids any fetch), so it opens from disk or an email attachment with no network. Items
are coloured by decision; values the model gave, values not found in the letter, and —
when a gold record is given — disagreements with gold are marked. Clicking a row shows its
words in the letter; clicking highlighted words shows their row. A record with reasons in
`needs_review` opens with them in a banner.

This module also gives every `Determination` its notebook view (`_repr_html_`, the record table),
so that `imr_llm.schema` imports nothing above itself; `import imr_llm` registers it.
"""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from imr_llm.compare import Difference, differences
from imr_llm.files import private_file
from imr_llm.paths import FieldPath, leaves
from imr_llm.schema import NOT_LABELS, Determination, Evidence

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{padding:10px 18px;background:#243447;color:#fff}header h1{font-size:17px;margin:0}
header p{margin:2px 0 0;font-size:12px;opacity:.85}
main{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:14px;padding:14px}
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:10px 12px;
  overflow:auto;max-height:calc(100vh - 90px)}
pre{white-space:pre-wrap;font:12.5px/1.5 ui-monospace,Menlo,monospace;margin:0}
mark{border-radius:2px;padding:0 1px;cursor:pointer}
mark.letter{background:#dbe7ff}mark.upheld{background:#ffe2b8}mark.overturned{background:#c9f2d0}
mark.model{outline:1px dashed #7a4dd8}mark.focus,tr.focus td{box-shadow:0 0 0 2px #d12d5a inset;background:#ffd1de}
table{border-collapse:collapse;width:100%;font-size:12.5px}
td,th{border-bottom:1px solid #eceef1;padding:3px 6px;text-align:left;vertical-align:top}
tr.item-head td{font-weight:600;padding-top:10px}tr.upheld td:first-child{border-left:4px solid #f0a030}
tr.overturned td:first-child{border-left:4px solid #2e9e4c}
.badge{font-size:11px;border-radius:8px;padding:0 6px;margin-left:4px;white-space:nowrap}
.layout{background:#e7eef8}.model{background:#efe6ff}.ungrounded{background:#ffe5e5;color:#a00}
.mismatch{background:#fff1c2;color:#7a5200}.legend span{margin-right:10px}
.needs-review{margin:14px 14px 0;padding:8px 12px;border:1px solid #d12d5a;border-radius:6px;background:#fff0f3;
  color:#7a0d2c}.needs-review ul{margin:4px 0 0;padding-left:20px}
"""

SCRIPT = """
const byId = id => document.getElementById(id);
function focus(el){document.querySelectorAll('.focus').forEach(e=>e.classList.remove('focus'));
  if(el){el.classList.add('focus');el.scrollIntoView({block:'center'});}}
document.querySelectorAll('tr[data-mark]').forEach(tr=>tr.addEventListener('click',()=>{
  focus(byId(tr.dataset.mark));tr.classList.add('focus');}));
document.querySelectorAll('mark[data-row]').forEach(m=>m.addEventListener('click',()=>{
  focus(byId(m.dataset.row));m.classList.add('focus');}));
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _show(value: Any) -> str:
    if value is None or value == []:
        return "—"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _spans(record: Determination, text: str) -> list[Evidence]:
    return [
        e for e in record.evidence if e.start is not None and e.end is not None and 0 <= e.start < e.end <= len(text)
    ]


def _item_of(path: FieldPath, record: Determination) -> int | None:
    """The index of the item a path lies in, or None for a letter-level path."""
    keys = path.keys
    if len(keys) > 1 and keys[0] == "items" and isinstance(keys[1], int) and keys[1] < len(record.items):
        return keys[1]
    return None


def _decision_class(item: int | None, record: Determination) -> str:
    return record.items[item].decision.value if item is not None else "letter"


def _fields(record: Determination) -> list[tuple[FieldPath, Any]]:
    """The record's checkable fields as (path, value in JSON form), in table order."""
    return [(path, to_jsonable_python(value)) for path, value in leaves(record, skip=NOT_LABELS)]


def _row_for(path: str, fields: list[tuple[FieldPath, Any]]) -> str:
    """The table row a span belongs to: its own field's, or the first field under it."""
    return "row-" + str(next((p for p, _ in fields if p.under(path)), path))


def _letter_html(text: str, record: Determination, spans: list[Evidence], fields: list[tuple[FieldPath, Any]]) -> str:
    """The letter with a <mark> per evidence span; where spans overlap the innermost wins."""
    rows = {e.path: _row_for(e.path, fields) for e in spans}
    cuts = sorted({0, len(text), *(e.start for e in spans), *(e.end for e in spans)})  # type: ignore[misc]
    out, opened = [], set()
    for a, b in itertools.pairwise(cuts):
        covering = [(e.end - e.start, n, e) for n, e in enumerate(spans) if e.start <= a and b <= e.end]  # type: ignore[operator]
        chunk = html.escape(text[a:b])
        if not covering:
            out.append(chunk)
            continue
        _, n, e = min(covering, key=lambda c: (c[0], c[1]))
        anchor = f' id="ev-{n}"' if n not in opened else ""
        opened.add(n)
        classes = f"{_decision_class(_item_of(FieldPath.parse(e.path), record), record)} {e.source}"
        out.append(
            f'<mark{anchor} class="{classes}" data-path="{e.path}" data-start="{e.start}" data-end="{e.end}" '
            f'data-row="{html.escape(rows[e.path])}" title="{html.escape(e.path)}">{chunk}</mark>'
        )
    return "".join(out)


def record_table(record: Determination, text: str | None = None, gold: Determination | None = None) -> str:
    """The record as an HTML table: one row per field, with source, grounding and gold marks."""
    spans = _spans(record, text) if text is not None else []
    return _table(record, _fields(record), spans, differences(record, gold) if gold is not None else [])


def _table(
    record: Determination, fields: list[tuple[FieldPath, Any]], span_list: list[Evidence], differing: list[Difference]
) -> str:
    spans = {e.path: n for n, e in enumerate(span_list)}
    sources = {e.path: e.source for e in record.evidence}
    wrong = {d.path: d for d in differing if d.path is not None}
    rows, current_item = [], None
    for where, value in fields:
        path = str(where)
        item_index = _item_of(where, record)
        if item_index is not None and item_index != current_item:
            current_item = item_index
            item = record.items[item_index]
            rows.append(f'<tr class="item-head {item.decision.value}"><td colspan="2">Item {item_index + 1}: '
                        f"{html.escape(item.request)} — {item.decision.value.title()}</td></tr>")  # fmt: skip
        owners = (where, where.parent, where.parent.parent)
        owner = next((str(p) for p in owners if str(p) in sources), None)
        badges = []
        if owner is not None:
            badges.append(f'<span class="badge {sources[owner]}">{sources[owner]}</span>')
        if any(where.under(u) or FieldPath.parse(u).under(where) for u in record.ungrounded):
            badges.append('<span class="badge ungrounded">not in letter</span>')
        if path in wrong:
            badges.append(f'<span class="badge mismatch">gold: {html.escape(_show(wrong[path].expected))}</span>')
        mark = spans.get(path, spans.get(owner)) if owner else spans.get(path)
        link = f' data-mark="ev-{mark}"' if mark is not None else ""
        css = _decision_class(item_index, record)
        rows.append(f'<tr id="row-{html.escape(path)}" class="{css}"{link}><td><code>{html.escape(path)}</code></td>'
                    f"<td>{html.escape(_show(value))}{''.join(badges)}</td></tr>")  # fmt: skip
    missing = [d for d in differing if d.path is None]
    rows += [
        f'<tr class="mismatch"><td>gold item missed</td><td>{html.escape(str(d.expected))}</td></tr>' for d in missing
    ]
    return f"<table><thead><tr><th>field</th><th>value</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _banner(record: Determination) -> str:
    """Why a person should check this record, above everything else; nothing when nothing casts doubt."""
    if not record.needs_review:
        return ""
    reasons = "".join(f"<li>{html.escape(reason)}</li>" for reason in record.needs_review)
    return f'<div class="needs-review" role="alert"><strong>Needs review</strong><ul>{reasons}</ul></div>'


def render(text: str, record: Determination, *, title: str = "IMR letter", gold: Determination | None = None,
           note: str = "") -> str:  # fmt: skip
    """The review page for one letter and its record (and gold record, if any)."""
    fields, spans = _fields(record), _spans(record, text)
    wrong = differences(record, gold) if gold is not None else None
    summary = f"{len(record.items)} item(s) · {len(record.ungrounded)} value(s) not found in the letter"
    summary += f" · {len(wrong)} disagreement(s) with gold" if wrong is not None else ""
    summary += f" · {note}" if note else ""
    legend = ('<p class="legend"><span><mark class="letter">letter field</mark></span><span><mark class="upheld">'
              'upheld item</mark></span><span><mark class="overturned">overturned item</mark></span><span><mark '
              'class="letter model">from the model</mark></span></p>')  # fmt: skip
    data = json.dumps([e.model_dump() for e in spans]).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head>
<body><header><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p></header>{_banner(record)}
<main><section aria-label="letter">{legend}<pre id="letter">{_letter_html(text, record, spans, fields)}</pre></section>
<section aria-label="record">{_table(record, fields, spans, wrong or [])}</section></main>
<script type="application/json" id="evidence">{data}</script>
<script>{SCRIPT}</script></body></html>
"""


def write(path: str | Path, text: str, record: Determination, **kwargs: Any) -> Path:
    """Write the review page; the file holds the letter, so it is created readable by its owner
    only and written whole or not at all (`files.private_file`: a full disk leaves no partial page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render(text, record, **kwargs)
    with private_file(path) as fh:
        fh.write(page)
    return path


def _repr_html_(record: Determination) -> str:
    """A table in notebooks: one row per field, its source and whether the letter holds it."""
    return record_table(record)


Determination._repr_html_ = _repr_html_  # type: ignore[attr-defined]
