"""SLIs, error budgets, burn rates and time to exhaustion (REFERENCE §2).

Pure functions on the frames ``analytics.store.queries.sli_samples()`` and ``slos()`` return.
Speed comes from one cumulative sum per column over samples sorted by (slo_id, ts): the sum over
any window is two ``searchsorted`` look-ups, so 200 SLOs × 30 days of minutes is a few vector
operations, never a Python loop per sample. Burn-rate alerts live in :mod:`slo_alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

SAMPLE_COLUMNS = ("slo_id", "ts", "good", "total")
SLO_COLUMNS = ("slo_id", "slo", "target", "window_kind")
CALENDAR_UNITS = {"month": 1, "quarter": 3}
# "Current" burn for time to exhaustion: the long window of the fastest page alert (REFERENCE §2).
CURRENT_BURN_WINDOW = timedelta(hours=1)
_US = timedelta(microseconds=1)


def error_budget_minutes(target: float, period: timedelta) -> float:
    """Minutes of full outage the budget allows: (1 − target) × period.

    >>> round(error_budget_minutes(0.999, timedelta(days=30)), 6)
    43.2
    """
    check_target(target)
    return (1.0 - target) * period / timedelta(minutes=1)


def budget_consumed(sli: float, target: float) -> float:
    """Share of the error budget spent: (1 − SLI) ÷ (1 − target) (REFERENCE §2).

    >>> round(budget_consumed(0.9995, 0.999), 6)
    0.5
    """
    check_target(target)
    return (1.0 - sli) / (1.0 - target)


def burn_rate(error_ratio: float, target: float) -> float:
    """Error ratio over a window ÷ (1 − target); 1 spends the budget exactly over the period.

    >>> round(burn_rate(0.0144, 0.999), 6)
    14.4
    """
    check_target(target)
    return error_ratio / (1.0 - target)


def check_target(target: float) -> None:
    """Raise ValueError unless 0 < target < 1 (an SLO target is a ratio, not a percentage)."""
    if not isinstance(target, int | float) or not 0.0 < float(target) < 1.0:
        raise ValueError(f"target must be a ratio strictly between 0 and 1, got {target!r}")


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` or a ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone: unknown IANA time zone {name!r}") from None


def calendar_period(at: datetime, unit: str, tz: str) -> tuple[datetime, datetime]:
    """The calendar month or quarter (in zone ``tz``) holding the instant just before ``at``.

    Bounds are naive UTC; ``at`` is an exclusive end, so the first instant of April reports March.

    >>> s, e = calendar_period(datetime(2026, 3, 15), "month", "Europe/Amsterdam")
    >>> (e - s) / timedelta(minutes=1)
    44580.0
    """
    if unit not in CALENDAR_UNITS:
        raise ValueError(f"calendar_unit must be one of {sorted(CALENDAR_UNITS)}, got {unit!r}")
    z = zone(tz)
    local = (at - _US).replace(tzinfo=ZoneInfo("UTC")).astimezone(z)
    step = CALENDAR_UNITS[unit]
    first = (local.month - 1) // step * step + 1
    start = datetime(local.year, first, 1, tzinfo=z)
    nxt = first + step
    end = datetime(local.year + (nxt - 1) // 12, (nxt - 1) % 12 + 1, 1, tzinfo=z)
    # Aware datetimes in one zone subtract wall-clock time; convert to UTC first (REFERENCE §3).
    return _naive_utc(start), _naive_utc(end)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@dataclass(frozen=True)
class Window:
    """An SLO window: rolling ``days`` or calendar-aligned ``unit`` (month, quarter) in ``tz``."""

    kind: str = "rolling"
    days: int | None = 30
    unit: str | None = None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.kind == "rolling":
            if not isinstance(self.days, int) or self.days <= 0:
                raise ValueError(f"window_days must be a positive integer, got {self.days!r}")
        elif self.kind == "calendar":
            if self.unit not in CALENDAR_UNITS:
                raise ValueError(f"calendar_unit must be one of {sorted(CALENDAR_UNITS)}, "
                                 f"got {self.unit!r}")
            zone(self.tz)
        else:
            raise ValueError(f"window_kind must be 'rolling' or 'calendar', got {self.kind!r}")

    def bounds(self, at: datetime) -> tuple[datetime, datetime]:
        """(start, period end) in naive UTC; the observed window is [start, at).

        >>> Window("rolling", 30).bounds(datetime(2026, 1, 31))[0]
        datetime.datetime(2026, 1, 1, 0, 0)
        """
        if self.kind == "rolling":
            return at - timedelta(days=self.days or 0), at
        return calendar_period(at, self.unit or "", self.tz)

    def period(self, at: datetime) -> timedelta:
        """Length of the budget period (the calendar period holding ``at``, or N days)."""
        start, end = self.bounds(at)
        return end - start

    @property
    def label(self) -> str:
        """``rolling 30d`` or ``calendar month (Europe/Amsterdam)``."""
        if self.kind == "rolling":
            return f"rolling {self.days}d"
        return f"calendar {self.unit} ({self.tz})"

    @classmethod
    def of(cls, slo: dict) -> Window:
        """The window of one row of ``queries.slos()``."""
        days = slo.get("window_days")
        return cls(kind=slo.get("window_kind") or "rolling",
                   days=int(days) if days is not None else None,
                   unit=slo.get("calendar_unit"), tz=slo.get("timezone") or "UTC")


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"{what} must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")


def timeslices(samples: pl.DataFrame, slice_minutes: int, slice_target: float) -> pl.DataFrame:
    """Samples → one unit sample per slice: good = 1 when the slice's own SLI ≥ slice_target.

    A slice without events counts as good (nothing failed in it). Time-slice budgeting
    (REFERENCE §2) then reuses the occurrence machinery: SLI = good slices ÷ slices.

    >>> s = pl.DataFrame({"slo_id": [1, 1], "ts": [datetime(2026, 1, 1, 0, 0),
    ...     datetime(2026, 1, 1, 0, 1)], "good": [9.0, 10.0], "total": [10.0, 10.0]})
    >>> timeslices(s, 1, 0.95)["good"].to_list()
    [0.0, 1.0]
    """
    _require(samples, SAMPLE_COLUMNS, "samples")
    if not isinstance(slice_minutes, int) or slice_minutes <= 0:
        raise ValueError(f"slice_minutes must be a positive integer, got {slice_minutes!r}")
    check_target(slice_target)
    keys = [c for c in ("slo_id", "slo", "service") if c in samples.columns]
    return (samples.group_by([*keys, pl.col("ts").dt.truncate(f"{slice_minutes}m")])
            .agg(pl.col("good").sum(), pl.col("total").sum())
            .with_columns(good=((pl.col("total") == 0)
                                | (pl.col("good") >= slice_target * pl.col("total"))).cast(pl.Float64),
                          total=pl.lit(1.0))
            .sort(["slo_id", "ts"]))


def budgeted_samples(samples: pl.DataFrame, slos: pl.DataFrame) -> pl.DataFrame:
    """Samples as the SLO's budgeting counts them: unchanged for occurrences, slices otherwise."""
    _require(slos, SLO_COLUMNS, "slos")
    if "budgeting" not in slos.columns:
        return samples
    sliced = slos.filter(pl.col("budgeting") == "timeslices")
    bad = sliced.filter(pl.col("slice_minutes").is_null() | pl.col("slice_target").is_null())
    if bad.height:
        raise ValueError(f"slo {bad['slo'][0]!r}: timeslices budgeting needs slice_minutes "
                         "and slice_target")
    if sliced.height == 0:
        return samples
    parts = [samples.filter(~pl.col("slo_id").is_in(sliced["slo_id"].implode()))]
    for (minutes, target), group in sliced.group_by(["slice_minutes", "slice_target"]):
        chosen = samples.filter(pl.col("slo_id").is_in(group["slo_id"].implode()))
        parts.append(timeslices(chosen, int(minutes), float(target)).select(samples.columns))
    return pl.concat(parts).sort(["slo_id", "ts"])


@dataclass(frozen=True)
class SliSeries:
    """Samples of many SLOs, sorted, with cumulative sums for O(log n) window sums.

    ``offsets[k]:offsets[k+1]`` is the segment of ``slo_ids[k]``; ``cum_*`` have a leading 0.
    """

    slo_ids: np.ndarray
    offsets: np.ndarray
    ts: np.ndarray
    cum_total: np.ndarray
    cum_bad: np.ndarray
    resolution_us: np.ndarray

    @classmethod
    def build(cls, samples: pl.DataFrame) -> SliSeries:
        """Sort (only when needed) and accumulate; bad = total − good per bucket."""
        _require(samples, SAMPLE_COLUMNS, "samples")
        ids = samples["slo_id"].to_numpy()
        ts = samples["ts"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
        same = ids[1:] == ids[:-1]
        if not (np.all(ids[1:] >= ids[:-1]) and np.all((ts[1:] > ts[:-1]) | ~same)):
            samples = samples.select(SAMPLE_COLUMNS).sort(["slo_id", "ts"])
            ids = samples["slo_id"].to_numpy()
            ts = samples["ts"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
            same = ids[1:] == ids[:-1]
        total = samples["total"].cast(pl.Float64).fill_null(0.0).to_numpy()
        good = samples["good"].cast(pl.Float64).fill_null(0.0).to_numpy()
        if np.any(total < 0) or np.any(good < 0) or np.any(good > total):
            raise ValueError("samples: need 0 ≤ good ≤ total in every bucket")
        starts = np.flatnonzero(np.concatenate(([True], ~same))) if ids.size else np.array([], int)
        offsets = np.append(starts, ids.size)
        step = np.diff(ts)
        step = np.where(same, step, np.iinfo(np.int64).max)
        res = (np.minimum.reduceat(np.append(step, np.iinfo(np.int64).max), starts)
               if ids.size else np.array([], np.int64))
        return cls(slo_ids=ids[starts] if ids.size else ids, offsets=offsets, ts=ts,
                   cum_total=np.concatenate(([0.0], np.cumsum(total))),
                   cum_bad=np.concatenate(([0.0], np.cumsum(total - good))),
                   resolution_us=res)

    def segment(self, slo_id: int) -> tuple[int, int]:
        """Row range of ``slo_id`` ((0, 0) when it has no samples)."""
        k = int(np.searchsorted(self.slo_ids, slo_id))
        if k < self.slo_ids.size and self.slo_ids[k] == slo_id:
            return int(self.offsets[k]), int(self.offsets[k + 1])
        return 0, 0

    def resolution(self, slo_id: int) -> timedelta | None:
        """Smallest step between buckets of ``slo_id`` (None with fewer than two buckets)."""
        k = int(np.searchsorted(self.slo_ids, slo_id))
        if k >= self.slo_ids.size or self.slo_ids[k] != slo_id:
            return None
        r = int(self.resolution_us[k])
        return None if r == np.iinfo(np.int64).max else timedelta(microseconds=r)

    def sums(self, slo_id: int, start: np.ndarray | datetime,
             end: np.ndarray | datetime) -> tuple[np.ndarray, np.ndarray]:
        """(total, bad) over buckets starting in [start, end); vectorised over arrays of µs."""
        lo, hi = self.segment(slo_id)
        seg = self.ts[lo:hi]
        i0 = lo + np.searchsorted(seg, _us(start), side="left")
        i1 = lo + np.searchsorted(seg, _us(end), side="left")
        return (self.cum_total[i1] - self.cum_total[i0], self.cum_bad[i1] - self.cum_bad[i0])


def _us(value: np.ndarray | datetime) -> np.ndarray | np.int64:
    if isinstance(value, datetime):
        return np.datetime64(value.replace(tzinfo=None), "us").astype(np.int64)
    return value


def ratio(num: float, den: float) -> float | None:
    """num ÷ den, or None when the denominator is 0 (no events: undefined, not perfect)."""
    return None if den <= 0 else float(num) / float(den)


def slo_status(samples: pl.DataFrame, slos: pl.DataFrame, at: datetime,
               current_window: timedelta = CURRENT_BURN_WINDOW) -> pl.DataFrame:
    """One row per SLO at ``at`` (naive UTC, exclusive end): SLI, budget and time to exhaustion.

    Columns: slo_id, slo, service, target, window, window_start, window_end, total, bad, sli,
    budget_consumed, budget_remaining (may go negative), budget_minutes, current_burn,
    exhaustion_hours (remaining × period ÷ current burn over ``current_window``; 0 when the
    budget is spent, None when nothing burns or no data).
    """
    series = SliSeries.build(budgeted_samples(samples, slos))
    rows = []
    for slo in slos.iter_rows(named=True):
        check_target(slo["target"])
        window = Window.of(slo)
        start, _end = window.bounds(at)
        period = window.period(at)
        total, bad = (float(x) for x in series.sums(slo["slo_id"], start, at))
        sli = None if total <= 0 else 1.0 - bad / total
        consumed = None if sli is None else budget_consumed(sli, slo["target"])
        remaining = None if consumed is None else 1.0 - consumed
        c_total, c_bad = (float(x) for x in series.sums(slo["slo_id"], at - current_window, at))
        err = ratio(c_bad, c_total)
        burn = None if err is None else burn_rate(err, slo["target"])
        if remaining is None:
            exhaustion = None
        elif remaining <= 0:
            exhaustion = 0.0
        elif not burn:
            exhaustion = None
        else:
            exhaustion = remaining * (period / timedelta(hours=1)) / burn
        rows.append({"slo_id": slo["slo_id"], "slo": slo["slo"], "service": slo.get("service"),
                     "target": float(slo["target"]), "window": window.label,
                     "window_start": start, "window_end": at, "total": total, "bad": bad,
                     "sli": sli, "budget_consumed": consumed, "budget_remaining": remaining,
                     "budget_minutes": error_budget_minutes(slo["target"], period),
                     "current_burn": burn, "exhaustion_hours": exhaustion})
    return pl.DataFrame(rows, schema=STATUS_SCHEMA)


STATUS_SCHEMA = {"slo_id": pl.Int64, "slo": pl.String, "service": pl.String, "target": pl.Float64,
                 "window": pl.String, "window_start": pl.Datetime("us"),
                 "window_end": pl.Datetime("us"), "total": pl.Float64, "bad": pl.Float64,
                 "sli": pl.Float64, "budget_consumed": pl.Float64,
                 "budget_remaining": pl.Float64, "budget_minutes": pl.Float64,
                 "current_burn": pl.Float64, "exhaustion_hours": pl.Float64}


def composite_status(status: pl.DataFrame, weights: dict[str, float], target: float) -> dict:
    """A weighted composite SLO: SLI = Σ wᵢ·SLIᵢ ÷ Σ wᵢ over the components' windows.

    Components without data are left out of both sums (and listed as ``missing``).

    >>> st = pl.DataFrame({"slo": ["a", "b"], "sli": [0.999, 0.996]})
    >>> round(composite_status(st, {"a": 3, "b": 1}, 0.99)["sli"], 6)
    0.99825
    """
    check_target(target)
    if not weights:
        raise ValueError("weights: give at least one component SLO")
    bad = {k: w for k, w in weights.items() if not isinstance(w, int | float) or w < 0}
    if bad:
        raise ValueError(f"weights: must be non-negative numbers, got {bad}")
    known = dict(zip(status["slo"].to_list(), status["sli"].to_list(), strict=True))
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise ValueError(f"weights: unknown slo {', '.join(unknown)}")
    used = {k: w for k, w in weights.items() if known[k] is not None}
    den = sum(used.values())
    sli = None if den == 0 else sum(w * known[k] for k, w in used.items()) / den
    consumed = None if sli is None else budget_consumed(sli, target)
    return {"sli": sli, "target": target, "budget_consumed": consumed,
            "budget_remaining": None if consumed is None else 1.0 - consumed,
            "missing": sorted(set(weights) - set(used))}
