"""Multiwindow, multi-burn-rate alerts (REFERENCE §2) and the deployments they overlap.

An alert pair (long window, short window = long ÷ 12) fires when BOTH windows burn faster than
its factor; factor = budget share × period ÷ long window, computed for each SLO's own period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from analytics.metrics.slo import SliSeries, Window, budgeted_samples, check_target

SHORT_WINDOW_DIVISOR = 12


@dataclass(frozen=True)
class AlertSpec:
    """One alert pair: spend ``budget_share`` of the budget within ``long_window`` → ``severity``."""

    severity: str
    budget_share: float
    long_window: timedelta

    def __post_init__(self) -> None:
        if self.severity not in ("page", "ticket"):
            raise ValueError(f"severity must be 'page' or 'ticket', got {self.severity!r}")
        if not 0.0 < self.budget_share <= 1.0:
            raise ValueError(f"budget_share must be in (0, 1], got {self.budget_share!r}")
        if self.long_window <= timedelta(0):
            raise ValueError(f"long_window must be positive, got {self.long_window!r}")

    @property
    def short_window(self) -> timedelta:
        """long ÷ 12 (REFERENCE §2)."""
        return self.long_window / SHORT_WINDOW_DIVISOR

    @property
    def name(self) -> str:
        """e.g. ``page 2% in 1h``."""
        return f"{self.severity} {self.budget_share * 100:g}% in {span(self.long_window)}"

    def factor(self, period: timedelta) -> float:
        """Burn-rate threshold: budget share × period ÷ long window.

        >>> round(AlertSpec("page", 0.02, timedelta(hours=1)).factor(timedelta(days=30)), 6)
        14.4
        """
        return alert_factor(self.budget_share, period, self.long_window)


def alert_factor(budget_share: float, period: timedelta, long_window: timedelta) -> float:
    """budget share × period ÷ long window (REFERENCE §2); never a hard-coded table.

    >>> round(alert_factor(0.1, timedelta(days=28), timedelta(days=3)), 4)
    0.9333
    """
    if period <= timedelta(0) or long_window <= timedelta(0):
        raise ValueError("period and long_window must be positive")
    return budget_share * (period / long_window)


def span(delta: timedelta) -> str:
    """A window as text: ``3d``, ``1h``, ``5m``.

    >>> span(timedelta(hours=2)), span(timedelta(minutes=30))
    ('2h', '30m')
    """
    minutes = delta / timedelta(minutes=1)
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes >= size and minutes % size == 0:
            return f"{minutes / size:g}{unit}"
    return f"{minutes:g}m"


# The default set of REFERENCE §2 (shares and windows; factors follow from each SLO's period).
DEFAULT_ALERTS = (
    AlertSpec("page", 0.02, timedelta(hours=1)),
    AlertSpec("page", 0.05, timedelta(hours=6)),
    AlertSpec("ticket", 0.10, timedelta(hours=24)),
    AlertSpec("ticket", 0.10, timedelta(days=3)),
)


def fires(long_burn: float | None, short_burn: float | None, factor: float) -> bool:
    """True only when BOTH windows burn faster than the factor (strictly).

    >>> fires(20.0, 5.0, 14.4)
    False
    """
    return (long_burn is not None and short_burn is not None
            and long_burn > factor and short_burn > factor)


def _burns(series: SliSeries, slo_id: int, target: float, start: np.ndarray,
           end: np.ndarray) -> np.ndarray:
    total, bad = series.sums(slo_id, start, end)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, bad / np.where(total > 0, total, 1.0) / (1.0 - target), np.nan)


def _num(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def alert_status(samples: pl.DataFrame, slos: pl.DataFrame, at: datetime,
                 alerts: tuple[AlertSpec, ...] = DEFAULT_ALERTS) -> pl.DataFrame:
    """State of every alert pair of every SLO at ``at`` (naive UTC, exclusive window end).

    Columns: slo_id, slo, name, severity, long_window, short_window (minutes), factor,
    long_burn, short_burn (None without events), firing.
    """
    series = SliSeries.build(budgeted_samples(samples, slos))
    end = np.datetime64(at, "us").astype(np.int64)
    rows = []
    for slo in slos.iter_rows(named=True):
        check_target(slo["target"])
        period = Window.of(slo).period(at)
        for spec in alerts:
            factor = spec.factor(period)
            burns = _burns(series, slo["slo_id"], slo["target"],
                           np.array([end - _us(spec.long_window), end - _us(spec.short_window)]),
                           np.array([end, end]))
            long_burn, short_burn = _num(burns[0]), _num(burns[1])
            rows.append({"slo_id": slo["slo_id"], "slo": slo["slo"], "name": spec.name,
                         "severity": spec.severity,
                         "long_window": spec.long_window / timedelta(minutes=1),
                         "short_window": spec.short_window / timedelta(minutes=1),
                         "factor": factor, "long_burn": long_burn, "short_burn": short_burn,
                         "firing": fires(long_burn, short_burn, factor)})
    return pl.DataFrame(rows, schema={"slo_id": pl.Int64, "slo": pl.String, "name": pl.String,
                                      "severity": pl.String, "long_window": pl.Float64,
                                      "short_window": pl.Float64, "factor": pl.Float64,
                                      "long_burn": pl.Float64, "short_burn": pl.Float64,
                                      "firing": pl.Boolean})


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


INTERVAL_SCHEMA = {"slo_id": pl.Int64, "slo": pl.String, "service": pl.String,
                   "alert": pl.String, "severity": pl.String, "start": pl.Datetime("us"),
                   "end": pl.Datetime("us"), "ongoing": pl.Boolean, "peak_long_burn": pl.Float64}


def alert_history(samples: pl.DataFrame, slos: pl.DataFrame,
                  alerts: tuple[AlertSpec, ...] = DEFAULT_ALERTS) -> pl.DataFrame:
    """Firing intervals of every alert pair over the whole history.

    Each pair is evaluated at the end of every bucket (vectorised searchsorted over all bucket
    ends). An interval is [first firing evaluation, first evaluation not firing); one still
    firing at the last evaluation ends there with ``ongoing`` True. Calendar SLOs use the period
    holding the last sample for their factor.
    """
    series = SliSeries.build(budgeted_samples(samples, slos))
    services = _services(samples)
    rows: list[dict] = []
    for slo in slos.iter_rows(named=True):
        check_target(slo["target"])
        lo, hi = series.segment(slo["slo_id"])
        step = series.resolution(slo["slo_id"])
        if hi - lo == 0:
            continue
        ends = series.ts[lo:hi] + (_us(step) if step else 1)
        last = datetime(1970, 1, 1) + timedelta(microseconds=int(ends[-1]))
        period = Window.of(slo).period(last)
        for spec in alerts:
            factor = spec.factor(period)
            long_b = _burns(series, slo["slo_id"], slo["target"], ends - _us(spec.long_window), ends)
            short_b = _burns(series, slo["slo_id"], slo["target"], ends - _us(spec.short_window), ends)
            on = (long_b > factor) & (short_b > factor)  # NaN compares False: no data never fires
            rows.extend(_runs(on, ends, long_b, slo, services.get(slo["slo_id"]), spec))
    return pl.DataFrame(rows, schema=INTERVAL_SCHEMA)


def _services(samples: pl.DataFrame) -> dict[int, str | None]:
    if "service" not in samples.columns:
        return {}
    pairs = samples.select("slo_id", "service").unique(subset="slo_id")
    return dict(zip(pairs["slo_id"].to_list(), pairs["service"].to_list(), strict=True))


def _runs(on: np.ndarray, ends: np.ndarray, long_b: np.ndarray, slo: dict,
          service: str | None, spec: AlertSpec) -> list[dict]:
    edges = np.diff(np.concatenate(([0], on.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = []
    epoch = datetime(1970, 1, 1)
    for a, b in zip(starts, stops, strict=True):
        ongoing = b == on.size
        end_us = ends[-1] if ongoing else ends[b]
        out.append({"slo_id": slo["slo_id"], "slo": slo["slo"], "service": service,
                    "alert": spec.name, "severity": spec.severity,
                    "start": epoch + timedelta(microseconds=int(ends[a])),
                    "end": epoch + timedelta(microseconds=int(end_us)), "ongoing": bool(ongoing),
                    "peak_long_burn": float(np.nanmax(long_b[a:b]))})
    return out


def alert_warnings(slos: pl.DataFrame, at: datetime, samples: pl.DataFrame | None = None,
                   alerts: tuple[AlertSpec, ...] = DEFAULT_ALERTS) -> pl.DataFrame:
    """Alerts that can never fire (factor × (1 − target) > 1: the error ratio would have to
    exceed 100%) and windows finer than the data's resolution (or the SLO's time slice).

    Calendar SLOs use the period holding ``at``. Columns: slo, alert, warning.
    """
    series = SliSeries.build(budgeted_samples(samples, slos)) if samples is not None else None
    rows = []
    for slo in slos.iter_rows(named=True):
        check_target(slo["target"])
        window = Window.of(slo)
        period = window.period(at)
        step = series.resolution(slo["slo_id"]) if series is not None else None
        for spec in alerts:
            factor = spec.factor(period)
            if factor * (1.0 - slo["target"]) > 1.0:
                rows.append({"slo": slo["slo"], "alert": spec.name,
                             "warning": f"can never fire: factor {factor:.4g} × error budget "
                                        f"{1 - slo['target']:.4g} = "
                                        f"{factor * (1 - slo['target']):.4g} > 1"})
            if step is not None and spec.short_window < step:
                rows.append({"slo": slo["slo"], "alert": spec.name,
                             "warning": f"short window {span(spec.short_window)} is finer than "
                                        f"the data resolution {span(step)}"})
    return pl.DataFrame(rows, schema={"slo": pl.String, "alert": pl.String, "warning": pl.String})


def deployments_during_burn(deployments: pl.DataFrame, alert_intervals: pl.DataFrame,
                            severity: str = "page", environment: str | None = "production",
                            grace: timedelta = timedelta(0)) -> pl.DataFrame:
    """Deployments of a service during which one of its ``severity`` burn alerts fired.

    A deployment spans [started_at (finished_at when absent), finished_at + grace]; it matches a
    firing interval [start, end) of the same service that overlaps it. These are the
    candidates for automatic incident tickets. One row per (deployment, interval).
    """
    need = ("id", "service", "finished_at")
    missing = [c for c in need if c not in deployments.columns]
    if missing:
        raise ValueError(f"deployments: missing columns {missing}")
    missing = [c for c in ("service", "alert", "severity", "start", "end")
               if c not in alert_intervals.columns]
    if missing:
        raise ValueError(f"alert_intervals: missing columns {missing}")
    # An empty store read comes back with untyped (null) columns: type the join key.
    deps = deployments.with_columns(pl.col("service").cast(pl.String)).filter(
        pl.col("finished_at").is_not_null())
    if environment is not None and "environment" in deps.columns:
        deps = deps.filter(pl.col("environment") == environment)
    start = pl.coalesce("started_at", "finished_at") if "started_at" in deps.columns \
        else pl.col("finished_at")
    deps = deps.select(pl.col("id").alias("deployment_id"), "service",
                       *[c for c in ("version",) if c in deps.columns],
                       start.alias("deploy_start"), pl.col("finished_at").alias("deploy_end"))
    fired = alert_intervals.filter(pl.col("severity") == severity).select(
        "service", *[c for c in ("slo",) if c in alert_intervals.columns], "alert",
        pl.col("start").alias("alert_start"), pl.col("end").alias("alert_end"))
    return (deps.join(fired, on="service", how="inner")
            .filter((pl.col("alert_start") <= pl.col("deploy_end") + grace)
                    & (pl.col("alert_end") > pl.col("deploy_start")))
            .sort(["deploy_start", "deployment_id", "alert_start"]))
