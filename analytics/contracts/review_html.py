"""The monthly service review pack as one self-contained HTML page: inline CSS and SVG, no
script, no external resource; every value from the store is escaped."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import polars as pl

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#1f2328;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:2em}
.sub{color:#57606a;margin-top:4px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
td,th{border:1px solid #d0d7de;padding:3px 7px;text-align:right;white-space:nowrap}
td.l{white-space:normal;max-width:520px}
th{background:#f6f8fa}td.l,th.l{text-align:left}td.bad{background:#ffebe9;color:#a40e26}
td.ok{background:#dafbe1}tr.bad td{background:#ffebe9}.note{color:#57606a;font-size:13px}.kpi{display:inline-block;
border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;margin:4px 8px 4px 0}
.kpi b{display:block;font-size:1.4em}.wrap{overflow-x:auto}svg{background:#fff}
nav a{margin-right:12px;font-size:13px}
"""
MONEY = ("owed_customers", "credit_amount", "credit_due", "credits_owed_customers", "computed", "billed",
         "difference")
SECTIONS = (("sla", "1. SLA performance, last 12 months"), ("slo", "2. SLO performance, last 12 months"),
            ("breaches", "3. Breaches this month and their incidents"), ("credits", "4. Service credits"),
            ("vendors", "5. Vendor performance"), ("csat", "6. CSAT beside SLA performance"),
            ("improvements", "7. Improvement register"), ("finance", "8. Finance reconciliation"),
            ("gaps", "9. Coverage gaps"), ("due", "10. Next reviews due"))


def esc(value: object) -> str:
    """Text for HTML: escaped; floats to 4 decimals; None as an empty cell.

    >>> esc("<b>x</b>"), esc(99.123456), esc(None)
    ('&lt;b&gt;x&lt;/b&gt;', '99.1235', '')
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def table(frame: pl.DataFrame, *, bad: str | None = None, left: tuple[str, ...] = ()) -> str:
    """A frame as an HTML table; rows where boolean column ``bad`` is true are marked."""
    if frame.is_empty():
        return '<p class="note">Nothing to show.</p>'
    head = "".join(f'<th class="{"l" if c in left else ""}">{esc(c)}</th>' for c in frame.columns)
    body = []
    for r in frame.iter_rows(named=True):
        cls = ' class="bad"' if bad and r.get(bad) else ""
        cells = "".join(f'<td class="{"l" if c in left else ""}">'
                        f'{esc(f"{v:,.2f}" if c in MONEY and isinstance(v, float) else v)}</td>'
                        for c, v in r.items())
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="wrap"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def matrix(frame: pl.DataFrame, row: str, value: str, months: list[str], target: str | None,
           pct: float = 1.0, fmt: str = "{:.3f}") -> str:
    """Rows × months with each cell red when below its target (``pct`` scales value and target)."""
    if frame.is_empty():
        return '<p class="note">No data in these months.</p>'
    head = "".join(f"<th>{esc(m)}</th>" for m in months)
    out = [f'<div class="wrap"><table><tr><th class="l">{esc(row)}</th>'
           + (f"<th>target</th>" if target else "") + f"{head}</tr>"]
    for (name,), g in frame.group_by(row, maintain_order=True):
        cells = {r["month"]: r for r in g.iter_rows(named=True)}
        tgt = g[target][0] * pct if target else None
        tds = []
        for m in months:
            r = cells.get(m)
            if r is None or r[value] is None:
                tds.append("<td></td>")
                continue
            v = r[value] * pct
            cls = "bad" if tgt is not None and round(v, 9) < tgt else "ok"
            tds.append(f'<td class="{cls}">{esc(fmt.format(v))}</td>')
        out.append(f'<tr><td class="l">{esc(name)}</td>'
                   + (f"<td>{esc(fmt.format(tgt))}</td>" if target else "") + "".join(tds) + "</tr>")
    return "".join(out) + "</table></div>"


def sli_matrix(frame: pl.DataFrame, months: list[str]) -> str:
    """Agreements on outages and ticket timers × months: the measured figure, red when missed,
    empty when not measured (``reports.contracts.sli_history`` rows)."""
    if frame.is_empty():
        return ""
    # year over month keeps twelve month columns inside the page beside the agreement names
    head = "".join(f"<th>{esc(m[:4])}<br>{esc(m[5:])}</th>" for m in months)
    out = ['<p>Agreements on outages (count per month, at most the target) and business-hours '
           'ticket timers (% of decided tickets in time, at least the target):</p>'
           '<div class="wrap"><table><tr><th class="l">agreement (sli · service · segment)</th>'
           f'<th>target</th>{head}</tr>']
    for (name, service), g in frame.group_by("agreement", "service", maintain_order=True):
        cells = {r["month"]: r for r in g.iter_rows(named=True)}
        first = g.row(0, named=True)
        target = f"{first['target']:g}"
        tds = []
        for m in months:
            r = cells.get(m)
            if r is None or r["measured"] is None:
                tds.append(f'<td title="{esc(r["note"] if r else "")}">–</td>')
                continue
            fmt = "{:.0f}" if r["sli"] == "outages" else "{:.1f}"
            cls = "ok" if r["met"] else "bad"
            tds.append(f'<td class="{cls}">{esc(fmt.format(r["measured"]))}</td>')
        what = " · ".join(esc(v) for v in (first["sli"], service, first["segment"]) if v)
        out.append(f'<tr><td class="l" style="white-space:nowrap">{esc(name)}<br>'
                   f'<span class="note">{what}</span></td><td>{esc(target)}</td>{"".join(tds)}</tr>')
    notes = sorted({n for n in frame["note"].drop_nulls().to_list() if "first-response" in n})
    return ("".join(out) + "</table></div>"
            + "".join(f'<p class="note">{esc(n)}</p>' for n in notes))


def line_chart(frame: pl.DataFrame, months: list[str], *, series: str, y: str, target: str,
               title: str) -> str:
    """An inline SVG line chart of ``y`` by month per ``series`` with dashed target lines."""
    if frame.is_empty():
        return ""
    w, h, pad = 760, 250, 46
    ys = frame[y].to_list() + frame[target].to_list()
    lo, hi = min(ys), max(ys)
    lo, hi = (lo - 0.05, hi + 0.05) if hi - lo < 0.1 else (lo, hi)
    sx = lambda i: pad + i * (w - 2 * pad) / max(len(months) - 1, 1)  # noqa: E731
    sy = lambda v: h - pad + (pad - h + pad) * (v - lo) / (hi - lo)  # noqa: E731
    colors = ("#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e")
    parts = [f'<svg width="{w}" height="{h}" role="img" aria-label="{esc(title)}">',
             f'<text x="{pad}" y="16" font-size="13">{esc(title)}</text>']
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(f'<text x="2" y="{sy(v) + 4:.1f}" font-size="10">{v:.2f}</text>'
                     f'<line x1="{pad}" x2="{w - pad}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#eee"/>')
    for i, m in enumerate(months):
        parts.append(f'<text x="{sx(i) - 18:.1f}" y="{h - pad + 16}" font-size="10">{esc(m)}</text>')
    for k, ((name,), g) in enumerate(frame.group_by(series, maintain_order=True)):
        c = colors[k % len(colors)]
        pts = [(sx(months.index(r["month"])), sy(r[y])) for r in g.sort("month").iter_rows(named=True)
               if r["month"] in months]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{c}"/>' for a, b in pts]
        t = sy(g[target][0])
        parts.append(f'<line x1="{pad}" x2="{w - pad}" y1="{t:.1f}" y2="{t:.1f}" stroke="{c}" '
                     'stroke-dasharray="4 3" opacity="0.6"/>')
        parts.append(f'<text x="{pad + 140 * k}" y="{h - 8}" font-size="11" fill="{c}">'
                     f'■ {esc(name)}</text>')
    return "".join(parts) + "</svg>"


def scatter(pairs: pl.DataFrame, title: str) -> str:
    """An inline SVG scatter of CSAT against uptime."""
    if pairs.is_empty():
        return ""
    w, h, pad = 520, 260, 46
    x, y = pairs["uptime_pct"].to_list(), pairs["csat"].to_list()
    x0, x1, y0, y1 = min(x), max(x), min(y), max(y)
    x1, y1 = (x1 + 0.01 if x1 == x0 else x1), (y1 + 0.01 if y1 == y0 else y1)
    sx = lambda v: pad + (v - x0) * (w - 2 * pad) / (x1 - x0)  # noqa: E731
    sy = lambda v: h - pad - (v - y0) * (h - 2 * pad) / (y1 - y0)  # noqa: E731
    dots = "".join(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="2.5" fill="#0969da" '
                   'opacity="0.55"/>' for a, b in zip(x, y, strict=True))
    return (f'<svg width="{w}" height="{h}" role="img" aria-label="{esc(title)}">'
            f'<text x="{pad}" y="16" font-size="13">{esc(title)}</text>{dots}'
            f'<text x="{pad}" y="{h - 12}" font-size="11">uptime % {x0:.3f} … {x1:.3f} →</text>'
            f'<text x="4" y="{pad - 8}" font-size="11">CSAT {y1:.2f}</text>'
            f'<text x="4" y="{h - pad}" font-size="11">{y0:.2f}</text>'
            f'<rect x="{pad}" y="{pad}" width="{w - 2 * pad}" height="{h - 2 * pad}" fill="none" '
            'stroke="#d0d7de"/></svg>')


def render(pack) -> str:  # noqa: ANN001 - a ReviewPack (reports.review), imported there
    """The review pack as a complete HTML document."""
    p = pack
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cur = p.sla_trend.filter(pl.col("month") == p.month)
    mean_now = cur["uptime_pct"].mean() if cur.height else None
    kpis = [("contracts reviewed", p.sla_stats.height), ("breaches this month", p.breaches.height),
            ("mean uptime this month", f"{mean_now:.3f}%" if mean_now is not None else "n/a"),
            ("vendor disputes", int(p.vendors["disputed"].sum()) if p.vendors.height else 0),
            ("coverage gaps", p.gaps.height), ("reviews due (90 days)", p.due.height)]
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>Service review {esc(p.month)}</title><style>{STYLE}</style></head><body>",
           f"<h1>Monthly service review: {esc(p.month)}</h1>",
           f'<p class="sub">Trend over {esc(p.months[0])} … {esc(p.months[-1])}; generated {now}. '
           "Uptime and credits: SLA compliance report (REFERENCE §3); SLO: good ÷ total events per "
           "UTC month; CSAT: share of 4–5 answers.</p>",
           "<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS) + "</nav>",
           "<div>" + "".join(f'<span class="kpi">{esc(k)}<b>{esc(v)}</b></span>' for k, v in kpis)
           + "</div>"]
    for n in p.notes:
        out.append(f'<p class="note">{esc(n)}</p>')
    sec = dict(SECTIONS)
    out.append(f'<h2 id="sla">{sec["sla"]}</h2>')
    out.append(line_chart(p.sla_trend, p.months, series="contract", y="uptime_pct",
                          target="target_pct", title="Mean monthly uptime % per contract (dashed: target)"))
    out.append(matrix(p.sla_trend, "contract", "uptime_pct", p.months, "target_pct"))
    out.append("<p>Trend per contract (least-squares slope over the months):</p>"
               + table(p.sla_stats, left=("contract",)))
    out.append(sli_matrix(p.other_slis, p.months))
    out.append(f'<h2 id="slo">{sec["slo"]}</h2>')
    slo = p.slo_trend
    if slo.height:
        met = slo.group_by("month").agg(pl.col("met").mean().alias("share_met"), pl.len().alias("slos")).sort("month")
        out.append("<p>Share of SLOs meeting their target each month:</p>" + table(met))
        missed = (slo.group_by("slo").agg(pl.col("met").mean(), pl.col("sli").min())
                  .filter(pl.col("met") < 1).sort("met", "sli").head(10)["slo"])
        out.append("<p>SLOs that missed their target in a month (at most ten, most often first; "
                   "SLI %, red below target):</p>"
                   + (matrix(slo.filter(pl.col("slo").is_in(missed.implode())), "slo", "sli",
                             p.months, "target", pct=100.0) if missed.len()
                      else '<p class="note">Every SLO met its target every month.</p>'))
    else:
        out.append('<p class="note">No SLI samples in these months.</p>')
    out.append(f'<h2 id="breaches">{sec["breaches"]}</h2>' + table(p.breaches, left=("contract", "customer", "service")))
    out.append("<p>Outage incidents and third-party outages of the breached services this month:</p>"
               + table(p.incidents.head(60), left=("ref", "service", "title", "kind")))
    if p.incidents.height > 60:
        out.append(f'<p class="note">… and {p.incidents.height - 60} more.</p>')
    out.append(f'<h2 id="credits">{sec["credits"]}</h2>' + table(p.credits))
    out.append(f'<h2 id="vendors">{sec["vendors"]}</h2>')
    if p.vendors.height:
        card = p.vendors.select("vendor", "component", pl.col("contracted_pct").alias("contracted"),
                                pl.col("measured_pct").alias("measured"),
                                pl.col("reported_pct").alias("reported"),
                                pl.col("difference_pp").alias("diff_pp"), "disputed", "outages",
                                pl.col("downtime_minutes").alias("down_min"), "met",
                                pl.col("credit_due").alias("credit_due"),
                                pl.col("credits_owed_customers").alias("owed_customers")).sort("disputed", "met", "vendor", descending=[True, False, False])
        out.append(table(card, bad="disputed", left=("vendor", "component", "agreement")))
        out.append('<p class="note">Measured: our outages attributed to the vendor (third-party cause, '
                   'vendor-provided component). Disputed: vendor report differs from our measurement '
                   'by more than 0.05 percentage points. '
                   'Amounts in each contract\'s currency.</p>')
    if p.unlinked.height:
        out.append("<p>Third-party outages not linked to a vendor:</p>" + table(p.unlinked))
    c = p.csat_corr
    out.append(f'<h2 id="csat">{sec["csat"]}</h2>')
    if c.r is None:
        out.append(f'<p class="note">Too few service-months with CSAT ({c.n}) for a correlation.</p>')
    else:
        ci = f"95% interval {c.lo:.3f} … {c.hi:.3f} (Fisher z)" if c.lo is not None else "no interval"
        out.append(f"<p>Pearson r between a service's monthly uptime and its CSAT: <b>{c.r:.3f}</b>, "
                   f"{ci}, over {c.n} service-months with enough answers.</p>")
        out.append(scatter(p.csat_pairs, "CSAT (share 4–5) against uptime %, one dot per service-month"))
    out.append(f'<h2 id="improvements">{sec["improvements"]}</h2>')
    if p.improvements is None:
        out.append('<p class="note">This store has no improvement register.</p>')
    else:
        out.append(table(p.improvements, left=("status",)) if p.improvements.height
                   else '<p class="note">The improvement register is empty.</p>')
    out.append(f'<h2 id="finance">{sec["finance"]}</h2>')
    if p.billed_rows == 0:
        out.append('<p class="note">No billed credits imported for this month (python -m analytics '
                   'import billed-credits FILE); the computed credits to bill:</p>')
    out.append(table(p.finance, left=("contract", "customer", "status")))
    out.append(f'<h2 id="gaps">{sec["gaps"]}</h2>' + table(p.gaps, left=("kind", "subject", "detail")))
    out.append(f'<h2 id="due">{sec["due"]}</h2>' + table(p.due, left=("agreement", "kind", "event", "customer", "vendor")))
    out.append("</body></html>")
    return "\n".join(out)
