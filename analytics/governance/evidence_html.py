"""The evidence pack's ``index.html``: one self-contained page (inline CSS with print rules,
inline SVG bar charts, no script, no external resource). Every value from the store is escaped
with :func:`html.escape`, so ticket text such as ``<script>`` shows as text."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

import polars as pl

HTML_ROWS = 50  # rows per table in the page; the CSV beside it has all of them
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;
 margin:0 auto;max-width:1180px;padding:24px 32px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 6px;border-bottom:2px solid #d5dbe3;
 padding-bottom:4px}h3{font-size:15px;margin:18px 0 4px}
.meta{color:#52606d}nav ol{columns:2;margin:8px 0 0}
table{border-collapse:collapse;margin:6px 0 4px;font-size:12px;width:100%}
th,td{border:1px solid #d5dbe3;padding:3px 6px;text-align:left;vertical-align:top;
 overflow-wrap:break-word}
th{background:#eef2f6}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.s{white-space:nowrap}
.note{color:#52606d;font-size:12px}.ok{color:#1b7f3b;font-weight:600}.bad{color:#b3261e;font-weight:600}
.wrap{overflow-x:auto}svg{display:block;margin:6px 0}
@media print{body{max-width:none;padding:0;font-size:10pt}nav{display:none}
 h2{break-before:page;border-color:#000}section:first-of-type h2{break-before:auto}
 table{font-size:8pt}tr,svg{break-inside:avoid}thead{display:table-header-group}
 .wrap{overflow:visible}a{color:inherit;text-decoration:none}}
"""


def cell(value: Any) -> tuple[str, bool]:
    """(escaped text, is a number) of one table value.

    >>> cell("<script>alert(1)</script>")
    ('&lt;script&gt;alert(1)&lt;/script&gt;', False)
    >>> cell(0.123456), cell(10608.0), cell(12345.678)
    (('0.1235', True), ('10608', True), ('12345.7', True))
    """
    if value is None:
        return "—", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, float):
        if value != value:
            return "—", False
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)), True
        return (f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"), True
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, datetime):
        return escape(value.strftime("%Y-%m-%d %H:%M")), False
    if isinstance(value, date):
        return escape(value.isoformat()), False
    return escape(str(value)), False


def table(frame: pl.DataFrame, name: str, csv_path: str, headers: dict[str, str] | None = None) -> str:
    """An HTML table of at most :data:`HTML_ROWS` rows, naming the CSV with all of them."""
    if frame.height == 0:
        return f"<p class=note>{escape(name)}: no rows.</p>"
    headers = headers or {}
    head = "".join(f"<th>{escape(headers.get(c, c))}</th>" for c in frame.columns)
    body = []
    for row in frame.head(HTML_ROWS).iter_rows():
        cells = [cell(v) for v in row]
        # Numbers right-aligned; short text (dates, ids, months) kept on one line.
        body.append("<tr>" + "".join(f"<td class=n>{t}</td>" if n else
                                     f"<td class=s>{t}</td>" if len(t) <= 16 else f"<td>{t}</td>"
                                     for t, n in cells) + "</tr>")
    more = (f"showing {HTML_ROWS} of {frame.height} rows; " if frame.height > HTML_ROWS
            else f"{frame.height} row{'s' * (frame.height != 1)}; ")
    return (f"<div class=wrap><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
            f"</tbody></table></div><p class=note>{escape(name)}: {more}all in "
            f"<a href=\"{escape(csv_path)}\">{escape(csv_path)}</a>.</p>")


def bars(items: list[tuple[str, float, str]], *, title: str, width: int = 560,
         top: float | None = None) -> str:
    """A horizontal SVG bar chart of (label, value, shown text) rows.

    >>> "<svg" in bars([("a", 1.0, "1")], title="t")
    True
    """
    if not items:
        return ""
    top = top or max((v for _, v, _ in items), default=1.0) or 1.0
    row, left, right = 24, 150, 80
    height = row * len(items) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(title)}"><text x="0" y="14" font-size="13" '
             f'font-weight="600">{escape(title)}</text>']
    for i, (label, value, shown) in enumerate(items):
        y = 24 + i * row
        w = max(0.0, (width - left - right) * (value / top)) if value == value else 0.0
        parts.append(f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                     f'{escape(label)}</text><rect x="{left}" y="{y + 2}" width="{w:.1f}" '
                     f'height="{row - 8}" fill="#3b6ea8"/><text x="{left + w + 4:.1f}" '
                     f'y="{y + 14}" font-size="12">{escape(shown)}</text>')
    return "".join(parts) + "</svg>"


def charts(key: str, tables: dict[str, pl.DataFrame]) -> str:
    """The section's chart, when it has one."""
    if key == "release_success" and tables["by_criticality"].height:
        rows = tables["by_criticality"].iter_rows(named=True)
        return bars([(f"criticality {r['criticality']}", r["success_rate"] or 0.0,
                      f"{(r['success_rate'] or 0):.1%} of {r['deployments']}") for r in rows],
                    title="Release success rate by criticality", top=1.0)
    if key == "kpi_by_criticality" and tables["monthly"].height and "cfr" in tables["monthly"].columns:
        rows = tables["monthly"].iter_rows(named=True)
        return bars([(f"crit {r['criticality']} · {r['period']}", r["cfr"] or 0.0,
                      f"{(r['cfr'] or 0):.1%}") for r in rows],
                    title="Change failure rate per month by criticality")
    return ""


def render(sections: list[Any], meta: dict[str, Any]) -> str:
    """The whole page."""
    period = f"{meta['from']} – {meta['to']}"
    toc = "".join(f'<li><a href="#{escape(s.key)}">{escape(s.title)}</a></li>' for s in sections)
    out = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
           f"<title>Evidence pack {escape(period)}</title><style>{CSS}</style></head><body>",
           f"<h1>Evidence pack</h1><p class=meta>Period {escape(period)} ({escape(meta['timezone'])})"
           f" · sample seed {meta['seed']} · generated {escape(str(meta['generated_at']))} by "
           f"{escape(str(meta['generated_by']))}. Every number below is in data/ as JSON and CSV; "
           "manifest.json lists each file's SHA-256.</p>", f"<nav><ol>{toc}</ol></nav>"]
    for s in sections:
        out.append(f'<section id="{escape(s.key)}"><h2>{escape(s.title)}</h2>')
        if s.key == "audit":
            ok = s.data["verification"]["ok"]
            out.append(f"<p class={'ok' if ok else 'bad'}>{'Verified' if ok else 'NOT verified'}</p>")
        out.extend(f"<p>{escape(t)}</p>" for t in s.sentences)
        out.append(charts(s.key, s.tables))
        headers = s.data.get("columns") if isinstance(s.data.get("columns"), dict) else None
        for name, frame in s.tables.items():
            out.append(f"<h3>{escape(name.replace('_', ' '))}</h3>")
            out.append(table(frame, name, f"data/{s.key}__{name}.csv", headers))
        out.append(f'<p class=note>Section data: <a href="data/{escape(s.key)}.json">'
                   f"data/{escape(s.key)}.json</a></p></section>")
    out.append("</body></html>")
    return "\n".join(out)
