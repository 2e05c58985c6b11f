"""The monthly SLA compliance report, with every input shown (REFERENCE §3).

``sla_details`` lays out, for each row of :func:`analytics.metrics.sla.sla_report`, the
intervals behind its numbers: each exclusion window with its reason and each downtime interval
with the minutes of it that fell inside an exclusion. ``to_csv`` and ``to_html`` render the
report and those inputs as text (pure: no files, no streamlit), so a customer can redo the sum.
"""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from analytics.exports import csv_text
from analytics.metrics import intervals as iv
from analytics.metrics.sla import (ALWAYS_EXCLUDED, Contract, contract_in_force, expand_exclusions,
                                   outage_spans)
from analytics.metrics.slo import zone

EXCLUSION_SCHEMA = {"contract": pl.String, "service": pl.String, "reason": pl.String,
                    "description": pl.String, "start": pl.Datetime("us"),
                    "end": pl.Datetime("us"), "minutes": pl.Float64,
                    "counted_minutes": pl.Float64}
DOWNTIME_SCHEMA = {"contract": pl.String, "service": pl.String, "cause": pl.String,
                   "start": pl.Datetime("us"), "end": pl.Datetime("us"), "minutes": pl.Float64,
                   "inside_exclusion_minutes": pl.Float64, "already_counted_minutes": pl.Float64,
                   "counted_minutes": pl.Float64}
CSV_COLUMNS = ("section", "contract", "customer", "service", "item", "reason", "start_utc",
               "end_utc", "minutes", "counted_minutes", "value", "note")
SUMMARY_ITEMS = ("period_start", "period_end", "exclusion_mode", "period_minutes",
                 "excluded_minutes", "downtime_minutes", "uptime_pct", "target_pct", "breached",
                 "credit_pct", "credit_amount", "currency", "escalation")
FORMULA = {
    "exclude": "uptime = (period − excluded − downtime) ÷ (period − excluded) × 100",
    "count_as_up": "uptime = (period − downtime) ÷ period × 100 (excluded time counts as up)",
    "none": "uptime = (period − all downtime) ÷ period × 100 (no exclusions)",
}


def _local_day(ts: datetime, tz: str) -> date:
    return ts.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone(tz)).date()


def version_for(contracts: list[Contract], name: str, start: datetime, end: datetime) -> Contract:
    """The contract version a report row over [start, end) (naive UTC) was computed with."""
    versions = [c for c in contracts if c.name == name]
    if not versions:
        raise ValueError(f"contract: unknown contract {name!r}")
    tz = versions[0].timezone
    found = contract_in_force(versions, _local_day(start, tz),
                              _local_day(end - timedelta(microseconds=1), tz))
    if found is None:
        raise ValueError(f"contract {name!r}: no version in force from {start:%Y-%m-%d}")
    return found


def _cast(frame: pl.DataFrame, what: str, strings: tuple[str, ...]) -> pl.DataFrame:
    missing = [c for c in ("service", "start", "end") if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")
    return frame.with_columns(pl.col("start", "end").cast(pl.Datetime("us")),
                              *[pl.col(c).cast(pl.String) for c in strings if c in frame.columns])


def sla_details(report: pl.DataFrame, contracts: list[Contract], outages: pl.DataFrame,
                maintenance: pl.DataFrame, incidents: pl.DataFrame | None = None
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(exclusions, downtime): the intervals behind each (contract, service) row of ``report``.

    Exclusions are clipped to the row's period, one row per window in start order (reason = its
    kind, or ``third_party`` for a third-party outage the contract excludes). Downtime rows are
    the outages and outage-flagged incidents clipped to the period, with the minutes inside an
    exclusion and those an earlier row already covered. ``counted_minutes`` is what a row adds:
    new minutes (outside exclusions, except in the ``none`` mode), so each column of counted
    minutes sums to the row's excluded and downtime minutes.
    """
    outages = _cast(outages, "outages", ("service", "cause"))
    maintenance = _cast(maintenance, "maintenance",
                        ("service", "kind", "recurrence", "description", "external_id"))
    excl_rows: list[dict] = []
    down_rows: list[dict] = []
    # Every service of a contract (and every contract in one zone) shares its period's windows
    # and outages: expanded and split by service once per period, not filtered once per row
    # (a month of 1,200 services paid 1.2 CPU-s in per-row polars filters).
    expanded: dict[tuple, dict[str | None, list[tuple]]] = {}
    spans: dict[datetime, dict[str | None, list[tuple]]] = {}
    for row in report.iter_rows(named=True):
        c = version_for(contracts, row["contract"], row["period_start"], row["period_end"])
        lo, hi, service = row["period_start"], row["period_end"], row["service"]
        kinds = ALWAYS_EXCLUDED + (("third_party",) if c.exclude_third_party else ())
        if (lo, hi, c.timezone) not in expanded:
            expanded[lo, hi, c.timezone] = _by_service(
                expand_exclusions(maintenance, lo, hi, c.timezone),
                ("kind", "description", "start", "end"))
        # The windows of every service and of this one, in the expanded frame's order.
        per = expanded[lo, hi, c.timezone]
        windows = [w[1:] for w in sorted(per.get(None, []) + per.get(service, []))
                   if w[1] in kinds]
        if hi not in spans:
            spans[hi] = _by_service(outage_spans(outages, incidents, hi),
                                    ("cause", "start", "end"))
        down = [d[1:] for d in spans[hi].get(service, [])]
        if c.exclude_third_party:
            windows += [("third_party", "third-party outage", start, end)
                        for cause, start, end in down if cause == "third_party"]
            down = [d for d in down if d[0] != "third_party"]
        seen: list[list[int]] = []
        for kind, description, start, end in sorted(windows, key=lambda w: w[2]):
            s, e = max(start, lo), min(end, hi)
            if e > s:
                one = (iv.to_us(s), iv.to_us(e))
                excl_rows.append({"contract": c.name, "service": service, "reason": kind,
                                  "description": description, "start": s, "end": e,
                                  "minutes": _minutes(one[1] - one[0]),
                                  "counted_minutes": _minutes(one[1] - one[0])
                                  - _minutes(_common(one, seen))})
                _add(seen, one)
        excluded, seen = seen, []
        for cause, start, end in sorted(down, key=lambda d: d[1]):
            s, e = max(start, lo), min(end, hi)
            if e <= s:
                continue
            one = (iv.to_us(s), iv.to_us(e))
            inside = _minutes(_common(one, excluded))
            # Minutes an earlier interval already covered count once (the union, REFERENCE §3).
            again = _minutes(_common(one, seen))
            both = _minutes(sum(_common(piece, excluded) for piece in _pieces(one, seen)))
            counted = _minutes(one[1] - one[0]) - again - (0.0 if c.exclusion_mode == "none"
                                                            else inside - both)
            down_rows.append({"contract": c.name, "service": service, "cause": cause,
                              "start": s, "end": e, "minutes": _minutes(one[1] - one[0]),
                              "inside_exclusion_minutes": inside,
                              "already_counted_minutes": again, "counted_minutes": counted})
            _add(seen, one)
    return (pl.DataFrame(excl_rows, schema=EXCLUSION_SCHEMA),
            pl.DataFrame(down_rows, schema=DOWNTIME_SCHEMA))


def _by_service(frame: pl.DataFrame, columns: tuple[str, ...]) -> dict[str | None, list[tuple]]:
    """(row number, *columns) of ``frame``'s rows per service (None: every service)."""
    out: dict[str | None, list[tuple]] = {}
    for n, (service, *rest) in enumerate(frame.select("service", *columns).iter_rows()):
        out.setdefault(service, []).append((n, *rest))
    return out


# Spans as µs integers in plain Python: a row has a handful of intervals, for which numpy's
# per-call overhead was most of the cost. Minutes are float(µs) / 60e6, as iv.minutes gives.
def _minutes(us: int) -> float:
    return float(us) / 60e6


def _pieces(one: tuple[int, int], spans: list[list[int]]) -> list[tuple[int, int]]:
    """``one`` ∩ ``spans`` (disjoint, sorted) as disjoint pieces."""
    a, b = one
    return [(max(a, s), min(b, e)) for s, e in spans if min(b, e) > max(a, s)]


def _common(one: tuple[int, int], spans: list[list[int]]) -> int:
    """µs of ``one`` inside ``spans`` (disjoint, sorted)."""
    return sum(e - s for s, e in _pieces(one, spans))


def _add(spans: list[list[int]], one: tuple[int, int]) -> None:
    """Union ``one`` into ``spans`` (disjoint, sorted; touching spans merge, as iv.union)."""
    a, b = one
    keep = [x for x in spans if x[1] < a or x[0] > b]
    hit = [x for x in spans if not (x[1] < a or x[0] > b)]
    merged = [min([a] + [x[0] for x in hit]), max([b] + [x[1] for x in hit])]
    spans[:] = sorted(keep + [merged])


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def to_csv(report: pl.DataFrame, exclusions: pl.DataFrame, downtime: pl.DataFrame) -> str:
    """One tidy CSV: ``summary`` rows (item, value) per contract and service, then the
    ``exclusion`` and ``downtime`` intervals with their minutes. Times are UTC. Text that a
    spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) is prefixed with ``'``.

    >>> to_csv(pl.DataFrame(), pl.DataFrame(schema=EXCLUSION_SCHEMA),
    ...        pl.DataFrame(schema=DOWNTIME_SCHEMA)).splitlines()[0]
    'section,contract,customer,service,item,reason,start_utc,end_utc,minutes,counted_minutes,value,note'
    """
    rows: list[dict[str, str]] = []
    blank = dict.fromkeys(CSV_COLUMNS, "")
    for r in report.iter_rows(named=True):
        key = {"contract": r["contract"], "customer": r["customer"], "service": r["service"]}
        for item in SUMMARY_ITEMS:
            rows.append({**blank, **key, "section": "summary", "item": item,
                         "value": _text(r[item])})
        for e in exclusions.filter((pl.col("contract") == r["contract"])
                                   & (pl.col("service") == r["service"])).iter_rows(named=True):
            rows.append({**blank, **key, "section": "exclusion", "item": "excluded window",
                         "reason": e["reason"], "start_utc": _text(e["start"]),
                         "end_utc": _text(e["end"]), "minutes": _text(e["minutes"]),
                         "counted_minutes": _text(e["counted_minutes"]),
                         "note": e["description"] or ""})
        for d in downtime.filter((pl.col("contract") == r["contract"])
                                 & (pl.col("service") == r["service"])).iter_rows(named=True):
            rows.append({**blank, **key, "section": "downtime", "item": "downtime interval",
                         "reason": d["cause"], "start_utc": _text(d["start"]),
                         "end_utc": _text(d["end"]), "minutes": _text(d["minutes"]),
                         "counted_minutes": _text(d["counted_minutes"]),
                         "note": f"{_text(d['inside_exclusion_minutes'])} min inside an "
                                 f"exclusion, {_text(d['already_counted_minutes'])} min "
                                 "already counted"})
    # Contract, service and window descriptions are user data: formulas are neutralised.
    return csv_text(pl.DataFrame(rows, schema=dict.fromkeys(CSV_COLUMNS, pl.String)))


def _table(head: tuple[str, ...], body: list[tuple[object, ...]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>"
                  for row in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
         "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
         "th{background:#f3f3f3}.breach{color:#b00020;font-weight:bold}")


def to_html(report: pl.DataFrame, exclusions: pl.DataFrame, downtime: pl.DataFrame,
            title: str) -> str:
    """A self-contained HTML document: per contract and service the period, the exclusions with
    reasons, the downtime intervals, the formula with its numbers, the breach and the credit."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             "<p>All times UTC. Contract months are calendar months in the contract's time zone. "
             "Overlapping intervals count once: the counted column of each table sums to the "
             "total above it.</p>"]
    if report.height == 0:
        parts.append("<p>No contract was in force in this month.</p>")
    for r in report.iter_rows(named=True):
        mine = (pl.col("contract") == r["contract"]) & (pl.col("service") == r["service"])
        ex, dn = exclusions.filter(mine), downtime.filter(mine)
        p, e, d = r["period_minutes"], r["excluded_minutes"], r["downtime_minutes"]
        if r["exclusion_mode"] == "exclude":
            sums = f"({p:,.2f} − {e:,.2f} − {d:,.2f}) ÷ ({p:,.2f} − {e:,.2f}) × 100"
        else:
            sums = f"({p:,.2f} − {d:,.2f}) ÷ {p:,.2f} × 100"
        uptime = "undefined" if r["uptime_pct"] is None else f"{r['uptime_pct']:.4f}%"
        verdict = (f"<span class='breach'>BREACHED</span> (below {r['target_pct']:g}%) → "
                   f"escalate to {html.escape(r['escalation'] or 'unassigned')}"
                   if r["breached"] else f"met (target {r['target_pct']:g}%)")
        parts += [
            f"<h2>{html.escape(r['contract'])} · {html.escape(r['service'])} "
            f"({html.escape(r['customer'])}, {html.escape(r['tier'])})</h2>",
            _table(("input", "value"), [
                ("period (UTC)", f"{_text(r['period_start'])} – {_text(r['period_end'])}"),
                ("period minutes", f"{p:,.2f}"), ("excluded minutes", f"{e:,.2f}"),
                ("downtime minutes (counted)", f"{d:,.2f}"),
                ("accounting mode", r["exclusion_mode"])]),
            f"<p>{html.escape(FORMULA.get(r['exclusion_mode'], ''))}<br>= {html.escape(sums)} = "
            f"<b>{uptime}</b> · {verdict}</p>",
            f"<p>Service credit: <b>{r['credit_pct']:g}%</b> of the monthly fee = "
            f"<b>{r['credit_amount']:,.2f} {html.escape(r['currency'])}</b> (first band of the "
            "ladder whose limit the uptime is below; exactly on a limit is not below it; capped "
            "per contract).</p>",
            "<h3>Excluded time, with reasons</h3>",
            _table(("reason", "description", "start", "end", "minutes", "counted"),
                   [(x["reason"], x["description"], x["start"], x["end"], f"{x['minutes']:,.2f}",
                     f"{x['counted_minutes']:,.2f}")
                    for x in ex.iter_rows(named=True)]) if ex.height else "<p>None.</p>",
            "<h3>Downtime intervals</h3>",
            _table(("cause", "start", "end", "minutes", "inside an exclusion",
                    "already counted", "counted"),
                   [(x["cause"], x["start"], x["end"], f"{x['minutes']:,.2f}",
                     f"{x['inside_exclusion_minutes']:,.2f}",
                     f"{x['already_counted_minutes']:,.2f}", f"{x['counted_minutes']:,.2f}")
                    for x in dn.iter_rows(named=True)]) if dn.height else "<p>None.</p>"]
    parts.append("</body></html>")
    return "\n".join(parts)
