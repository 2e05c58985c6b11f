"""Do our KPIs still track customers? Each delivery KPI's correlation with customer outcomes,
period by period — the aid for retiring a KPI (issue 16.3).

Unit of analysis: one service in one period (calendar month or quarter, in the filters' time
zone). Per unit:

- the KPI's value (the delivery summary of that service and period, catalogue column);
- **CSAT**: share of survey answers scoring 4–5 (REFERENCE §1.3) of that service and period;
- **tickets after releases**: tickets of that service opened within the observation window
  (``WORKBENCH_WINDOW_HOURS``, default 48 h) after one of its production deployments, per
  production deployment (a ticket counts once, for the latest release before it).

Per KPI, outcome and period: the correlation across services (Spearman by default, Pearson on
request) with n, and a 95% interval from Fisher's z: ``tanh(atanh(r) ± 1.96 / sqrt(n − 3))``.
A period with fewer than ``min_units`` services is left out. Verdict per KPI and outcome:

- ``tracks``: the latest period's interval excludes 0;
- ``faded``: the earlier periods pooled (Fisher z weighted by n − 3, a fixed-effect mean) have
  an interval excluding 0, the latest period's does not — a candidate for retirement (or for a
  new definition);
- ``never tracked``: neither;
- ``too few services``: no period had ``min_units`` services with both values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from analytics import catalogue
from analytics.metrics.delivery import local_truncate
from analytics.metrics.delivery_report import summarize
from analytics.reports import BadRequest, NoData, delivery, periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters

EVERY = {"month": "1mo", "quarter": "1q"}
METHODS = ("spearman", "pearson")
OUTCOMES = {"csat_share": "CSAT (share of 4–5)", "tickets_after_release": "tickets per release"}
Z95 = 1.959963984540054
MIN_UNITS = 8


def fisher_ci(r: float, n: int, z: float = Z95) -> tuple[float, float]:
    """95% interval of a correlation ``r`` over ``n`` pairs by Fisher's z transform.

    >>> [round(x, 4) for x in fisher_ci(0.5, 28)]
    [0.156, 0.7358]
    """
    if n <= 3 or r is None or math.isnan(r):
        return (float("nan"), float("nan"))
    r = max(min(r, 0.9999999), -0.9999999)  # |r| = 1 has no finite z
    centre, half = math.atanh(r), z / math.sqrt(n - 3)
    return (math.tanh(centre - half), math.tanh(centre + half))


def correlations(units: pl.DataFrame, kpis: list[str], outcomes: list[str], *,
                 method: str = "spearman", min_units: int = MIN_UNITS) -> pl.DataFrame:
    """r, n and the Fisher interval per (kpi, outcome, period) over the rows of ``units``
    (one per service and period; columns ``period``, the KPI columns and the outcome columns).

    >>> u = pl.DataFrame({"period": [1] * 5, "k": [1.0, 2, 3, 4, 5], "o": [2.0, 1, 4, 3, 5]})
    >>> row = correlations(u, ["k"], ["o"], min_units=4).row(0, named=True)
    >>> round(row["r"], 6), row["n"]
    (0.8, 5)
    """
    if method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    rows: list[dict[str, Any]] = []
    for (period,), part in units.sort("period").group_by("period", maintain_order=True):
        for k in kpis:
            for o in outcomes:
                pair = part.select(k, o).drop_nulls().filter(
                    pl.col(k).is_finite() & pl.col(o).is_finite())
                n = pair.height
                if n < min_units:
                    continue
                x, y = pair[k].to_numpy().astype(float), pair[o].to_numpy().astype(float)
                if method == "spearman":
                    x, y = _ranks(x), _ranks(y)
                if np.std(x) == 0 or np.std(y) == 0:
                    continue  # a constant has no correlation
                r = float(np.corrcoef(x, y)[0, 1])
                lo, hi = fisher_ci(r, n)
                rows.append({"kpi": k, "outcome": o, "period": period, "n": n, "r": r,
                             "ci_low": lo, "ci_high": hi, "significant": lo > 0 or hi < 0})
    schema = {"kpi": pl.String, "outcome": pl.String, "period": units.schema.get("period",
                                                                                  pl.Datetime),
              "n": pl.Int64, "r": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
              "significant": pl.Boolean}
    return pl.DataFrame(rows, schema=schema)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their ranks), as Spearman's rho needs."""
    return pl.Series(values).rank("average").to_numpy().astype(float)


def pooled(part: pl.DataFrame) -> tuple[float, float, float] | None:
    """Fixed-effect pooled r of several periods (Fisher z weighted by n − 3) and its 95%
    interval, or None without periods.

    >>> [round(x, 4) for x in pooled(pl.DataFrame({"r": [0.5, 0.5], "n": [28, 28]}))]
    [0.5, 0.2656, 0.6786]
    """
    if part.is_empty():
        return None
    z = np.arctanh(np.clip(part["r"].to_numpy(), -0.9999999, 0.9999999))
    w = part["n"].to_numpy().astype(float) - 3
    centre, half = float((w * z).sum() / w.sum()), Z95 / math.sqrt(w.sum())
    return math.tanh(centre), math.tanh(centre - half), math.tanh(centre + half)


def verdicts(corr: pl.DataFrame, kpis: list[str], outcomes: list[str]) -> pl.DataFrame:
    """One row per KPI and outcome: first, earlier (pooled) and latest r, and the verdict.

    ``faded`` compares the latest period with the earlier ones POOLED (not with any single one,
    which at 5% per period would flag noise once there are many months)."""
    rows = []
    for k in kpis:
        for o in outcomes:
            part = corr.filter((pl.col("kpi") == k) & (pl.col("outcome") == o)).sort("period")
            if part.is_empty():
                rows.append({"kpi": k, "outcome": o, "periods": 0, "first_r": None,
                             "earlier_r": None, "latest_r": None, "latest_period": None,
                             "verdict": "too few services"})
                continue
            earlier = pooled(part.head(part.height - 1))
            if part["significant"][-1]:
                verdict = "tracks"
            elif earlier is not None and (earlier[1] > 0 or earlier[2] < 0):
                verdict = "faded"
            else:
                verdict = "never tracked"
            rows.append({"kpi": k, "outcome": o, "periods": part.height,
                         "first_r": part["r"][0], "earlier_r": earlier and earlier[0],
                         "latest_r": part["r"][-1], "latest_period": part["period"][-1],
                         "verdict": verdict})
    return pl.DataFrame(rows, schema={"kpi": pl.String, "outcome": pl.String,
                                      "periods": pl.Int64, "first_r": pl.Float64,
                                      "earlier_r": pl.Float64, "latest_r": pl.Float64,
                                      "latest_period": corr.schema["period"],
                                      "verdict": pl.String})


@dataclass(frozen=True)
class KpiOutcomes:
    """Units (service × period), correlations per period and a verdict per KPI and outcome."""

    every: str
    method: str
    min_units: int
    window_hours: float
    units: pl.DataFrame
    correlations: pl.DataFrame
    verdicts: pl.DataFrame
    period: dict[str, Any]

    def faded(self) -> list[str]:
        """Labels of the KPIs whose correlation with some outcome has faded."""
        keys = self.verdicts.filter(pl.col("verdict") == "faded")["kpi"].unique().to_list()
        return sorted(catalogue.by_column(k).label for k in keys)

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``report kpi-outcomes`` prints."""
        return {"period": self.period, "every": self.every, "method": self.method,
                "min_units": self.min_units, "window_hours": self.window_hours,
                "units": self.units.height, "faded": self.faded(),
                "verdicts": _labelled(self.verdicts).to_dicts(),
                "correlations": _labelled(self.correlations).to_dicts()}


def _labelled(frame: pl.DataFrame) -> pl.DataFrame:
    labels = {c: catalogue.by_column(c).key for c in frame["kpi"].unique().to_list()}
    return frame.with_columns(pl.col("kpi").replace_strict(labels, default=None)
                              .alias("kpi_key"))


def delivery_kpis() -> list[str]:
    """Summary columns of the delivery KPIs (customer KPIs are the outcomes, not candidates)."""
    return [k.column for k in catalogue.kpis().values() if k.group == "delivery"]


def kpi_outcomes(engine: Engine, filters: Filters = Filters(), *, every: str = "quarter",
                 method: str = "spearman", min_units: int = MIN_UNITS,
                 window_hours: float | None = None, data: Any = None) -> KpiOutcomes:
    """Correlate every delivery KPI with CSAT and tickets after releases, per period.
    ``data``: the delivery facts of the filled period and window when the caller has them (a
    page's shared cache), else they are computed here."""
    if every not in EVERY:
        raise BadRequest(f"every must be one of {', '.join(EVERY)}, got {every!r}")
    if min_units < 4:
        raise BadRequest(f"min_units must be at least 4 (Fisher's interval needs n > 3), "
                         f"got {min_units}")
    hours = get_settings().window_hours if window_hours is None else float(window_hours)
    filters, default = periods.fill(engine, filters)
    facts = delivery.facts(engine, filters, window_hours=hours) if data is None else data
    if facts.deployments.is_empty():
        raise NoData("No production deployments in the period: nothing to correlate.")
    rows = summarize(facts, by=("service",), every=EVERY[every])
    kpis = [c for c in delivery_kpis() if c in rows.columns]
    units = rows.select("service", "period", *kpis).join(
        _outcomes(engine, filters, facts, every, hours), on=["service", "period"], how="left")
    outcomes = list(OUTCOMES)
    corr = correlations(units, kpis, outcomes, method=method, min_units=min_units)
    return KpiOutcomes(every=every, method=method, min_units=min_units, window_hours=hours,
                       units=units, correlations=corr,
                       verdicts=verdicts(corr, kpis, outcomes),
                       period={"start": filters.start, "end": filters.end, **default})


def _outcomes(engine: Engine, filters: Filters, facts: Any, every: str,
              hours: float) -> pl.DataFrame:
    """CSAT share and tickets per release for each service and period."""
    tz, bucket = filters.timezone, EVERY[every]
    # Only the columns counted here, in any row order (a share and a count cannot depend on
    # it): at millions of tickets, reading every column in id order was most of the cost.
    csat = queries.csat(engine, filters, columns=["service", "responded_at", "score"],
                        ordered=False).filter(pl.col("service").is_not_null())
    share = (csat.with_columns(local_truncate(pl.col("responded_at"), bucket, tz).alias("period"))
             .group_by("service", "period")
             .agg(csat_share=(pl.col("score") >= 4).sum() / pl.len()))
    window = timedelta(hours=hours)
    tickets = (queries.tickets(engine, filters, pad_before=window,
                               columns=["service", "opened_at"], ordered=False)
               .filter(pl.col("service").is_not_null()).select("service", "opened_at")
               .sort("opened_at"))
    deps = facts.deployments.filter(pl.col("environment") == "production").select(
        "service", pl.col("finished_at").alias("released_at")).sort("released_at")
    # A store without tickets reads an untyped empty frame: type it like the releases so the
    # as-of join (which needs equal key dtypes) finds nothing instead of failing.
    tickets = tickets.cast({"service": pl.Utf8, "opened_at": deps.schema["released_at"]})
    after = (tickets.join_asof(deps, left_on="opened_at", right_on="released_at", by="service",
                               strategy="backward", tolerance=window, check_sortedness=False)
             .filter(pl.col("released_at").is_not_null())
             # A ticket belongs to the period of the release it follows.
             .with_columns(local_truncate(pl.col("released_at"), bucket, tz).alias("period"))
             .group_by("service", "period").agg(tickets=pl.len()))
    releases = (deps.with_columns(local_truncate(pl.col("released_at"), bucket, tz)
                                  .alias("period"))
                .group_by("service", "period").agg(releases=pl.len()))
    rate = (releases.join(after, on=["service", "period"], how="left")
            .select("service", "period",
                    tickets_after_release=pl.col("tickets").fill_null(0) / pl.col("releases")))
    share = share.cast({"service": pl.Utf8, "period": rate.schema["period"],
                        "csat_share": pl.Float64})  # typed also when there is no survey
    return share.join(rate, on=["service", "period"], how="full", coalesce=True)
