"""SLA impact assessment of a proposed change (REFERENCE §3), for the release gate.

For each SLA contract in force that covers the service, in the contract month (its own zone)
holding the decision time ``at``:

- *downtime so far*: the service's downtime outside exclusions from the month's start to ``at``
  (outages and outage-flagged production incidents, as the SLA report counts them);
- *allowance*: the downtime the target permits this month — (period − excluded) × (1 − target)
  when excluded time leaves the denominator, period × (1 − target) otherwise; *left* =
  allowance − downtime so far (negative: already breached);
- *exposure*: if the change causes an outage of the service's *median failure duration* — the
  median, over its failed production deployments finished in the :data:`LOOKBACK` before
  ``at``, of their failed-deployment recovery time (REFERENCE §1) — the uptime and service
  credit the month would end with (no other downtime, the outage outside any exclusion), and
  the credit added: (credit % after − credit % now) × monthly fee. The contract-wide cap on the
  sum of its services' credits is not applied (one service is assessed).
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.sla import (Contract, contract_in_force, credit_for, expand_exclusions,
                                   month_bounds, outage_spans, uptime_pct)
from analytics.metrics.sla_uptime import service_uptime
from analytics.store import queries
from analytics.store.queries import Filters

LOOKBACK = timedelta(days=365)
DEFINITION = ("median failure duration = median recovery time (REFERENCE §1: last resolved "
              "attributed incident, else the next successful deployment, minus finished_at) of "
              "the service's failed production deployments finished in the 365 days before the "
              "decision")


def median_failure_minutes(engine: Engine, service: str, at: datetime) -> tuple[float | None, int]:
    """(median recovery minutes of the service's failed deployments in the lookback, count)."""
    from analytics.reports import delivery

    start = (at - LOOKBACK).date()
    facts = delivery.facts(engine, Filters(start=start, end=at.date(), services=(service,),
                                           environment="production"))
    lo = datetime.combine(start, datetime.min.time())
    hours = (facts.deployments
             .filter((pl.col("service") == service) & pl.col("failed") & ~pl.col("is_rollback")
                     & (pl.col("finished_at") >= lo) & (pl.col("finished_at") < at)
                     & pl.col("recovery_hours").is_not_null())["recovery_hours"].to_list())
    if not hours:
        return None, 0
    return statistics.median(hours) * 60.0, len(hours)


def _month_of(at: datetime, tz: str) -> tuple[int, int]:
    local = at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
    return local.year, local.month


def assess_contract(contract: Contract, service: str, spans: pl.DataFrame, windows: pl.DataFrame,
                    at: datetime, outage_minutes: float | None) -> dict[str, Any]:
    """The assessment under one contract version (``spans``: service, start, end, cause)."""
    year, month = _month_of(at, contract.timezone)
    lo, hi = month_bounds(year, month, contract.timezone)
    until = min(max(at, lo), hi)
    so_far = spans.filter(pl.col("start") < until).with_columns(
        pl.when(pl.col("end") > until).then(pl.lit(until)).otherwise(pl.col("end"))
        .cast(pl.Datetime("us")).alias("end"))
    excl = expand_exclusions(windows, lo, hi, contract.timezone)
    now = service_uptime(contract, service, so_far, excl, lo, hi)
    period, excluded, down = now["period_minutes"], now["excluded_minutes"], now["downtime_minutes"]
    base = period - excluded if contract.exclusion_mode == "exclude" else period
    allowance = base * (1 - contract.target_pct / 100.0)
    credit_now = credit_for(now["uptime_pct"], contract.credits, contract.credit_cap_pct)
    out = {"contract": contract.name, "customer": contract.customer, "tier": contract.tier,
           "target_pct": contract.target_pct, "month": f"{year:04d}-{month:02d}",
           "timezone": contract.timezone, "exclusion_mode": contract.exclusion_mode,
           "period_minutes": period, "excluded_minutes": excluded,
           "downtime_so_far_minutes": down, "allowance_minutes": allowance,
           "allowance_left_minutes": allowance - down, "uptime_pct_now": now["uptime_pct"],
           "credit_pct_now": credit_now, "monthly_fee": contract.monthly_fee,
           "currency": contract.currency}
    if outage_minutes is None:
        return out | {"uptime_pct_after": None, "credit_pct_after": None, "exposure": None}
    after = uptime_pct(period, excluded, down + outage_minutes, down + outage_minutes,
                       contract.exclusion_mode)
    credit_after = credit_for(after, contract.credits, contract.credit_cap_pct)
    return out | {"uptime_pct_after": after, "credit_pct_after": credit_after,
                  "exposure": (credit_after - credit_now) / 100.0 * contract.monthly_fee,
                  "breach_after": after is not None and round(after, 4) < contract.target_pct}


def sla_impact(engine: Engine, service: str, at: datetime) -> dict[str, Any]:
    """{median_failure_minutes, failures, definition, contracts: [per contract assessment]}."""
    from analytics.reports.sla import contracts as all_contracts
    from analytics.reports.sla import outage_incidents

    minutes, n = median_failure_minutes(engine, service, at)
    by_name: dict[str, list[Contract]] = {}
    for c in all_contracts(engine):
        by_name.setdefault(c.name, []).append(c)
    rows = []
    for name in sorted(by_name):
        year, month = _month_of(at, by_name[name][0].timezone)
        first = date(year, month, 1)
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        c = contract_in_force(by_name[name], first, last)
        if c is None or service not in c.services:
            continue
        lo, hi = month_bounds(year, month, c.timezone)
        outages = queries.outages(engine, Filters(start=lo.date(), end=hi.date(), services=(service,)))
        spans = outage_spans(outages.select("service", "start", "end", "cause")
                             .with_columns(pl.col("start", "end").cast(pl.Datetime("us"))),
                             outage_incidents(engine, lo, hi), hi)
        rows.append(assess_contract(c, service, spans.filter(pl.col("service") == service),
                                    queries.maintenance_windows(engine), at, minutes))
    return {"service": service, "median_failure_minutes": minutes, "failures": n,
            "definition": DEFINITION, "contracts": rows,
            "exposure_total": {cur: sum(r["exposure"] or 0.0 for r in rows if r["currency"] == cur)
                               for cur in sorted({r["currency"] for r in rows})}}
