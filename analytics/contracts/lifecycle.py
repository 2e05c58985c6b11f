"""The contract lifecycle: what is due for review, renewal or end; monthly SLA history with its
trend; and the at-risk projection of the current month.

At-risk projection (linear): downtime so far continues at the same rate for the rest of the
month, so projected downtime = downtime so far × month minutes ÷ elapsed minutes and projected
uptime % = (month minutes − projected downtime) ÷ month minutes × 100. A contract month is at
risk when the projected uptime is below its target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics.contracts.store import Terms

DUE_FIELDS = (("review", "review_on"), ("renewal", "renewal_on"), ("end", "end_on"))


def due(agreements: tuple[Terms, ...] | list[Terms], today: date, days: int) -> pl.DataFrame:
    """Reviews, renewals and ends falling in [today, today + days] of live agreements, by date.

    >>> a = Terms("a", "customer_sla", 99.9, review_on=date(2026, 3, 10), end_on=date(2027, 1, 1))
    >>> due([a], date(2026, 3, 1), 30).select("agreement", "event", "days_left").rows()
    [('a', 'review', 9)]
    """
    rows = []
    for a in agreements:
        if not a.live:
            continue
        for event, attr in DUE_FIELDS:
            when = getattr(a, attr)
            if when is not None and today <= when <= today + timedelta(days=days):
                rows.append({"date": when, "agreement": a.name, "kind": a.kind, "event": event,
                             "customer": a.customer, "vendor": a.vendor,
                             "days_left": (when - today).days})
    schema = {"date": pl.Date, "agreement": pl.String, "kind": pl.String, "event": pl.String,
              "customer": pl.String, "vendor": pl.String, "days_left": pl.Int64}
    return pl.DataFrame(rows, schema=schema).sort("date", "agreement")


@dataclass(frozen=True)
class Projection:
    """The month-end projection of one contract month from the month so far."""

    elapsed_minutes: float
    month_minutes: float
    downtime_minutes: float
    projected_downtime_minutes: float
    projected_uptime_pct: float
    target_pct: float
    allowed_downtime_minutes: float

    @property
    def at_risk(self) -> bool:
        """Projected uptime below the target."""
        return round(self.projected_uptime_pct, 9) < self.target_pct


def project(*, elapsed_minutes: float, month_minutes: float, downtime_minutes: float,
            target_pct: float) -> Projection:
    """Linear projection of the month-end uptime.

    >>> p = project(elapsed_minutes=14400, month_minutes=43200, downtime_minutes=20, target_pct=99.9)
    >>> p.projected_downtime_minutes, round(p.projected_uptime_pct, 4), p.at_risk
    (60.0, 99.8611, True)
    """
    if not 0 < elapsed_minutes <= month_minutes:
        raise ValueError("elapsed minutes must be in (0, month minutes]")
    projected = downtime_minutes * month_minutes / elapsed_minutes
    return Projection(elapsed_minutes, month_minutes, downtime_minutes, projected,
                      (month_minutes - projected) / month_minutes * 100, target_pct,
                      month_minutes * (1 - target_pct / 100))


def trend(history: pl.DataFrame) -> pl.DataFrame:
    """Per contract: months, mean uptime, least-squares slope (percentage points per month) over
    the month index, breaches, and the last month's uptime. ``history``: contract, month, uptime_pct,
    breached (one row per contract month; several services are averaged first).

    >>> h = pl.DataFrame({"contract": ["c"] * 3, "month": ["2026-01", "2026-02", "2026-03"],
    ...                   "uptime_pct": [99.9, 99.8, 99.7], "breached": [False, True, True]})
    >>> trend(h).select("slope_pp_per_month", "breaches").rows()
    [(-0.1, 2)]
    """
    out = []
    for (name,), g in history.group_by("contract", maintain_order=True):
        g = (g.group_by("month").agg(pl.col("uptime_pct").mean(), pl.col("breached").any())
             .sort("month"))
        y = g["uptime_pct"].to_numpy()
        slope = float(np.polyfit(np.arange(len(y)), y, 1)[0]) if len(y) > 1 else 0.0
        out.append({"contract": name, "months": len(y), "mean_uptime_pct": float(y.mean()),
                    "slope_pp_per_month": round(slope, 9), "breaches": int(g["breached"].sum()),
                    "last_uptime_pct": float(y[-1])})
    schema = {"contract": pl.String, "months": pl.Int64, "mean_uptime_pct": pl.Float64,
              "slope_pp_per_month": pl.Float64, "breaches": pl.Int64, "last_uptime_pct": pl.Float64}
    return pl.DataFrame(out, schema=schema).sort("contract")
