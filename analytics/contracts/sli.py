"""Agreements on SLIs other than availability (issue 19, point 3): outages and the business-hours
ticket timers, evaluated per calendar month (UTC).

- ``outages``: ``target_pct`` is read as the most outages allowed in a month (a count). An outage
  counts in the month it starts; outage minutes are the union of the outages clipped to the month.
  Met when the count is at most the target.
- ``resolution``: ``target_pct`` is the share of tickets (%) resolved within the business-hours
  resolution target of their priority (``reports/ticket_sla.toml``, timers pausing while the
  ticket waits on the customer). Of the tickets opened in the month, a ticket resolved in time
  is met, one resolved late or still open past due is breached; one still open within its target
  is not decided yet and left out. Measured % = met ÷ (met + breached) × 100; met when ≥ target.
- ``response``: ``target_pct`` is the share of tickets (%) answered within the business-hours
  response target of their priority, from ``ticket.first_response_at``, decided as for resolution:
  answered in time is met, answered late or unanswered past due is breached; unanswered within
  its target, or closed with no recorded response, is left out. When no ticket in the span
  records a first response, it is listed as not measured.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from analytics.contracts.vendors import month_span, union_minutes

UNITS = {"outages": "outages per month (at most)", "resolution": "% tickets resolved in time",
         "response": "% tickets answered in time"}
NOT_MEASURED = "not measured: no ticket records a first-response time"


def outage_months(spans: list[tuple[datetime, datetime]], months: list[str]) -> pl.DataFrame:
    """Per month: outages starting in it and outage minutes (union clipped to the month).

    >>> t = datetime(2026, 1, 31, 23)
    >>> outage_months([(t, t.replace(month=2, day=1, hour=1))], ["2026-01", "2026-02"]).rows()
    [('2026-01', 1, 60.0), ('2026-02', 0, 60.0)]
    """
    rows = []
    for m in months:
        lo, hi = month_span(m)
        rows.append((m, sum(lo <= s < hi for s, _ in spans), union_minutes(spans, lo, hi)))
    return pl.DataFrame(rows, schema={"month": pl.String, "events": pl.Int64,
                                      "outage_minutes": pl.Float64}, orient="row")


def ticket_months(timers: pl.DataFrame, months: list[str], kind: str = "resolution") -> pl.DataFrame:
    """Per month of opening: tickets, met, breached and measured % (met ÷ decided × 100) of the
    ``kind`` timer. ``timers``: opened_at, closed_at, resolution_breached (``metrics.business_hours``)
    and, for ``response``, response_breached and response_decided (``reports.ticket_sla``).

    >>> t = pl.DataFrame({"opened_at": [datetime(2026, 3, d) for d in (2, 3, 4, 5)],
    ...                   "closed_at": [datetime(2026, 3, 2, 12), datetime(2026, 3, 9), None, None],
    ...                   "resolution_breached": [False, True, True, False]})
    >>> ticket_months(t, ["2026-03"]).with_columns(pl.col("measured").round(2)).rows()
    [('2026-03', 4, 1, 2, 33.33)]
    >>> r = t.with_columns(response_decided=pl.Series([True, True, False, True]),
    ...                    response_breached=pl.Series([False, False, False, True]))
    >>> ticket_months(r, ["2026-03"], "response").with_columns(pl.col("measured").round(2)).rows()
    [('2026-03', 4, 2, 1, 66.67)]
    """
    rows = []
    for m in months:
        lo, hi = month_span(m)
        g = timers.filter((pl.col("opened_at") >= lo) & (pl.col("opened_at") < hi))
        done = (pl.col("closed_at").is_not_null() if kind == "resolution"
                else pl.col("response_decided"))
        late = pl.col(f"{kind}_breached")
        met = g.filter(done & ~late).height
        breached = g.filter(late if kind == "resolution" else done & late).height
        rows.append((m, g.height, met, breached,
                     met / (met + breached) * 100 if met + breached else None))
    return pl.DataFrame(rows, schema={"month": pl.String, "events": pl.Int64, "met": pl.Int64,
                                      "breached": pl.Int64, "measured": pl.Float64}, orient="row")


def customer_segments(answers: pl.DataFrame) -> dict[str, str]:
    """customer_id → segment: the segment of the customer's latest survey answer (tickets carry
    no segment; the CSAT answers do). ``answers``: customer_id, segment, responded_at.

    >>> a = pl.DataFrame({"customer_id": ["c1", "c1", "c2"], "segment": ["smb", "enterprise", "smb"],
    ...                   "responded_at": [datetime(2026, 1, 1), datetime(2026, 2, 1), datetime(2026, 1, 5)]})
    >>> customer_segments(a)
    {'c1': 'enterprise', 'c2': 'smb'}
    """
    last = (answers.drop_nulls(["customer_id", "segment"]).sort("responded_at")
            .group_by("customer_id").agg(pl.col("segment").last()).sort("customer_id"))
    return dict(zip(last["customer_id"].to_list(), last["segment"].to_list(), strict=True))
