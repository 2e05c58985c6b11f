"""CSAT and NPS (REFERENCE §1.3, §4 CSAT row): the one read of survey answers that the Customer
page, ``report csat`` and ``notebooks/customer.py`` all use, and the studies built on it.

Read rule: an answer belongs to the period when its *local day* (``filters.timezone``) lies in
[start, end]; either bound may be open (None). :meth:`Filters.bounds` draws local midnights, so
the SQL read already keeps exactly those answers. Weeks and days are local too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.control_charts import LANEY_AUTO_N, ewma_chart, p_chart
from analytics.metrics.csat import GROUP_COLUMNS, by_group, csat_periods, overall
from analytics.reports import BadRequest, NoData, periods
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies.csat_ops import (
    CohortComparison,
    after_incident_comparison,
    cohort_comparison,
    lagged_correlations,
    survey_targets,
    weekly_operations,
)

DEFINITION = ("CSAT = share of responses scoring 4–5 (Wilson 95%); NPS = % promoters (9–10) − % "
              "detractors (0–6) of responses with an NPS answer (adjusted-Wald 95%); weeks are ISO "
              f"weeks in the configured time zone; p-chart with each week's n, Laney p′ when the "
              f"median weekly n ≥ {LANEY_AUTO_N}; weeks without responses are gaps, not zeros")
NO_ANSWERS = "no CSAT responses match the filters (--from/--to/--service/--team)"
# The backlog at a week's end holds tickets opened before the period too.
BACKLOG_PAD_DAYS = 60
# "After an incident" = an answer given within this many days after a customer-facing incident
# of the same service was opened; incidents this long before the period count.
AFTER_INCIDENT_DAYS = 7
MAX_LAG_WEEKS = 4


@dataclass(frozen=True)
class CsatReport:
    """Overall CSAT/NPS (``total``: the dict of :func:`analytics.metrics.csat.overall`), the
    weekly p-chart and the daily EWMA chart (frames of :mod:`analytics.metrics.control_charts`)."""

    filters: Filters
    total: dict[str, Any]
    weekly: pl.DataFrame
    daily: pl.DataFrame

    @property
    def chart(self) -> str:
        """Which p-chart the weekly limits come from ("p" or "laney")."""
        return self.weekly["chart"][0]

    @property
    def signals(self) -> pl.DataFrame:
        """The out-of-control weeks (observed weeks with a signal)."""
        return self.weekly.filter(~pl.col("gap") & pl.col("signal").is_not_null())


def responses(engine: Engine, *, filters: Filters) -> pl.DataFrame:
    """Survey answers whose local day (``filters.timezone``) is in the period; open bounds allowed.

    Survey answers have no environment, so ``filters.environment`` is ignored.
    """
    return queries.csat(engine, dataclasses.replace(filters, environment=None))


def _answers(engine: Engine, filters: Filters) -> pl.DataFrame:
    if filters.start and filters.end and filters.start > filters.end:
        raise BadRequest(f"the period starts ({filters.start}) after it ends ({filters.end})")
    frame = responses(engine, filters=filters)
    if frame.height == 0:
        raise NoData(NO_ANSWERS)
    return frame


def csat_report(engine: Engine, *, filters: Filters) -> CsatReport:
    """CSAT/NPS with intervals, the weekly p-chart and the daily EWMA (λ 0.2) for the period.

    No dates: the default period (:func:`analytics.reports.periods.fill`). Raises
    :class:`NoData` when no answer matches.
    """
    filters, _note = periods.fill(engine, filters)
    frame = _answers(engine, filters)
    tz = filters.timezone
    weekly = p_chart(csat_periods(frame, "week", tz=tz, start=filters.start, end=filters.end))
    daily = ewma_chart(csat_periods(frame, "day", tz=tz, start=filters.start, end=filters.end))
    return CsatReport(filters, overall(frame), weekly, daily)


def csat_by(engine: Engine, *, filters: Filters, by: str) -> pl.DataFrame:
    """CSAT and NPS per service, segment, tier or team over the period (most answers first).

    Columns: ``by``, n, satisfied, csat, csat_low, csat_high, nps_n, promoters, detractors, nps,
    nps_low, nps_high. Raises :class:`BadRequest` for another ``by``, :class:`NoData` when empty.
    """
    if by not in GROUP_COLUMNS:
        raise BadRequest(f"CSAT can be split by {', '.join(GROUP_COLUMNS)}, not {by!r}")
    return by_group(_answers(engine, filters), by)


@dataclass(frozen=True)
class Operations:
    """Weekly CSAT beside the operational drivers, and their lagged Pearson correlations
    (``correlations`` is empty when there are fewer than two weeks)."""

    weekly: pl.DataFrame
    correlations: pl.DataFrame


def operations(engine: Engine, *, filters: Filters) -> Operations:
    """Weekly CSAT against tickets, backlog age, incidents and customer-facing minutes.

    Tickets are read from BACKLOG_PAD_DAYS before the period (the backlog at a week's end);
    incidents follow the environment filter. Raises :class:`NoData` when no answer matches.
    """
    frame = _answers(engine, filters)
    tickets = queries.tickets(engine, filters, columns=("opened_at", "closed_at"),
                             pad_before=timedelta(days=BACKLOG_PAD_DAYS))
    incidents = queries.incidents(engine, filters)
    weekly = weekly_operations(frame, tickets, incidents, tz=filters.timezone, start=filters.start,
                               end=filters.end)
    if weekly.height < 2:
        return Operations(weekly, pl.DataFrame())
    return Operations(weekly, lagged_correlations(weekly, max_lag=min(MAX_LAG_WEEKS, weekly.height - 1)))


def after_incidents(engine: Engine, *, filters: Filters) -> CohortComparison:
    """CSAT of answers within AFTER_INCIDENT_DAYS after a customer-facing incident of the same
    service vs the rest (incidents from AFTER_INCIDENT_DAYS before the period count).

    Raises :class:`NoData` when one of the two groups has no answer.
    """
    frame = _answers(engine, filters)
    incidents = queries.incidents(engine, filters, pad_before=timedelta(days=AFTER_INCIDENT_DAYS))
    try:
        return after_incident_comparison(frame, incidents, window=timedelta(days=AFTER_INCIDENT_DAYS))
    except ValueError as exc:
        raise NoData(str(exc)) from None


@dataclass(frozen=True)
class ReleaseCohort:
    """Affected-vs-baseline CSAT after one release (``comparison`` is None and ``why`` says why
    when a group has no answer) and the survey-targeting list."""

    comparison: CohortComparison | None
    why: str | None
    targets: pl.DataFrame


def release_cohort(engine: Engine, *, release_at: datetime, service: str, window_hours: float,
                   follow_up_days: int, exclude_days: int) -> ReleaseCohort:
    """CSAT of customers who contacted us within ``window_hours`` of a release vs everyone else,
    answers in [release, + follow_up_days); and the affected customers to survey, leaving out
    anyone who answered in the ``exclude_days`` before the list is made (end of the window).

    Reads answers and tickets of every service from ``exclude_days`` + 1 days before the release
    to ``follow_up_days`` + 1 days after it (UTC days).
    """
    lo = (release_at - timedelta(days=exclude_days + 1)).date()
    hi = (release_at + timedelta(days=follow_up_days + 1)).date()
    span = Filters(start=lo, end=hi)
    csat, tickets = queries.csat(engine, span), queries.tickets(engine, span)
    window = timedelta(hours=window_hours)
    try:
        comparison, why = cohort_comparison(csat, tickets, release_at, window=window,
                                            follow_up=timedelta(days=follow_up_days),
                                            service=service), None
    except ValueError as exc:
        comparison, why = None, str(exc)
    targets = survey_targets(csat, tickets, release_at, window=window, service=service,
                             exclude_days=exclude_days)
    return ReleaseCohort(comparison, why, targets)
