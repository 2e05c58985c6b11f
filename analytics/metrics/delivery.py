"""Throughput KPIs (REFERENCE §1): which deployments count, deployment frequency, lead time.

Every aggregate takes ``by`` (slice keys: service, team, environment, tier, criticality) and an
optional ``every`` (``"1w"``, ``"1mo"``: adds a ``period`` key, the bucket start) and returns one
row per slice; with no keys it returns exactly one row, also for an empty period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from analytics.metrics.frames import (
    CHANGE_COLUMNS,
    DEPLOYMENT_COLUMNS,
    Frame,
    check_keys,
    conform,
    hours,
    in_period,
)

FINAL_STATUSES = ("success", "failed", "rolled_back")
PRODUCTION = ("production",)
BUCKETS = ("1d", "1w", "1mo", "1q")  # day, ISO week (Monday), calendar month, quarter
_DAY_US = 86_400_000_000
UTC_NAMES = ("UTC", "Etc/UTC")


def local_day_bounds(start: date | datetime | None, end: date | datetime | None,
                     tz: str = "UTC") -> tuple[datetime | None, datetime | None]:
    """Half-open ``[start, end)`` as naive UTC; a ``date`` is a whole day in zone ``tz`` (local
    midnight to local midnight), a ``datetime`` is already a naive UTC instant.

    >>> local_day_bounds(date(2026, 11, 1), date(2026, 11, 30), "Pacific/Kiritimati")
    (datetime.datetime(2026, 10, 31, 10, 0), datetime.datetime(2026, 11, 30, 10, 0))
    """
    def midnight(day: date) -> datetime:
        naive = datetime.combine(day, time())
        if tz in UTC_NAMES:
            return naive
        return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)

    lo = start if isinstance(start, datetime) or start is None else midnight(start)
    hi = end if isinstance(end, datetime) or end is None else midnight(end + timedelta(days=1))
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"period: start {lo} is after end {hi}")
    return lo, hi


def to_local(expr: pl.Expr, tz: str) -> pl.Expr:
    """Naive UTC → naive wall-clock time in ``tz`` (identity for UTC)."""
    if tz in UTC_NAMES:
        return expr
    return expr.dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.replace_time_zone(None)


def to_utc(expr: pl.Expr, tz: str) -> pl.Expr:
    """Naive wall-clock time in ``tz`` → naive UTC (an ambiguous local time takes the earlier)."""
    if tz in UTC_NAMES:
        return expr
    return (expr.dt.replace_time_zone(tz, ambiguous="earliest").dt.convert_time_zone("UTC")
            .dt.replace_time_zone(None))


def local_truncate(expr: pl.Expr, every: str, tz: str = "UTC") -> pl.Expr:
    """Start of the ``every`` bucket holding a naive-UTC instant, as LOCAL wall-clock time in
    ``tz`` (the period label a person in that zone reads: their day, ISO week, month).

    >>> f = pl.DataFrame({"t": [datetime(2026, 10, 31, 12)]})
    >>> f.select(local_truncate(pl.col("t"), "1mo", "Pacific/Kiritimati"))["t"][0]
    datetime.datetime(2026, 11, 1, 0, 0)
    """
    return to_local(expr, tz).dt.truncate(every)


def scope(deployments: Frame, *, environments: Sequence[str] | None = PRODUCTION,
          optional: Mapping[str, str] | None = None) -> pl.LazyFrame:
    """The deployments every KPI counts (REFERENCE §1), at any time.

    A deployment reached a final state, is not itself a rollback (rollbacks are remediations)
    and ran in one of ``environments`` (default production only; ``None`` = every environment).
    ``optional`` columns (name → kind) are kept when the frame has them.
    """
    frame = conform(deployments, "deployments", DEPLOYMENT_COLUMNS, optional)
    keep = (pl.col("status").is_in(FINAL_STATUSES) & pl.col("finished_at").is_not_null()
            & ~pl.col("is_rollback").fill_null(False))
    if environments is not None:
        keep = keep & pl.col("environment").is_in(list(environments))
    return frame.filter(keep)


def tie_order(frame: pl.LazyFrame, keys: Sequence[str]) -> pl.LazyFrame:
    """Sort by ``keys`` then the deployment's ``external_id`` ascending, then ``id``: the
    deterministic order REFERENCE §1.1 prescribes for deployments sharing ``finished_at``
    (``external_id`` is used when the frame has it)."""
    names = frame.collect_schema().names()
    extra = [c for c in ("external_id", "id") if c in names and c not in keys]
    return frame.sort([*keys, *extra], nulls_last=True)


def one_per_key(frame: pl.LazyFrame, keys: Sequence[str], keep: str) -> pl.LazyFrame:
    """The ``keep`` ("first" or "last") row of each ``keys`` value, in the frame's order: what
    ``unique(keys, keep=keep, maintain_order=True)`` returns, as a filter on one hashed pass
    (the unique cost twice as much on a million deployments).

    >>> f = pl.LazyFrame({"k": [1, 2, 1, 2], "v": ["a", "b", "c", "d"]})
    >>> one_per_key(f, ["k"], "last").collect()["v"].to_list()
    ['c', 'd']
    """
    key = pl.struct(list(keys))
    return frame.filter(key.is_first_distinct() if keep == "first" else key.is_last_distinct())


def in_time_order(events: Frame, ts: str) -> pl.LazyFrame:
    """``events`` sorted by ``ts``; rows already in that order (as the read copy hands them
    over) are only marked sorted, not sorted again (millions of rows)."""
    frame = events.collect() if isinstance(events, pl.LazyFrame) else events
    if frame[ts].null_count() == 0 and frame[ts].is_sorted():
        return frame.lazy().set_sorted(ts)
    return frame.lazy().sort(ts)


def service_keys(environments: Sequence[str] | None) -> list[str]:
    """Keys that say "same service" for as-of joins: the service, and its environment unless
    a single environment is in scope (then it is constant, and string keys slow the join)."""
    if environments is not None and len(environments) == 1:
        return ["service_id"]
    return ["service_id", "environment"]


def with_period(frame: pl.LazyFrame, ts: str, every: str | None,
                tz: str = "UTC") -> pl.LazyFrame:
    """Add ``period`` = start of the ``every`` bucket (ISO week starts Monday) holding ``ts``,
    as local wall-clock time in ``tz`` (see :func:`local_truncate`)."""
    if every is None:
        return frame
    return frame.with_columns(local_truncate(pl.col(ts), every, tz).alias("period"))


def group_keys(by: Sequence[str], every: str | None, extra: Sequence[str] = ()) -> list[str]:
    """Slice keys to group on, checked, with ``period`` appended when ``every`` is set."""
    if isinstance(by, str):
        raise ValueError(f"by: expected a list of slice keys, got the string {by!r}")
    check_keys(tuple(k for k in by if k not in extra))
    if every is not None and every not in BUCKETS:
        raise ValueError(f"every: unknown bucket {every!r}; use one of {', '.join(BUCKETS)}")
    keys = list(by)
    if every is not None and "period" not in keys:
        keys.append("period")
    return keys


def aggregate(frame: pl.LazyFrame, keys: list[str], aggs: list[pl.Expr]) -> pl.LazyFrame:
    """``group_by(keys).agg(aggs)``; with no keys, one row even when ``frame`` is empty."""
    if keys:
        return frame.group_by(keys).agg(aggs).sort(keys, nulls_last=True)
    return frame.select(aggs)


def span(keys: Sequence[str], lo: datetime | None, hi: datetime | None,
         every: str | None, tz: str = "UTC") -> tuple[pl.Expr, pl.Expr]:
    """Start and end (naive UTC) of each slice's observed time: the period, clipped to its
    bucket (a bucket is drawn in local time of ``tz``)."""
    lo_e = pl.lit(lo, dtype=pl.Datetime("us"))
    hi_e = pl.lit(hi, dtype=pl.Datetime("us"))
    if "period" in keys and every is not None:
        start = to_utc(pl.col("period"), tz)
        lo_e = pl.max_horizontal(start, lo_e) if lo is not None else start
        bucket_end = to_utc(pl.col("period").dt.offset_by(every), tz)
        hi_e = pl.min_horizontal(bucket_end, hi_e) if hi is not None else bucket_end
    return lo_e, hi_e


def span_days(keys: Sequence[str], lo: datetime | None, hi: datetime | None,
              every: str | None, tz: str = "UTC") -> pl.Expr:
    """Calendar days each slice covers (the frequency denominator)."""
    a, b = span(keys, lo, hi, every, tz)
    return (b - a).dt.total_microseconds() / _DAY_US


def resolve_period(deps: pl.LazyFrame, lo: datetime | None, hi: datetime | None,
                   tz: str = "UTC") -> tuple[datetime | None, datetime | None]:
    """Fill an open period end with the first / last (local) day that has a deployment."""
    if lo is not None and hi is not None:
        return lo, hi
    day = local_truncate(pl.col("finished_at"), "1d", tz)
    a, b = deps.select(day.min().alias("a"), day.max().alias("b")).collect().row(0)
    first = local_day_bounds(a.date(), None, tz)[0] if a is not None else None
    last = local_day_bounds(None, b.date(), tz)[1] if b is not None else None
    return (lo if lo is not None else first, hi if hi is not None else last)


def frequency_from_scoped(deps: pl.LazyFrame, *, keys: Sequence[str], lo: datetime | None,
                          hi: datetime | None, every: str | None,
                          tz: str = "UTC") -> pl.LazyFrame:
    """Deployments, per day, per week and median deploy-days per ISO week (REFERENCE §1) of
    deployments already scoped to the period (and given a ``period`` column when ``every`` is
    set); days and weeks are local to ``tz``. Weeks without a deployment count as 0 deploy-days:
    every ISO week overlapping the period is in the median."""
    keys = list(keys)
    lo, hi = resolve_period(deps, lo, hi, tz)
    span_lo, span_hi = span(keys, lo, hi, every, tz)
    day = local_truncate(pl.col("finished_at"), "1d", tz)
    weekly = (deps.with_columns(day.alias("_day"), day.dt.truncate("1w").alias("_week"))
              .group_by([*keys, "_week"]).agg(pl.col("_day").n_unique().alias("_days"),
                                               pl.len().alias("_n")))
    week_days = pl.col("_days") if keys else pl.col("_days").implode()
    per_slice = aggregate(weekly, keys, [pl.col("_n").sum().alias("deployments"), week_days])
    days = span_days(keys, lo, hi, every)
    weeks = (local_truncate(span_hi - pl.duration(microseconds=1), "1w", tz)
             - local_truncate(span_lo, "1w", tz)).dt.total_days() // 7 + 1
    n = pl.col("deployments").fill_null(0).cast(pl.Int64)
    per_day = pl.when(n == 0).then(0.0).otherwise(n / days)
    # Zero-fill the weeks without a deployment before taking the median (docstring).
    padded = pl.col("_days").list.concat(
        pl.lit(0, dtype=pl.UInt32).repeat_by((weeks - pl.col("_days").list.len()).clip(0)))
    return per_slice.with_columns(
        n.alias("deployments"),
        days.alias("days"),
        per_day.alias("deploys_per_day"),
        (per_day * 7).alias("deploys_per_week"),
        padded.list.median().alias("deploy_days_per_week_median"),
    ).drop("_days")


def lead_time_pairs(deployments: Frame, changes: Frame, *, start: date | datetime | None = None,
                    end: date | datetime | None = None,
                    environments: Sequence[str] | None = PRODUCTION,
                    carry: Sequence[str] = (), tz: str = "UTC") -> pl.LazyFrame:
    """Every (success deployment, change) pair in the period with ``lead_hours`` > 0:
    ``deployment_id``, ``finished_at``, ``committed_at``, ``lead_hours`` and the deployment
    columns named in ``carry`` (slice keys; carried only on request, there are millions of pairs).

    Pairs whose commit is not before the deployment finished are dropped (REFERENCE §1).
    ``start``/``end`` days are drawn in zone ``tz``.
    """
    lo, hi = local_day_bounds(start, end, tz)
    deps = (scope(deployments, environments=environments)
            .filter(in_period("finished_at", lo, hi) & (pl.col("status") == "success"))
            .select("id", "finished_at", *[c for c in carry if c != "period"]))
    chg = conform(changes, "changes", CHANGE_COLUMNS)
    return (chg.join(deps, left_on="deployment_id", right_on="id", how="inner")
            .with_columns(hours(pl.col("finished_at") - pl.col("committed_at")).alias("lead_hours"))
            .filter(pl.col("lead_hours") > 0))


def lead_time_aggs() -> list[pl.Expr]:
    """Median, p75, p90 (linear interpolation) and count of ``lead_hours``."""
    x = pl.col("lead_hours")
    return [x.median().alias("lead_time_median"),
            x.quantile(0.75, interpolation="linear").alias("lead_time_p75"),
            x.quantile(0.90, interpolation="linear").alias("lead_time_p90"),
            x.count().cast(pl.Int64).alias("lead_time_n")]

