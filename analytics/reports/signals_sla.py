"""The SLA signals of :mod:`analytics.reports.signals`: ``sla_at_risk`` and ``sla_breached`` per
contract and service for the month holding the evaluation time (linear projection from the month
so far), and last month's breaches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from analytics.loop.signals_rules import Rule
from analytics.loop.signals_stats import sla_projection
from analytics.reports.signal_types import Signal
from analytics.store import queries
from analytics.store.queries import Filters


def _month_of(at: datetime, tz: str) -> tuple[int, int]:
    from analytics.metrics.slo import zone

    local = at.replace(tzinfo=UTC).astimezone(zone(tz))
    return local.year, local.month


def sla_signals(engine: Engine, rules: list[Rule], at: datetime,
                teams: dict[str, str]) -> list[Signal]:
    """``sla_at_risk`` and ``sla_breached`` signals for the month holding ``at``, plus last
    month's breaches for ``sla_breached``."""
    from analytics.metrics.sla import (PCT_DECIMALS, contract_in_force, expand_exclusions,
                                       month_bounds, outage_spans)
    from analytics.metrics.sla_uptime import services_uptime
    from analytics.reports import sla

    by_kind = {r.kind: r for r in rules}
    versions = sla.contracts(engine)
    if not versions:
        return []
    names = sorted({c.name for c in versions})
    out: list[Signal] = []
    windows = queries.maintenance_windows(engine)
    for name in names:
        mine = [c for c in versions if c.name == name]
        year, month = _month_of(at, mine[0].timezone)
        first = date(year, month, 1)
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        c = contract_in_force(mine, first, last)
        if c is None:
            continue
        lo, hi = month_bounds(year, month, c.timezone)
        lo = max(lo, datetime(c.effective_from.year, c.effective_from.month, c.effective_from.day))
        if at <= lo:
            continue
        outages = queries.outages(engine, Filters(start=(lo - timedelta(days=1)).date(),
                                                  end=at.date()))
        flagged = sla.outage_incidents(engine, lo, at)
        # Downtime is known up to ``at`` only: every span is cut there.
        down = outage_spans(outages, flagged, at).with_columns(
            pl.col("end").clip(upper_bound=at)).filter(pl.col("start") < at)
        excl = expand_exclusions(windows, lo, hi, c.timezone)
        rows = services_uptime(c, down, excl, [(lo, hi), (lo, at)])
        for service in c.services:
            month_row, so_far = rows[service]
            counted = c.exclusion_mode != "exclude"
            m_now = so_far["period_minutes"] - (0 if counted else so_far["excluded_minutes"])
            m_all = month_row["period_minutes"] - (0 if counted else month_row["excluded_minutes"])
            projected, best = sla_projection(so_far["downtime_minutes"], m_now, m_all)
            if projected is None or best is None:
                continue
            target = c.target_pct
            kind = ("sla_breached" if round(best, PCT_DECIMALS) < target else
                    "sla_at_risk" if round(projected, PCT_DECIMALS) < target else None)
            if kind is None or kind not in by_kind:
                continue
            rule = by_kind[kind]
            allowance = m_all * (1 - target / 100)
            what = ("will end below" if kind == "sla_breached" else "is projected to end below")
            out.append(Signal(
                rule=rule.name, kind=kind, severity=rule.severity,
                subject=f"{c.name}:{service}", period=f"{year:04d}-{month:02d}",
                service=service, team=teams.get(service, "unassigned"),
                title=f"SLA {c.name}: {service} {what} {target:g}% in {year:04d}-{month:02d}",
                summary=(f"{so_far['downtime_minutes']:.1f} min down so far of an allowance of "
                         f"{allowance:.1f} min; uptime so far (linear projection) "
                         f"{projected:.4f}%, best case with no more downtime {best:.4f}%."),
                evidence={"contract": c.name, "customer": c.customer, "target_pct": target,
                          "downtime_minutes": round(so_far["downtime_minutes"], 3),
                          "allowance_minutes": round(allowance, 3),
                          "projected_uptime_pct": round(projected, 4),
                          "best_case_uptime_pct": round(best, 4),
                          "measured_minutes_so_far": round(m_now, 3),
                          "measured_minutes_month": round(m_all, 3),
                          "as_of": at.isoformat()}))
    if "sla_breached" in by_kind:
        out += _last_month_breaches(engine, by_kind["sla_breached"], at, teams)
    return out


def _last_month_breaches(engine: Engine, rule: Rule, at: datetime,
                         teams: dict[str, str]) -> list[Signal]:
    from analytics.reports.sla import sla_compliance

    prev = (at.replace(day=1) - timedelta(days=1))
    report = sla_compliance(engine, year=prev.year, month=prev.month, details=False)  # rows only
    out = []
    for r in report.rows.filter(pl.col("breached")).iter_rows(named=True):
        out.append(Signal(
            rule=rule.name, kind=rule.kind, severity=rule.severity,
            subject=f"{r['contract']}:{r['service']}", period=report.label,
            service=r["service"], team=teams.get(r["service"], "unassigned"),
            title=f"SLA {r['contract']}: {r['service']} breached {r['target_pct']:g}% in "
                  f"{report.label}",
            summary=(f"Uptime {r['uptime_pct']:.4f}% against {r['target_pct']:g}%; credit "
                     f"{r['credit_pct']:.1f}% = {r['credit_amount']:.2f} {r['currency']}."),
            evidence={"contract": r["contract"], "customer": r["customer"],
                      "uptime_pct": round(r["uptime_pct"], 4), "target_pct": r["target_pct"],
                      "downtime_minutes": round(r["downtime_minutes"], 3),
                      "credit_amount": round(r["credit_amount"], 2), "currency": r["currency"]}))
    return out
