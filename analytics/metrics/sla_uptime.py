"""Uptime of each service under one SLA contract version over a period: its exclusion and
downtime spans, clipped, unioned and measured (REFERENCE §3). :func:`analytics.metrics.sla.sla_report`
and the SLA signals and release gate measure through here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from analytics.metrics import intervals as iv
from analytics.metrics.sla import ALWAYS_EXCLUDED, PCT_DECIMALS, Contract, credit_for, uptime_pct


def service_uptime(contract: Contract, service: str, outages: pl.DataFrame,
                   exclusions: pl.DataFrame, lo: datetime, hi: datetime) -> dict:
    """Minutes and uptime of one service under one contract version over [lo, hi).

    ``outages``: service, start, end, cause; ``exclusions`` (already expanded): service (null =
    every service), kind, start, end. Third-party outages become exclusions when the contract
    says so.
    """
    kinds = ALWAYS_EXCLUDED + (("third_party",) if contract.exclude_third_party else ())
    excl = exclusions.filter((pl.col("service").is_null() | (pl.col("service") == service))
                             & pl.col("kind").is_in(list(kinds)))
    down = outages.filter(pl.col("service") == service)
    if contract.exclude_third_party:
        excl = pl.concat([excl.select("start", "end"),
                          down.filter(pl.col("cause") == "third_party").select("start", "end")])
        down = down.filter(pl.col("cause") != "third_party")
    return _uptime_row(contract, service, iv.spans(excl), iv.spans(down), lo, hi)


def services_uptime(contract: Contract, outages: pl.DataFrame, exclusions: pl.DataFrame,
                    periods: list[tuple[datetime, datetime]]) -> dict[str, list[dict]]:
    """:func:`service_uptime` of every service of ``contract`` over each of ``periods``, the
    spans split by service once (a contract may cover hundreds of services)."""
    split = _ServiceSpans(contract, outages, exclusions)
    return {service: [_uptime_row(contract, service, *split.spans(service), lo, hi)
                      for lo, hi in periods] for service in contract.services}


class _ServiceSpans:
    """One contract's exclusion and downtime spans split by service once, so each of its
    services is measured on numpy arrays (``service_uptime``'s filters, without a polars
    filter per service — a contract may cover hundreds)."""

    def __init__(self, contract: Contract, outages: pl.DataFrame, exclusions: pl.DataFrame):
        kinds = ALWAYS_EXCLUDED + (("third_party",) if contract.exclude_third_party else ())
        excl = exclusions.filter(pl.col("kind").is_in(list(kinds)))
        self.common = iv.spans(excl.filter(pl.col("service").is_null()))
        self.excl = _split(excl.filter(pl.col("service").is_not_null()))
        if contract.exclude_third_party:  # a null cause is neither (as the filters say)
            self.down = _split(outages.filter(pl.col("cause") != "third_party"))
            self.third = _split(outages.filter(pl.col("cause") == "third_party"))
        else:
            self.down, self.third = _split(outages), {}

    def spans(self, service: str) -> tuple[iv.Spans, iv.Spans]:
        """(exclusion spans, downtime spans) of ``service``."""
        parts = [self.common, *(d[service] for d in (self.excl, self.third) if service in d)]
        excl = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        return excl, self.down.get(service, _NO_SPANS)


_NO_SPANS = (np.array([], np.int64), np.array([], np.int64))


def _split(frame: pl.DataFrame) -> dict[str, iv.Spans]:
    """Spans (rows with both bounds, as ``iv.spans``) per non-null service."""
    rows = (frame.select("service", *(pl.col(c).cast(pl.Datetime("us")).dt.epoch("us")
                                      for c in ("start", "end")))
            .drop_nulls().sort("service", maintain_order=True))
    start, end = rows["start"].to_numpy(), rows["end"].to_numpy()
    sizes = rows.group_by("service", maintain_order=True).len()
    edges = np.cumsum([0, *sizes["len"].to_list()])
    return {s: (start[a:b], end[a:b])
            for s, a, b in zip(sizes["service"].to_list(), edges[:-1], edges[1:], strict=True)}


def _uptime_row(contract: Contract, service: str, excl: iv.Spans, down: iv.Spans,
                lo: datetime, hi: datetime) -> dict:
    lo_us, hi_us = iv.to_us(lo), iv.to_us(hi)
    e, d = _clipped(excl, lo_us, hi_us), _clipped(down, lo_us, hi_us)
    period = (hi - lo) / timedelta(minutes=1)
    # Minutes as iv.minutes gives them: float(Σ µs of the union) / 60e6.
    excluded = float(sum(b - a for a, b in e)) / 60e6
    down_all = float(sum(b - a for a, b in d)) / 60e6
    down_outside = down_all - float(_overlap_us(d, e)) / 60e6
    uptime = uptime_pct(period, excluded, down_outside, down_all, contract.exclusion_mode)
    breached = uptime is not None and round(uptime, PCT_DECIMALS) < contract.target_pct
    return {"contract": contract.name, "customer": contract.customer, "service": service,
            "tier": contract.tier, "period_start": lo, "period_end": hi,
            "period_minutes": period, "excluded_minutes": excluded,
            "downtime_minutes": down_outside if contract.exclusion_mode != "none" else down_all,
            "uptime_pct": uptime, "target_pct": contract.target_pct, "breached": breached,
            "credit_pct": credit_for(uptime, contract.credits, contract.credit_cap_pct)}


# A service has a handful of exclusion and downtime spans a month: plain Python on µs integers
# measures them several times faster than numpy's per-call overhead (14,400 service-months for
# a year of 1,200 services), to the same integers as iv.clip / iv.union / iv.intersect.
def _clipped(spans: iv.Spans, lo: int, hi: int) -> list[list[int]]:
    """``spans`` restricted to [lo, hi) and unioned (iv.clip): disjoint, sorted by start."""
    out: list[list[int]] = []
    for a, b in sorted(zip(spans[0].tolist(), spans[1].tolist())):
        a, b = max(a, lo), min(b, hi)
        if b <= a:
            continue
        if out and a <= out[-1][1]:  # overlapping or touching: one span (iv.union)
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def _overlap_us(x: list[list[int]], y: list[list[int]]) -> int:
    """µs common to two disjoint sorted span lists."""
    total, j = 0, 0
    for a, b in x:
        while j < len(y) and y[j][1] <= a:
            j += 1
        k = j
        while k < len(y) and y[k][0] < b:
            total += max(0, min(b, y[k][1]) - max(a, y[k][0]))
            k += 1
    return total
