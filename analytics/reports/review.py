"""Monthly service review pack (issue 19): trend analysis first — SLA and SLO performance over
the last 12 months — then the month's breaches with their incidents, credits, vendor performance,
CSAT beside SLA performance, the improvement register, finance differences and the reviews due.

Definitions: SLA uptime and credits are the SLA compliance report's (REFERENCE §3, contract months
in each contract's zone); SLO performance is good ÷ total events of each SLO's samples per UTC
calendar month (occurrences); CSAT = share of 4–5 answers per service and UTC month (§1.3), paired
with the service's mean contract uptime that month for services with at least ``CSAT_MIN_N``
answers; the correlation is Pearson's r over those pairs with a Fisher-z 95% interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Engine, inspect

from analytics.contracts import lifecycle
from analytics.contracts.csat_sla import Correlation, correlation
from analytics.contracts.store import catalogue
from analytics.contracts.vendors import month_span
from analytics.reports import NoData
from analytics.reports.contracts import (billed_credits, finance_reconciliation, gaps_frame, months_back,
                                         sla_history, sli_history)
from analytics.reports.sla import outage_incidents
from analytics.reports.vendors import vendor_scorecard
from analytics.store.db import read_frame

MONTHS = 12
CSAT_MIN_N = 20
DUE_DAYS = 90


@dataclass(frozen=True)
class ReviewPack:
    """Everything the review pack shows for ``month``."""

    month: str
    months: list[str]
    sla_trend: pl.DataFrame          # contract × month: mean uptime %, target, breaches
    sla_stats: pl.DataFrame          # per contract: months, mean, slope, breaches, last
    slo_trend: pl.DataFrame          # slo, service, target, month, sli, met
    breaches: pl.DataFrame           # contract, service, uptime, target, credit
    incidents: pl.DataFrame          # incidents and outages behind the breaches
    credits: pl.DataFrame            # month, currency, credit_amount, breaches
    vendors: pl.DataFrame            # vendor scorecard for the month
    unlinked: pl.DataFrame           # third-party outages not linked to a vendor
    csat_pairs: pl.DataFrame         # service, month, csat, n, uptime_pct
    csat_corr: Correlation
    improvements: pl.DataFrame | None  # status, count (None: no register)
    due: pl.DataFrame
    finance: pl.DataFrame
    gaps: pl.DataFrame
    billed_rows: int = 0
    notes: list[str] = field(default_factory=list)
    # agreements on outages and ticket timers (reports.contracts.sli_history), agreement × month
    other_slis: pl.DataFrame = field(default_factory=pl.DataFrame)


def slo_monthly(engine: Engine, months: list[str]) -> pl.DataFrame:
    """Good ÷ total of every SLO per UTC month over ``months``."""
    lo, _ = month_span(months[0])
    _, hi = month_span(months[-1])
    frame = _slo_sums_from_copy(engine, lo, hi)
    if frame is None:
        if engine.dialect.name == "sqlite":
            bucket = "strftime('%Y-%m', x.ts)"
        else:
            bucket = "to_char(x.ts AT TIME ZONE 'UTC', 'YYYY-MM')"
        frame = read_frame(engine, f"""
            SELECT o.name AS slo, s.name AS service, o.target, {bucket} AS month,
                   sum(x.good) AS good, sum(x.total) AS total
            FROM sli_sample x JOIN slo o ON o.id = x.slo_id
            LEFT JOIN service s ON s.id = o.service_id
            WHERE x.ts >= ? AND x.ts < ? GROUP BY o.name, s.name, o.target, {bucket}""", [lo, hi])
    if frame.is_empty():
        return pl.DataFrame(schema={"slo": pl.String, "service": pl.String, "target": pl.Float64,
                                    "month": pl.String, "sli": pl.Float64, "met": pl.Boolean})
    return (frame.filter(pl.col("total") > 0)
            .with_columns(sli=pl.col("good") / pl.col("total"))
            .with_columns(met=pl.col("sli") >= pl.col("target"))
            .select("slo", "service", "target", "month", "sli", "met").sort("slo", "month"))


def _slo_sums_from_copy(engine: Engine, lo: datetime, hi: datetime) -> pl.DataFrame | None:
    """slo_monthly's GROUP BY from the read copy's SLI samples (a period-filtered Parquet scan
    instead of a million-row SQL scan), or None when the copy is not current."""
    from analytics.store.copyscan import scan

    lazy = scan(engine, "sli_samples")
    if lazy is None:
        return None
    sums = (lazy.filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
            .group_by("slo_id", month=pl.col("ts").dt.strftime("%Y-%m"))
            .agg(pl.col("good").sum(), pl.col("total").sum()).collect())
    slos = read_frame(engine, "SELECT o.id AS slo_id, o.name AS slo, s.name AS service, o.target "
                              "FROM slo o LEFT JOIN service s ON s.id = o.service_id")
    return (sums.join(slos.cast({"slo_id": pl.Int64, "target": pl.Float64}), on="slo_id")
            .group_by("slo", "service", "target", "month")
            .agg(pl.col("good").sum(), pl.col("total").sum())
            .sort("slo", "service", "target", "month"))


def csat_monthly(engine: Engine, months: list[str]) -> pl.DataFrame:
    """CSAT (share of 4–5) and answers per service and UTC month."""
    lo, _ = month_span(months[0])
    _, hi = month_span(months[-1])
    frame = _csat_from_copy(engine, lo, hi)
    if frame is None:
        frame = read_frame(engine, """
            SELECT s.name AS service, r.responded_at, r.score FROM csat_response r
            JOIN service s ON s.id = r.service_id WHERE r.responded_at >= ? AND r.responded_at < ?""",
                           [lo, hi])
    if frame.is_empty():
        return pl.DataFrame(schema={"service": pl.String, "month": pl.String, "csat": pl.Float64,
                                    "n": pl.UInt32})
    return (frame.with_columns(month=pl.col("responded_at").dt.strftime("%Y-%m"))
            .group_by("service", "month")
            .agg(csat=(pl.col("score") >= 4).mean(), n=pl.len()).sort("service", "month"))


def _csat_from_copy(engine: Engine, lo: datetime, hi: datetime) -> pl.DataFrame | None:
    """csat_monthly's rows (service, responded_at, score of answers with a service) from the
    read copy's Parquet, or None when the copy is not current (a million-row SQL join else)."""
    from analytics.store.copyscan import read
    from analytics.store.queries import Filters

    found = read(engine, "csat", Filters(start=lo.date(), end=(hi - timedelta(days=1)).date()),
                 "responded_at", ["id", "service", "responded_at", "score"], env=False,
                 where=pl.col("service").is_not_null())
    return None if found is None else found.drop("id")


def improvements(engine: Engine) -> pl.DataFrame | None:
    """The improvement register by status (None when the store has no such table)."""
    if not inspect(engine).has_table("improvement"):
        return None
    return read_frame(engine, "SELECT status, count(*) AS items, "
                              "sum(CASE WHEN due_at IS NOT NULL AND due_at < ? AND closed_at IS NULL "
                              "THEN 1 ELSE 0 END) AS overdue FROM improvement GROUP BY status "
                              "ORDER BY status", [datetime.now(UTC).replace(tzinfo=None)])


def breach_incidents(engine: Engine, breaches: pl.DataFrame, month: str) -> pl.DataFrame:
    """Outage-flagged production incidents and outages of the breached services in ``month``."""
    lo, hi = month_span(month)
    services = breaches["service"].unique().to_list() if breaches.height else []
    inc = outage_incidents(engine, lo, hi)
    inc = read_frame(engine, """
        SELECT i.external_id AS ref, s.name AS service, i.severity, i.title, i.opened_at AS start,
               i.resolved_at AS "end", 'incident' AS kind
        FROM incident i JOIN service s ON s.id = i.service_id
        WHERE i.outage = ? AND i.environment = 'production' AND i.opened_at < ?
          AND (i.resolved_at IS NULL OR i.resolved_at > ?)""", [True, hi, lo]) if inc.height else inc
    out = read_frame(engine, """
        SELECT o.external_id AS ref, s.name AS service, o.cause AS title, o.start, o."end"
        FROM outage o JOIN service s ON s.id = o.service_id
        WHERE o.start < ? AND o."end" > ? AND o.cause <> 'internal'""", [hi, lo])
    frames = []
    if inc.height:
        frames.append(inc.select("ref", "service", pl.col("severity").cast(pl.Int64), "title",
                                 "start", "end", "kind"))
    if out.height:
        frames.append(out.select("ref", "service", pl.lit(None, pl.Int64).alias("severity"),
                                 pl.format("outage ({})", "title").alias("title"), "start", "end",
                                 pl.lit("outage").alias("kind")))
    if not frames:
        return pl.DataFrame(schema={"ref": pl.String, "service": pl.String, "severity": pl.Int64,
                                    "title": pl.String, "start": pl.Datetime, "end": pl.Datetime,
                                    "kind": pl.String, "minutes": pl.Float64})
    both = pl.concat(frames, how="vertical_relaxed").filter(pl.col("service").is_in(services))
    return (both.with_columns(minutes=(pl.col("end") - pl.col("start")).dt.total_seconds() / 60)
            .sort("service", "start"))


def review_pack(engine: Engine, *, month: str, months: int = MONTHS,
                today: date | None = None) -> ReviewPack:
    """Assemble the review pack of ``month``; :class:`NoData` without SLA contracts."""
    span = months_back(month, months)
    history = sla_history(engine, month=month, months=months)
    if history.is_empty():
        raise NoData(f"No SLA contract month to review in the {months} months to {month}.")
    sla_trend = (history.group_by("contract", "month")
                 .agg(pl.col("uptime_pct").mean(), pl.col("target_pct").first(),
                      pl.col("breached").sum().alias("breaches"))
                 .sort("contract", "month"))
    now_month = history.filter(pl.col("month") == month)
    breaches = (now_month.filter(pl.col("breached"))
                .select("contract", "customer", "service", "uptime_pct", "target_pct",
                        "downtime_minutes", "credit_amount", "currency").sort("contract", "service"))
    credits = (history.group_by("month", "currency")
               .agg(pl.col("credit_amount").sum(), pl.col("breached").sum().alias("breaches"))
               .sort("month", "currency"))
    notes: list[str] = []
    cat = catalogue(engine)
    if cat.agreements:
        card, unlinked = vendor_scorecard(engine, month=month, cat=cat,
                                          history=history.filter(pl.col("month") == month))
        gaps = gaps_frame(cat)
        today = today or datetime.now(UTC).date()
        due = lifecycle.due(cat.agreements, today, DUE_DAYS)
        other = sli_history(engine, month=month, months=months)
    else:
        card = unlinked = gaps = due = other = pl.DataFrame()
        notes.append("No agreements imported: vendor performance, gaps and reviews are empty "
                     "(python -m analytics import contracts FILE).")
    per_service = (history.group_by("service", "month").agg(uptime_pct=pl.col("uptime_pct").mean()))
    pairs = (csat_monthly(engine, span).filter(pl.col("n") >= CSAT_MIN_N)
             .join(per_service, on=["service", "month"], how="inner").sort("service", "month"))
    corr = correlation(pairs["uptime_pct"].to_list(), pairs["csat"].to_list())
    return ReviewPack(
        month=month, months=span, sla_trend=sla_trend, sla_stats=lifecycle.trend(history),
        slo_trend=slo_monthly(engine, span), breaches=breaches,
        incidents=breach_incidents(engine, breaches, month), credits=credits, vendors=card,
        unlinked=unlinked, csat_pairs=pairs, csat_corr=corr, improvements=improvements(engine),
        due=due, finance=finance_reconciliation(engine, months=[month], history=now_month),
        gaps=gaps, notes=notes, other_slis=other,
        billed_rows=billed_credits(engine).filter(pl.col("month") == month).height)


def default_month(today: date | None = None) -> str:
    """The last whole month before ``today`` (UTC).

    >>> default_month(date(2026, 12, 5))
    '2026-11'
    """
    today = today or datetime.now(UTC).date()
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"
