"""Threshold replay: run an alert rule over history and score it against incidents (REFERENCE §4).

Semantics, on a regular grid of samples with step Δ (sample i covers [t0 + iΔ, t0 + (i+1)Δ)):

* **window W** — the value evaluated at instant t0 + (i+1)Δ is Σnum ÷ Σden over the last W/Δ
  samples (i included); until a full window of history exists the value is missing.
* **condition** — value > threshold, strictly; a missing value (no traffic) is false.
* **for-duration F** — the condition must hold at every evaluation in [T, T + F], where T is the
  first true evaluation of the run, i.e. on F/Δ + 1 consecutive samples; the alert fires at T + F.
  F = 0 fires on the first true evaluation.
* **resolution** — the alert ends at the first evaluation where the condition is false again.
  Alert intervals are half-open [fire, resolve); an alert still firing when the data ends ends
  with the data.
* **cooldown C** — after an alert ends at E no new alert may start before E + C (an alert may
  start exactly at E + C). A firing episode that begins inside the cooldown is held back: if the
  condition still holds at E + C it fires then, otherwise it is dropped.

Scoring is by whole intervals, never samples (REFERENCE §4): an alert is a true alert when it
overlaps an incident [opened_at, resolved_at); an incident is caught when any alert overlaps it;
its detection delay is max(0, first overlapping alert start − opened_at).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from analytics.metrics.intervals import from_us, to_us

# Off-hours = outside Monday–Friday 08:00–18:00 UTC: the hours a page wakes someone up.
WORK_START_HOUR, WORK_END_HOUR = 8, 18


@dataclass(frozen=True)
class Rule:
    """An alert rule: value over ``window`` above ``threshold`` for ``for_`` with ``cooldown``."""

    threshold: float
    window: timedelta = timedelta(minutes=5)
    for_: timedelta = timedelta(0)
    cooldown: timedelta = timedelta(0)

    def steps(self, step: timedelta) -> tuple[int, int, int]:
        """(window, for, cooldown) in samples of ``step``; each must be a whole multiple.

        >>> Rule(0.05, timedelta(minutes=15), timedelta(minutes=5)).steps(timedelta(minutes=5))
        (3, 1, 0)
        """
        out = []
        for name, value, low in (("window", self.window, 1), ("for", self.for_, 0),
                                 ("cooldown", self.cooldown, 0)):
            n = value / step
            if n != int(n) or n < low:
                raise ValueError(f"{name} {value} must be a {'positive ' if low else ''}"
                                 f"whole multiple of the sample step {step}")
            out.append(int(n))
        return out[0], out[1], out[2]


@dataclass(frozen=True)
class Series:
    """A metric on a regular grid: ``num``/``den`` are (services × samples) per-sample sums."""

    services: tuple[str, ...]
    start: datetime
    step: timedelta
    num: np.ndarray
    den: np.ndarray

    def values(self, window_steps: int) -> np.ndarray:
        """Windowed value Σnum/Σden over the last ``window_steps`` samples (NaN without history
        or traffic), by cumulative sums."""
        pad = np.zeros((self.num.shape[0], 1))
        cn = np.cumsum(np.hstack([pad, self.num]), axis=1)
        cd = np.cumsum(np.hstack([pad, self.den]), axis=1)
        out = np.full(self.num.shape, np.nan)
        k = window_steps
        sn, sd = cn[:, k:] - cn[:, :-k], cd[:, k:] - cd[:, :-k]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:, k - 1:] = np.where(sd > 0, sn / sd, np.nan)
        return out

    def index(self, service: str) -> int:
        """Row of ``service`` (a clear error when it has no series)."""
        if service not in self.services:
            raise ValueError(f"service {service!r} has no metric series")
        return self.services.index(service)


def error_rate_series(samples: pl.DataFrame, step: timedelta | None = None) -> Series:
    """Per service, bad ÷ total of all its SLOs' SLI samples on a dense grid (missing = no traffic).

    ``samples`` has service, ts, good, total (``queries.sli_samples``)."""
    return _grid(samples.select("service", "ts", num=pl.col("total") - pl.col("good"),
                                den=pl.col("total")), step)


def burn_rate_series(samples: pl.DataFrame, slos: pl.DataFrame, step: timedelta | None = None) -> Series:
    """Per service, error rate ÷ (1 − target) of its strictest SLO (REFERENCE §2 burn rate)."""
    budget = slos.group_by("service").agg(budget=1 - pl.col("target").max())
    frame = samples.join(budget, on="service").select(
        "service", "ts", num=(pl.col("total") - pl.col("good")) / pl.col("budget"), den=pl.col("total"))
    return _grid(frame, step)


def ticket_rate_series(tickets: pl.DataFrame, start: datetime, end: datetime,
                       step: timedelta = timedelta(hours=1)) -> Series:
    """Per service, tickets opened per hour on a grid of ``step`` over [start, end)."""
    t = tickets.filter(pl.col("service").is_not_null() & (pl.col("opened_at") >= start)
                       & (pl.col("opened_at") < end))
    t = t.select("service", ts=pl.col("opened_at").dt.truncate(f"{int(step.total_seconds())}s"), num=pl.lit(1.0))
    names = sorted(set(t["service"].to_list()))
    n = int((end - start) / step)
    grid = pl.DataFrame({"service": names}).join(
        pl.DataFrame({"ts": pl.datetime_range(start, end - step, step, eager=True, time_unit="us")}),
        how="cross").with_columns(num=pl.lit(0.0), den=pl.lit(step / timedelta(hours=1)))
    frame = pl.concat([grid, t.with_columns(den=pl.lit(0.0))], how="diagonal_relaxed")
    s = _grid(frame, step)
    return replace(s, num=s.num[:, :n], den=s.den[:, :n])


def _grid(frame: pl.DataFrame, step: timedelta | None) -> Series:
    if frame.height == 0:
        raise ValueError("no samples: the metric series is empty for this period")
    ts_us = frame["ts"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
    ts = np.unique(ts_us)
    step_us = int(step / timedelta(microseconds=1)) if step else int(np.diff(ts).min()) if ts.size > 1 else 60_000_000
    names = tuple(sorted(set(frame["service"].drop_nulls().to_list())))
    frame_rows = frame["service"].replace_strict({s: i for i, s in enumerate(names)}, default=-1,
                                                 return_dtype=pl.Int64).to_numpy()
    n = int((ts[-1] - ts[0]) // step_us) + 1
    ok = frame_rows >= 0
    # bincount on the flat (service, bucket) index sums duplicates (several SLOs per service).
    flat = frame_rows[ok] * n + (ts_us[ok] - ts[0]) // step_us
    num = np.bincount(flat, frame["num"].to_numpy()[ok], len(names) * n).reshape(len(names), n)
    den = np.bincount(flat, frame["den"].to_numpy()[ok], len(names) * n).reshape(len(names), n)
    return Series(names, from_us(int(ts[0])), timedelta(microseconds=step_us), num, den)


def alert_runs(values: np.ndarray, threshold: float, for_steps: int, cooldown_steps: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alerts of every row of ``values`` (rows × samples) as (row, start, end) in evaluation
    units: evaluation e is the instant t0 + eΔ, so sample i is evaluated at e = i + 1.

    >>> [a.tolist() for a in alert_runs(np.array([[0, 1, 1, 1, 0.]]), 0.5, 1, 0)]
    [[0], [3], [5]]
    """
    rows, n = values.shape
    cond = np.zeros((rows, n + 1), bool)  # a false column keeps runs from crossing rows
    np.greater(values, threshold, out=cond[:, :n])  # NaN (no traffic) compares false
    flat = cond.ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    if flat[0]:
        edges = np.concatenate(([0], edges))
    s, e = edges[0::2], edges[1::2]
    fire = s + for_steps  # the (F/Δ + 1)-th consecutive true sample, as sample index
    ok = fire < e
    s, e = fire[ok] + 1, e[ok] + 1  # evaluation instants: fire and first false evaluation
    row = s // (n + 1)
    off = row * (n + 1)
    start, end = s - off, np.minimum(e - off, n)  # still firing at the end: ends with the data
    if cooldown_steps and start.size > 1:
        start, end, row = _cooldown(start, end, row, cooldown_steps)
    return row, start, end


def _cooldown(start: np.ndarray, end: np.ndarray, row: np.ndarray, c: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Alert ends never exceed their episode's end, so an episode starting ≥ C after the previous
    # episode's end is always kept: only chains of close episodes need the sequential pass.
    close = np.flatnonzero((start[1:] < end[:-1] + c) & (row[1:] == row[:-1])) + 1
    keep = np.ones(start.size, bool)
    start = start.copy()
    last, prev = 0, -2
    for i in close.tolist():
        if i - 1 != prev or keep[i - 1]:
            last = end[i - 1]
        begin = max(start[i], last + c)
        if begin >= end[i]:
            keep[i] = False
        else:
            start[i] = begin
        prev = i
    return start[keep], end[keep], row[keep]


def covered_incidents(incidents: pl.DataFrame, series: Series) -> pl.DataFrame:
    """Incidents of the series' services that overlap its span (only those can be caught or
    missed); an unresolved incident lasts to the end of the series."""
    stop = series.start + series.step * series.num.shape[1]
    return incidents.drop_nulls(["opened_at"]).with_columns(pl.col("resolved_at").fill_null(stop)).filter(
        pl.col("service").is_in(list(series.services)) & (pl.col("opened_at") < stop)
        & (pl.col("resolved_at") > series.start))


def incident_spans(incidents: pl.DataFrame, series: Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``covered_incidents`` as (row, start, end) in evaluation units (floats)."""
    f = covered_incidents(incidents, series)
    rows = f["service"].replace_strict({s: i for i, s in enumerate(series.services)},
                                       return_dtype=pl.Int64).to_numpy()
    t0, step = to_us(series.start), series.step / timedelta(microseconds=1)
    lo = f["opened_at"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
    hi = f["resolved_at"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
    return rows, (lo - t0) / step, (np.maximum(hi, lo) - t0) / step


def score(alerts: tuple[np.ndarray, np.ndarray, np.ndarray],
          incidents: tuple[np.ndarray, np.ndarray, np.ndarray], series: Series) -> dict:
    """Precision, recall, delays (minutes), alerts per week and off-hours alerts.

    Per-alert flag ``true_alert`` and per-incident ``caught``/``delay`` come back as arrays so
    callers can list false alarms and missed incidents and bootstrap the scores."""
    n = series.num.shape[1]
    span_ = float(n + 2)  # rows are laid end to end on one axis, never touching
    a_s, a_e = alerts[1] + alerts[0] * span_, alerts[2] + alerts[0] * span_
    i_s, i_e = incidents[1] + incidents[0] * span_, incidents[2] + incidents[0] * span_
    order = np.argsort(a_s, kind="stable")
    a_s, a_e = a_s[order], a_e[order]
    true_alert = _overlaps(a_s, a_e, i_s, i_e)
    caught, first = _first_overlap(i_s, i_e, a_s, a_e)
    step_min = series.step / timedelta(minutes=1)
    lag = np.maximum(a_s[np.minimum(first, a_s.size - 1)] - i_s, 0) if a_s.size else np.zeros(i_s.size)
    delay = np.where(caught, np.round(lag * step_min, 6), np.nan)  # rounding drops float noise
    weeks = n * series.step / timedelta(weeks=1)  # all services together: what on-call receives
    start_us = to_us(series.start) + alerts[1][order] * int(series.step / timedelta(microseconds=1))
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    return {
        "alerts": int(a_s.size), "incidents": int(i_s.size),
        "precision": float(true_alert.mean()) if a_s.size else None,
        "recall": float(caught.mean()) if i_s.size else None,
        "median_delay": float(np.nanmedian(delay)) if caught.any() else None,
        "p90_delay": float(np.nanpercentile(delay, 90)) if caught.any() else None,
        "alerts_per_week": a_s.size / weeks if weeks else None,
        "off_hours_alerts": int(off_hours(start_us).sum()),
        "true_alert": true_alert[inv], "caught": caught, "delay": delay,
    }


def _overlaps(a_s: np.ndarray, a_e: np.ndarray, i_s: np.ndarray, i_e: np.ndarray) -> np.ndarray:
    # Each alert: does any incident start before it ends and end after it starts?
    if i_s.size == 0:
        return np.zeros(a_s.size, bool)
    o = np.argsort(i_s)
    s_sorted, reach = i_s[o], np.maximum.accumulate(i_e[o])
    j = np.searchsorted(s_sorted, a_e, side="left") - 1  # last incident starting before alert end
    return (j >= 0) & (reach[np.maximum(j, 0)] > a_s)


def _first_overlap(i_s: np.ndarray, i_e: np.ndarray, a_s: np.ndarray, a_e: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    # Alerts are sorted and disjoint, so their ends are sorted too.
    j = np.searchsorted(a_e, i_s, side="right")
    ok = j < a_s.size
    caught = ok & (a_s[np.minimum(j, max(a_s.size - 1, 0))] < i_e) if a_s.size else np.zeros(i_s.size, bool)
    return caught, j


def off_hours(start_us: np.ndarray) -> np.ndarray:
    """True where a µs timestamp falls outside Mon–Fri 08:00–18:00 UTC.

    >>> off_hours(np.array([to_us(datetime(2026, 11, 23, 9)), to_us(datetime(2026, 11, 22, 9))])).tolist()
    [False, True]
    """
    hours = np.asarray(start_us, np.int64) // 3_600_000_000
    weekday = (hours // 24 + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    hod = hours % 24
    return (weekday >= 5) | (hod < WORK_START_HOUR) | (hod >= WORK_END_HOUR)


def replay(series: Series, rule: Rule, incidents: pl.DataFrame) -> dict:
    """Replay ``rule`` over every service of ``series`` and score it; adds ``alert_intervals``
    and ``incident_intervals`` ({service, start, end} datetimes, same order as the flags) and
    ``incidents_scored`` (the incident rows, same order)."""
    w, f, c = rule.steps(series.step)
    alerts = alert_runs(series.values(w), rule.threshold, f, c)
    inc = incident_spans(incidents, series)
    out = score(alerts, inc, series)
    out["alert_intervals"] = _to_times(series, alerts)
    out["incident_intervals"] = _to_times(series, inc)
    out["incidents_scored"] = covered_incidents(incidents, series)
    return out


def _to_times(series: Series, s: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[dict]:
    t0, step = to_us(series.start), series.step / timedelta(microseconds=1)
    return [{"service": series.services[r], "start": from_us(int(round(t0 + a * step))),
             "end": from_us(int(round(t0 + b * step)))} for r, a, b in zip(*s, strict=True)]


def sweep(series: Series, incidents: pl.DataFrame, thresholds: np.ndarray,
          windows: tuple[timedelta, ...], for_: timedelta = timedelta(0),
          cooldown: timedelta = timedelta(0)) -> pl.DataFrame:
    """Score every (window, threshold): the PR curve and alerts/week vs recall as one frame."""
    inc = incident_spans(incidents, series)
    rows = []
    for window in windows:
        w, f, c = Rule(0.0, window, for_, cooldown).steps(series.step)
        values = series.values(w)
        for thr in np.asarray(thresholds, float):
            s = score(alert_runs(values, thr, f, c), inc, series)
            rows.append({"window_minutes": window / timedelta(minutes=1), "threshold": float(thr),
                         **{k: s[k] for k in ("alerts", "precision", "recall", "median_delay",
                                              "alerts_per_week", "off_hours_alerts")}})
    return pl.DataFrame(rows, schema_overrides={"precision": pl.Float64, "recall": pl.Float64,
                                                "median_delay": pl.Float64})


def bootstrap(result: dict, reps: int = 2000, seed: int = 7, level: float = 0.95) -> dict:
    """Percentile intervals for precision (resampling alerts) and recall (resampling incidents)."""
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    out = {}
    for name, flags in (("precision", result["true_alert"]), ("recall", result["caught"])):
        flags = np.asarray(flags, float)
        if flags.size == 0:
            out[name] = None
            continue
        means = flags[rng.integers(0, flags.size, (reps, flags.size))].mean(axis=1)
        out[name] = tuple(float(x) for x in np.percentile(means, q))
    return out


def split(series: Series, at: datetime) -> tuple[Series, Series]:
    """Training (before ``at``) and validation (from ``at``) parts of a series; ``at`` is rounded
    down to the grid. Validate a tuned rule on the later part (REFERENCE §4)."""
    k = int((at - series.start) / series.step)
    if not 0 < k < series.num.shape[1]:
        raise ValueError(f"split time {at} is outside the series")
    return (replace(series, num=series.num[:, :k], den=series.den[:, :k]),
            replace(series, start=series.start + k * series.step, num=series.num[:, k:], den=series.den[:, k:]))


SCORECARD = ("alerts", "alerts_per_week", "precision", "recall", "median_delay", "off_hours_alerts")


def compare(series: Series, incidents: pl.DataFrame, current: Rule, proposed: Rule) -> pl.DataFrame:
    """Scorecard of the current and the proposed rule side by side, with proposed − current."""
    a, b = replay(series, current, incidents), replay(series, proposed, incidents)
    return pl.DataFrame([{"measure": k, "current": _f(a[k]), "proposed": _f(b[k]),
                          "change": None if a[k] is None or b[k] is None else float(b[k] - a[k])}
                         for k in SCORECARD])


def _f(v: float | int | None) -> float | None:
    return None if v is None else float(v)
