"""CSAT against operations: lagged correlations, affected-cohort comparison, survey targeting.

Inputs are the frames of :mod:`analytics.store.queries` (``csat()``, ``tickets()``,
``incidents()``): naive-UTC times, ``customer_id`` pseudonymised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
from scipy import stats

from analytics.metrics.csat import csat_periods, local_time
from analytics.metrics.stability import wilson
from analytics.settings import DEFAULT_WINDOW_HOURS

DRIVERS = ("tickets", "backlog_age_hours", "incidents", "customer_facing_minutes")


def _need(frame: pl.DataFrame, name: str, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame is missing column(s) {missing}")


def _week_of(column: str, tz: str) -> pl.Expr:
    return local_time(column, tz).dt.date().dt.truncate("1w").alias("period")


def _backlog_age_hours(tickets: pl.DataFrame, ends: np.ndarray) -> list[float | None]:
    """Mean age of tickets still open at each instant (epoch seconds): opened before it, not
    closed before it. Each ticket's open and close fall between two of the (few) instants: counts
    and second sums per gap, then cumulative sums — no sort of millions of tickets, no join.

    >>> t = pl.DataFrame({"opened_at": [datetime(2026, 1, 1), datetime(2026, 1, 2)],
    ...                   "closed_at": [datetime(2026, 1, 2, 12), None]})
    >>> s = datetime(2026, 1, 3).timestamp() - datetime(1970, 1, 1).timestamp()
    >>> _backlog_age_hours(t, np.array([s]))   # only the second is open: 24 h old
    [24.0]
    """
    t = tickets.select(
        o=pl.col("opened_at").dt.epoch("s"),
        # A close before the open (bad data) counts as closing at the open.
        c=pl.when(pl.col("closed_at").is_not_null())
        .then(pl.max_horizontal("opened_at", "closed_at")).dt.epoch("s"))
    order = np.argsort(ends, kind="stable")
    at = ends[order]
    o = t["o"].to_numpy()
    closed = t.filter(pl.col("c").is_not_null())
    c_at, c_open = closed["c"].to_numpy(), closed["o"].to_numpy()
    # Seconds after the first open: whole numbers whose sums stay far below 2**53, so the float
    # sums of bincount are exact.
    base = int(o.min()) if o.size else 0
    k = at.size + 1
    # Opened before instant i ⇔ o < at[i] ⇔ its gap (searchsorted right) ≤ i. Closed by then
    # ⇔ also c ≤ at[i]: a ticket opened and closed exactly at the instant was never open then.
    g_o = np.searchsorted(at, o, "right")
    g_c = np.maximum(np.searchsorted(at, c_at, "left"), np.searchsorted(at, c_open, "right"))
    n_o = np.cumsum(np.bincount(g_o, minlength=k))[:-1]
    n_c = np.cumsum(np.bincount(g_c, minlength=k))[:-1]
    s_o = np.cumsum(np.bincount(g_o, weights=(o - base).astype(float), minlength=k))[:-1]
    s_c = np.cumsum(np.bincount(g_c, weights=(c_open - base).astype(float), minlength=k))[:-1]
    out: list[float | None] = [None] * at.size
    for i, pos in enumerate(order):
        n_open = int(n_o[i] - n_c[i])
        if n_open > 0:
            out[pos] = float((n_open * (at[i] - base) - (s_o[i] - s_c[i])) / n_open / 3600)
    return out


def weekly_operations(csat: pl.DataFrame, tickets: pl.DataFrame, incidents: pl.DataFrame, *,
                      tz: str = "UTC", start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row per week: CSAT (gaps null) beside ticket volume, backlog age, incidents, minutes.

    tickets = tickets opened that week; backlog_age_hours = mean age of the tickets open at the
    week's end; incidents = incidents opened that week; customer_facing_minutes = resolved −
    opened of the week's customer-facing incidents (unresolved ones add nothing). Pass the
    incidents of the environment you mean (production by default in the queries).
    """
    _need(tickets, "tickets", ("opened_at", "closed_at"))
    _need(incidents, "incidents", ("opened_at", "resolved_at", "customer_facing"))
    weeks = csat_periods(csat, "week", tz=tz, start=start, end=end).select("period", "n", "csat")
    t = tickets.group_by(_week_of("opened_at", tz)).agg(tickets=pl.len())
    minutes = (pl.col("resolved_at") - pl.col("opened_at")).dt.total_seconds() / 60
    i = incidents.group_by(_week_of("opened_at", tz)).agg(
        incidents=pl.len(),
        customer_facing_minutes=minutes.filter(pl.col("customer_facing").fill_null(False)).sum())
    ends = weeks.select((pl.col("period") + pl.duration(weeks=1)).cast(pl.Datetime("us"))
                        .dt.replace_time_zone(tz).dt.epoch("s").cast(pl.Float64))["period"].to_numpy()
    out = (weeks.join(t, on="period", how="left").join(i, on="period", how="left")
           .with_columns(pl.col("tickets", "incidents").fill_null(0).cast(pl.Int64),
                         pl.col("customer_facing_minutes").fill_null(0.0),
                         backlog_age_hours=pl.Series(_backlog_age_hours(tickets, ends),
                                                     dtype=pl.Float64)))
    return out.select("period", "n", "csat", *DRIVERS)


def lagged_correlations(weekly: pl.DataFrame, target: str = "csat", drivers: Sequence[str] = DRIVERS,
                        max_lag: int = 4, method: str = "pearson") -> pl.DataFrame:
    """Correlation of ``target`` in week t with each driver in week t − lag, lag 0..max_lag.

    Weeks where either side is null (a CSAT gap) are left out of that pair. Columns: driver,
    lag, n, r, p_value (r null when n < 3 or a side is constant).
    """
    _need(weekly, "weekly", (target, *drivers))
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    if not 0 <= max_lag < weekly.height:
        raise ValueError(f"max_lag must be between 0 and {weekly.height - 1}, got {max_lag}")
    corr = stats.pearsonr if method == "pearson" else stats.spearmanr
    rows = []
    for driver in drivers:
        for lag in range(max_lag + 1):
            pair = weekly.select(y=pl.col(target), x=pl.col(driver).shift(lag)).drop_nulls().drop_nans()
            r = p = None
            y, x = pair["y"].to_numpy(), pair["x"].to_numpy()
            if pair.height >= 3 and np.ptp(y) > 0 and np.ptp(x) > 0:
                res = corr(x, y)
                r, p = float(res.statistic), float(res.pvalue)
            rows.append({"driver": driver, "lag": lag, "n": pair.height, "r": r, "p_value": p})
    return pl.DataFrame(rows, schema={"driver": pl.String, "lag": pl.Int64, "n": pl.Int64,
                                      "r": pl.Float64, "p_value": pl.Float64})


def affected_customers(csat: pl.DataFrame, tickets: pl.DataFrame, release_at: datetime, *,
                       window: timedelta = timedelta(hours=DEFAULT_WINDOW_HOURS), service: str | None = None) -> pl.DataFrame:
    """Customers who opened a ticket or answered a survey in [release_at, release_at + window).

    ``service`` limits both to that service (the released one). Columns: customer_id,
    first_contact_at, tickets, responses (counts inside the window).
    """
    _need(csat, "csat", ("responded_at", "customer_id", "service"))
    _need(tickets, "tickets", ("opened_at", "customer_id", "service"))
    lo, hi = release_at, release_at + window

    def contacts(frame: pl.DataFrame, ts: str, kind: str) -> pl.DataFrame:
        keep = pl.col(ts).is_between(lo, hi, closed="left") & pl.col("customer_id").is_not_null()
        if service is not None:
            keep &= pl.col("service") == service
        return frame.filter(keep).select("customer_id", pl.col(ts).alias("at"), kind=pl.lit(kind))

    both = pl.concat([contacts(tickets, "opened_at", "ticket"), contacts(csat, "responded_at", "response")])
    return (both.group_by("customer_id")
            .agg(first_contact_at=pl.col("at").min(), tickets=(pl.col("kind") == "ticket").sum(),
                 responses=(pl.col("kind") == "response").sum())
            .with_columns(pl.col("tickets", "responses").cast(pl.Int64))
            .sort("first_contact_at", "customer_id"))


@dataclass(frozen=True)
class CohortComparison:
    """CSAT of an affected cohort vs everyone else: shares, intervals, difference, p-value."""

    affected_customers: int
    affected_n: int
    affected_csat: float
    affected_ci: tuple[float, float]
    baseline_n: int
    baseline_csat: float
    baseline_ci: tuple[float, float]
    difference: float
    difference_ci: tuple[float, float]
    p_value: float


def _compare(responses: pl.DataFrame, affected: pl.Expr, where: str, confidence: float) -> CohortComparison:
    """Wilson intervals per group; difference (affected − baseline) with a Wald interval and a
    pooled two-proportion z test."""
    counts = responses.group_by(affected.fill_null(False).alias("affected")).agg(
        n=pl.len(), k=(pl.col("score") >= 4).sum(), customers=pl.col("customer_id").n_unique())
    got = {r["affected"]: r for r in counts.iter_rows(named=True)}
    for flag, name in ((True, "affected"), (False, "baseline")):
        if flag not in got:
            raise ValueError(f"no CSAT responses from the {name} group {where}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    (na, ka), (nb, kb) = (got[True]["n"], got[True]["k"]), (got[False]["n"], got[False]["k"])
    pa, pb = ka / na, kb / nb
    ci = pl.DataFrame({"k": [ka, kb], "n": [na, nb]}).select(
        *(e.alias(a) for e, a in zip(wilson(pl.col("k"), pl.col("n"), z), ("lo", "hi"), strict=True)))
    se = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
    pooled = (ka + kb) / (na + nb)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    p = float(2 * stats.norm.sf(abs(pa - pb) / se0)) if se0 > 0 else 1.0
    return CohortComparison(got[True]["customers"], na, pa, (ci["lo"][0], ci["hi"][0]), nb, pb,
                            (ci["lo"][1], ci["hi"][1]), pa - pb,
                            (float(pa - pb - z * se), float(pa - pb + z * se)), p)


def cohort_comparison(csat: pl.DataFrame, tickets: pl.DataFrame, release_at: datetime, *,
                      window: timedelta = timedelta(hours=DEFAULT_WINDOW_HOURS), follow_up: timedelta = timedelta(days=14),
                      service: str | None = None, confidence: float = 0.95) -> CohortComparison:
    """CSAT of affected customers vs the rest, responses in [release_at, release_at + follow_up).

    Affected = :func:`affected_customers` (``affected_customers`` counts those who answered).
    """
    affected = affected_customers(csat, tickets, release_at, window=window, service=service)
    later = csat.filter(pl.col("responded_at").is_between(release_at, release_at + follow_up, closed="left"))
    return _compare(later, pl.col("customer_id").is_in(affected["customer_id"].implode()),
                    f"between {release_at} and {release_at + follow_up}", confidence)


def after_incident_comparison(csat: pl.DataFrame, incidents: pl.DataFrame, *,
                              window: timedelta = timedelta(days=7),
                              confidence: float = 0.95) -> CohortComparison:
    """CSAT of responses within ``window`` after a customer-facing incident of the same service
    was opened, vs all other responses (the planted demo drop is 0.82 → 0.62 over 7 days)."""
    _need(csat, "csat", ("responded_at", "score", "service_id", "customer_id"))
    _need(incidents, "incidents", ("opened_at", "service_id", "customer_facing"))
    opened = (incidents.filter(pl.col("customer_facing").fill_null(False) & pl.col("service_id").is_not_null())
              .select(pl.col("service_id").cast(pl.Int64), incident_opened_at="opened_at")
              .sort("incident_opened_at"))
    tagged = (csat.filter(pl.col("service_id").is_not_null())
              .with_columns(pl.col("service_id").cast(pl.Int64)).sort("responded_at")).join_asof(
        opened, left_on="responded_at", right_on="incident_opened_at", by="service_id", strategy="backward",
        check_sortedness=False)  # sorted just above; polars cannot verify it per group
    after = (pl.col("responded_at") - pl.col("incident_opened_at")) < pl.lit(window)
    return _compare(tagged, after, f"within {window} of a customer-facing incident", confidence)


def survey_targets(csat: pl.DataFrame, tickets: pl.DataFrame, release_at: datetime, *,
                   window: timedelta = timedelta(hours=DEFAULT_WINDOW_HOURS), service: str | None = None,
                   exclude_days: int = 30, as_of: datetime | None = None) -> pl.DataFrame:
    """Affected customers to survey about a release, minus anyone surveyed in the last N days.

    ``as_of`` (default: the end of the window) is when the list is made; a customer with any
    survey response in [as_of − exclude_days, as_of] is left out to avoid survey fatigue.
    Columns: customer_id, first_contact_at, tickets, last_surveyed_at (older answer or null).
    """
    if exclude_days < 0:
        raise ValueError(f"exclude_days must be ≥ 0, got {exclude_days}")
    as_of = as_of or release_at + window
    affected = affected_customers(csat, tickets, release_at, window=window, service=service)
    last = (csat.filter(pl.col("responded_at") <= as_of, pl.col("customer_id").is_not_null())
            .group_by("customer_id").agg(last_surveyed_at=pl.col("responded_at").max()))
    recent = as_of - timedelta(days=exclude_days)
    return (affected.join(last, on="customer_id", how="left")
            .filter(pl.col("last_surveyed_at").is_null() | (pl.col("last_surveyed_at") < recent))
            .select("customer_id", "first_contact_at", "tickets", "last_surveyed_at"))
