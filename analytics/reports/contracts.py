"""Contracts report (issue 19): the agreement tree, coverage gaps, effective targets, the review
calendar, SLA history with trend, the at-risk projection and finance reconciliation.

SLA history reads the SLA compliance report (``analytics.reports.sla``) once per month, so every
uptime and credit here is the one the SLAs page shows. Months are ``YYYY-MM`` strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from analytics.contracts import finance, gaps, hierarchy, lifecycle
from analytics.contracts import sli as sli_eval
from analytics.contracts.store import Catalogue, catalogue
from analytics.reports import BadRequest, NoData
from analytics.reports.sla import sla_compliance
from analytics.store.db import read_frame

HISTORY_MONTHS = 12
TARGET_SCHEMA = {"customer": pl.String, "service": pl.String, "sli": pl.String,
                 "target": pl.Float64, "unit": pl.String, "agreement": pl.String,
                 "rule": pl.String}


def agreements(engine: Engine) -> Catalogue:
    """Every vendor, component and agreement; :class:`NoData` when there is no agreement."""
    cat = catalogue(engine)
    if not cat.agreements:
        raise NoData("No agreement in the store. Import them with "
                     "`python -m analytics import contracts FILE`.")
    return cat


def parse_month(month: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); :class:`BadRequest` otherwise.

    >>> parse_month("2026-11")
    (2026, 11)
    """
    try:
        year, mon = int(month[:4]), int(month[5:7])
        if len(month) != 7 or month[4] != "-" or not 1 <= mon <= 12:
            raise ValueError
    except ValueError:
        raise BadRequest(f"month must be YYYY-MM, got {month!r}") from None
    return year, mon


def months_back(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first.

    >>> months_back("2026-02", 3)
    ['2025-12', '2026-01', '2026-02']
    """
    year, mon = parse_month(month)
    idx = year * 12 + mon - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(idx - n + 1, idx + 1)]


def tree_frame(cat: Catalogue) -> pl.DataFrame:
    """The agreement tree as rows: depth, name, kind, target, window, party, status, supports."""
    rows = [{"depth": d, "agreement": a.name, "kind": a.kind, "target_pct": a.target_pct,
             "window": a.window, "calendar": a.calendar,
             "party": a.customer or a.vendor or a.team or a.segment or "",
             "service": a.service or (a.component or ""), "status": a.status,
             "supports": ", ".join(a.supports)} for d, a in hierarchy.tree(list(cat.agreements))]
    return pl.DataFrame(rows, schema={"depth": pl.Int64, "agreement": pl.String, "kind": pl.String,
                                      "target_pct": pl.Float64, "window": pl.String,
                                      "calendar": pl.String, "party": pl.String,
                                      "service": pl.String, "status": pl.String,
                                      "supports": pl.String})


def gaps_frame(cat: Catalogue) -> pl.DataFrame:
    """Coverage gaps as rows (kind, subject, detail, target_pct, deliverable_pct)."""
    rows = [g.__dict__ for g in gaps.coverage_gaps(cat)]
    return pl.DataFrame(rows, schema={"kind": pl.String, "subject": pl.String, "detail": pl.String,
                                      "target_pct": pl.Float64, "deliverable_pct": pl.Float64})


def contract_services(engine: Engine) -> dict[str, list[str]]:
    """SLA contract name → the services it covers (newest version)."""
    import json

    frame = read_frame(engine, "SELECT name, services FROM sla_contract ORDER BY effective_from")
    return {r["name"]: json.loads(r["services"]) for r in frame.iter_rows(named=True)}


def effective_targets(cat: Catalogue, day: date,
                      services_of: dict[str, list[str]] | None = None) -> pl.DataFrame:
    """The effective target per SLI for every (customer, service) the customer SLAs name; a
    customer-wide SLA stands for the services of its ``sla_contract`` (``services_of``: contract →
    services). SLIs other than availability also resolve for each service SLA's own service and
    segment (customer empty), so a segment's ticket-timer SLA is listed once."""
    services_of = services_of or {}
    pairs = sorted({(a.customer, a.segment, s) for a in cat.agreements
                    if a.kind == "customer_sla" and a.customer
                    for s in ([a.service] if a.service else services_of.get(a.sla_contract or "", []))})
    slis = sorted({a.sli for a in cat.agreements} - {"availability"})
    extra = sorted({(a.segment or "", a.service) for a in cat.agreements
                    if a.kind == "service_sla" and a.service and a.sli != "availability"})
    todo = [(c, seg, s, sli) for sli in ("availability", *slis) for c, seg, s in pairs]
    todo += [(None, seg or None, s, sli) for sli in slis for seg, s in extra]
    rows = []
    for customer, segment, service, sli in todo:
        eff = hierarchy.effective_target(cat.agreements, customer=customer, service=service,
                                         segment=segment, day=day, sli=sli)
        if eff:
            rows.append({"customer": customer, "service": service, "sli": sli,
                         "target": eff.target_pct, "unit": sli_eval.UNITS.get(sli, "% uptime"),
                         "agreement": eff.agreement, "rule": eff.rule})
    return pl.DataFrame(rows, schema=TARGET_SCHEMA).unique(maintain_order=True)


def review_calendar(engine: Engine, *, today: date, days: int) -> pl.DataFrame:
    """Reviews, renewals and ends due in the next ``days`` days."""
    if days < 0:
        raise BadRequest("days must not be negative")
    return lifecycle.due(agreements(engine).agreements, today, days)


def sla_history(engine: Engine, *, month: str, months: int = HISTORY_MONTHS) -> pl.DataFrame:
    """One row per (contract, service, month) over the ``months`` ending ``month``: uptime_pct,
    target_pct, breached, credit_amount, currency, customer, downtime/period/excluded minutes."""
    frames = []
    for m in months_back(month, months):
        year, mon = parse_month(m)
        # NoData without contracts; the rows only (no exclusion and downtime intervals).
        rep = sla_compliance(engine, year=year, month=mon, details=False)
        frames.append(rep.rows.select(
            "contract", "customer", "service", "uptime_pct", "target_pct", "breached",
            "credit_amount", "currency", "downtime_minutes", "period_minutes", "excluded_minutes"
        ).with_columns(month=pl.lit(m)))
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


def at_risk(history: pl.DataFrame, *, month: str, now: datetime) -> pl.DataFrame:
    """Linear month-end projection of ``month`` (the current one) per contract and service."""
    year, mon = parse_month(month)
    start = datetime(year, mon, 1, tzinfo=UTC)
    rows = []
    for r in history.filter(pl.col("month") == month).iter_rows(named=True):
        measured = r["period_minutes"] - r["excluded_minutes"]
        elapsed = min(max((now - start).total_seconds() / 60, 1.0), r["period_minutes"])
        elapsed_share = elapsed / r["period_minutes"] * measured
        p = lifecycle.project(elapsed_minutes=elapsed_share, month_minutes=measured,
                              downtime_minutes=r["downtime_minutes"], target_pct=r["target_pct"])
        rows.append({"contract": r["contract"], "service": r["service"],
                     "uptime_so_far_pct": r["uptime_pct"],
                     "projected_uptime_pct": p.projected_uptime_pct, "target_pct": r["target_pct"],
                     "projected_downtime_minutes": p.projected_downtime_minutes,
                     "allowed_downtime_minutes": p.allowed_downtime_minutes, "at_risk": p.at_risk})
    return pl.DataFrame(rows, schema={
        "contract": pl.String, "service": pl.String, "uptime_so_far_pct": pl.Float64,
        "projected_uptime_pct": pl.Float64, "target_pct": pl.Float64,
        "projected_downtime_minutes": pl.Float64, "allowed_downtime_minutes": pl.Float64,
        "at_risk": pl.Boolean})


def billed_credits(engine: Engine) -> pl.DataFrame:
    """Credits finance billed (contract, customer, month, billed, currency)."""
    frame = read_frame(engine, "SELECT contract, customer, month, amount AS billed, currency "
                               "FROM billed_credit ORDER BY month, contract")
    schema = {"contract": pl.String, "customer": pl.String, "month": pl.String,
              "billed": pl.Float64, "currency": pl.String}
    return frame.cast(schema) if frame.height else pl.DataFrame(schema=schema)


def finance_reconciliation(engine: Engine, *, months: list[str],
                           history: pl.DataFrame | None = None) -> pl.DataFrame:
    """Billed vs computed credits per contract and month over ``months``."""
    billed = billed_credits(engine).filter(pl.col("month").is_in(months))
    if history is None:
        history = pl.concat([sla_history(engine, month=m, months=1) for m in months])
    computed = (history.group_by("contract", "customer", "month", "currency")
                .agg(computed=pl.col("credit_amount").sum()))
    return finance.reconcile(computed, billed)


SLI_SCHEMA = {"agreement": pl.String, "sli": pl.String, "service": pl.String,
              "segment": pl.String, "month": pl.String, "target": pl.Float64, "unit": pl.String,
              "measured": pl.Float64, "events": pl.Int64, "outage_minutes": pl.Float64,
              "met": pl.Boolean, "note": pl.String}


def sli_history(engine: Engine, *, month: str, months: int = HISTORY_MONTHS,
                day: date | None = None) -> pl.DataFrame:
    """Monthly evaluation of the agreements on outages and ticket timers (``contracts.sli``) over
    the ``months`` ending ``month``: one row per (agreement, service, month) that the hierarchy
    resolves to (``effective_targets`` on ``day``, default the last day of ``month``). A segment
    agreement counts only the tickets of customers whose latest survey answer is in the segment."""
    cat = agreements(engine)
    span = months_back(month, months)
    day = day or (sli_eval.month_span(month)[1].date() - timedelta(days=1))
    targets = effective_targets(cat, day, contract_services(engine)).filter(
        pl.col("sli") != "availability")
    by_name = cat.by_name()
    units = targets.select("agreement", "service", "sli", "target").unique().sort(
        "agreement", "service")
    frames = []
    lo, hi = sli_eval.month_span(span[0])[0], sli_eval.month_span(span[-1])[1]
    timers = segments = answered = None
    for agreement, service, sli, target in units.iter_rows():
        segment = by_name[agreement].segment
        base = {"agreement": agreement, "sli": sli, "service": service, "segment": segment,
                "target": target, "unit": sli_eval.UNITS[sli]}
        if sli == "outages":
            spans = read_frame(engine, 'SELECT o.start, o."end" FROM outage o JOIN service s '
                                       'ON s.id = o.service_id WHERE s.name = ? AND o.start < ? '
                                       'AND o."end" > ?', [service, hi, lo])
            got = sli_eval.outage_months(list(spans.iter_rows()), span).with_columns(
                measured=pl.col("events").cast(pl.Float64), met=pl.col("events") <= target,
                note=pl.lit(None, pl.String))
        else:
            if timers is None:
                tickets = units.filter(pl.col("sli") != "outages")
                timers, segments, answered = _ticket_timers(
                    engine, lo, hi, tuple(tickets["service"].unique().sort().to_list()),
                    segmented=any(by_name[a].segment for a in tickets["agreement"]))
            t = timers.filter(pl.col("service") == service)
            if segment:
                t = t.filter(pl.col("customer_id").replace_strict(
                    segments, default=None, return_dtype=pl.String) == segment)
            if sli == "response" and not answered:
                frames.append(pl.DataFrame({"month": span}).with_columns(
                    measured=pl.lit(None, pl.Float64), events=pl.lit(None, pl.Int64),
                    met=pl.lit(None, pl.Boolean), note=pl.lit(sli_eval.NOT_MEASURED),
                    **{k: pl.lit(v, SLI_SCHEMA[k]) for k, v in base.items()}))
                continue
            got = sli_eval.ticket_months(t, span, sli).with_columns(
                met=pl.col("measured") >= target,
                note=pl.when(pl.col("measured").is_null())
                .then(pl.lit("no ticket decided")).otherwise(pl.lit(None, pl.String)))
        frames.append(got.with_columns(**{k: pl.lit(v, SLI_SCHEMA[k]) for k, v in base.items()}))
    if not frames:
        return pl.DataFrame(schema=SLI_SCHEMA)
    return pl.concat([f.select([pl.col(c) if c in f.columns else pl.lit(None).alias(c)
                                for c in SLI_SCHEMA]).cast(SLI_SCHEMA) for f in frames])


def _ticket_timers(engine: Engine, lo: datetime, hi: datetime, services: tuple[str, ...],
                   segmented: bool = True) -> tuple[pl.DataFrame, dict, bool]:
    """Response and resolution timers of the ``services``' tickets opened in [lo, hi) with their
    customer, the customer → segment map of the survey answers, and whether any ticket (of
    every service) records a response. Without ``segmented`` (no agreement names a segment)
    customers and segments are not read."""
    from analytics.reports.ticket_sla import ticket_sla
    from analytics.store.queries import Filters

    try:
        rep = ticket_sla(engine, filters=Filters(start=lo.date(), end=hi.date() - timedelta(days=1)),
                         carry=("customer_id",) if segmented else (), timed=services)
    except NoData:
        return pl.DataFrame(schema={"service": pl.String, "customer_id": pl.String,
                                    "opened_at": pl.Datetime, "closed_at": pl.Datetime,
                                    "first_response_at": pl.Datetime,
                                    "resolution_breached": pl.Boolean,
                                    "response_breached": pl.Boolean,
                                    "response_decided": pl.Boolean}), {}, False
    if not segmented:
        return rep.timers, {}, rep.response_measured
    return rep.timers, sli_eval.customer_segments(_segment_answers(engine)), rep.response_measured


def _segment_answers(engine: Engine) -> pl.DataFrame:
    """Survey answers with a customer and a segment (customer_id, segment, responded_at), in
    the store's order; from the read copy while it is current."""
    from analytics.store.copyscan import read
    from analytics.store.queries import Filters

    found = read(engine, "csat", Filters(), "responded_at",
                 ["id", "customer_id", "segment", "responded_at"], env=False,
                 where=pl.col("segment").is_not_null() & pl.col("customer_id").is_not_null())
    if found is not None:
        return found.drop("id")
    return read_frame(engine, "SELECT customer_id, segment, responded_at FROM csat_response "
                              "WHERE segment IS NOT NULL AND customer_id IS NOT NULL")
