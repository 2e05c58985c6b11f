"""CSAT and NPS by day, week or month, overall or per service, segment, tier or team (REFERENCE §4).

CSAT = share of scores 4–5 among responses (Wilson 95% interval). NPS = % promoters (9–10) −
% detractors (0–6) among responses with an NPS answer, with the adjusted-Wald interval (Rocks
2016). Every period between the first and last (or the given ``start``/``end``)
is present: a period without responses is a *gap* (``n`` = 0, rates null, ``gap`` true), never a
zero. Control charts, seasonality and change points on these series are in
:mod:`analytics.metrics.control_charts`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from scipy import stats

from analytics.metrics.stability import wilson

EVERY = {"day": "1d", "week": "1w", "month": "1mo"}
GROUP_COLUMNS = ("service", "segment", "tier", "team")
REQUIRED = ("responded_at", "score", "nps")


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _counts() -> list[pl.Expr]:
    return [pl.len().alias("n"), (pl.col("score") >= 4).sum().alias("satisfied"),
            pl.col("nps").count().alias("nps_n"), (pl.col("nps") >= 9).sum().alias("promoters"),
            (pl.col("nps") <= 6).sum().alias("detractors")]


def _rates(frame: pl.DataFrame, z: float) -> pl.DataFrame:
    n, k, m = pl.col("n"), pl.col("satisfied"), pl.col("nps_n")
    low, high = wilson(k, n, z)
    fp, fd = pl.col("promoters") / m, pl.col("detractors") / m
    # Adjusted Wald (Rocks 2016, the best-covering NPS interval): add 3/4 promoter, 3/4 detractor
    # and 3 responses; Var(ap − ad) for one multinomial sample = (ap + ad − (ap − ad)²) / (m + 3).
    ap, ad = (pl.col("promoters") + 0.75) / (m + 3), (pl.col("detractors") + 0.75) / (m + 3)
    half = z * ((ap + ad - (ap - ad) ** 2) / (m + 3)).sqrt()
    has_nps = m > 0
    return frame.with_columns(
        csat=pl.when(n > 0).then(k / n), csat_low=low, csat_high=high,
        nps=pl.when(has_nps).then(100 * (fp - fd)),
        nps_low=pl.when(has_nps).then(100 * (ap - ad - half)).clip(-100, 100),
        nps_high=pl.when(has_nps).then(100 * (ap - ad + half)).clip(-100, 100),
    )


def _validate(frame: pl.DataFrame, by: str | None) -> None:
    missing = [c for c in (*REQUIRED, *([by] if by else [])) if c not in frame.columns]
    if missing:
        raise ValueError(f"CSAT frame is missing column(s) {missing}")
    if by is not None and by not in GROUP_COLUMNS:
        raise ValueError(f"by must be one of {GROUP_COLUMNS}, got {by!r}")
    bad = frame.filter(~pl.col("score").is_between(1, 5))
    if bad.height:
        raise ValueError(f"score: CSAT scores must be 1–5, found {bad['score'][0]}")
    bad = frame.filter(pl.col("nps").is_not_null() & ~pl.col("nps").is_between(0, 10))
    if bad.height:
        raise ValueError(f"nps: NPS answers must be 0–10, found {bad['nps'][0]}")


def local_time(column: str, tz: str) -> pl.Expr:
    """A naive-UTC datetime column as naive wall-clock time in ``tz`` (period boundaries, §Intro)."""
    ts = pl.col(column)
    if tz == "UTC":
        return ts
    return ts.dt.replace_time_zone("UTC").dt.convert_time_zone(tz).dt.replace_time_zone(None)


def overall(frame: pl.DataFrame, confidence: float = 0.95) -> dict[str, Any]:
    """CSAT and NPS over the whole frame, with intervals.

    >>> f = pl.DataFrame({"responded_at": [None] * 4, "score": [5, 4, 2, 5], "nps": [10, 6, None, 9]})
    >>> overall(f)["csat"], round(overall(f)["nps"], 2)
    (0.75, 33.33)
    """
    _validate(frame, None)
    return _rates(frame.select(_counts()), _z(confidence)).row(0, named=True)


def csat_periods(frame: pl.DataFrame, every: str = "week", by: str | None = None, *,
                 tz: str = "UTC", start: date | None = None, end: date | None = None,
                 confidence: float = 0.95) -> pl.DataFrame:
    """CSAT and NPS per period (and per ``by`` group), gaps kept as null rows.

    Columns: [by], period (Date: the day, the Monday of an ISO week, or the 1st of a month, in
    ``tz``), n, satisfied, csat, csat_low, csat_high, nps_n, promoters, detractors, nps,
    nps_low, nps_high, gap. Each group gets every period from the first to the last.

    >>> from datetime import datetime
    >>> f = pl.DataFrame({"responded_at": [datetime(2026, 1, 5), datetime(2026, 1, 19)],
    ...                   "score": [5, 1], "nps": [9, 0]})
    >>> csat_periods(f)["csat"].to_list()
    [1.0, None, 0.0]
    """
    if every not in EVERY:
        raise ValueError(f"every must be one of {tuple(EVERY)}, got {every!r}")
    _validate(frame, by)
    if start and end and start > end:
        raise ValueError(f"start {start} is after end {end}")
    local = frame.with_columns(local_time("responded_at", tz).dt.date().alias("_day"))
    if start is not None:
        local = local.filter(pl.col("_day") >= start)
    if end is not None:
        local = local.filter(pl.col("_day") <= end)
    if local.height == 0 and (start is None or end is None):
        raise ValueError("no CSAT responses in the period (give start and end to list empty periods)")
    period = pl.col("_day").dt.truncate(EVERY[every]).alias("period")
    keys = [by, "period"] if by else ["period"]
    counts = local.group_by(*( [by] if by else []), period).agg(_counts())
    lo = start if start is not None else local["_day"].min()
    hi = end if end is not None else local["_day"].max()
    grid = pl.DataFrame({"period": pl.date_range(lo, hi, "1d", eager=True)}).select(
        pl.col("period").dt.truncate(EVERY[every]).unique().sort())
    if by:
        groups = local.select(pl.col(by).unique().sort(nulls_last=True))
        grid = groups.join(grid, how="cross")
    out = grid.join(counts, on=keys, how="left", nulls_equal=True).with_columns(
        pl.col("n", "satisfied", "nps_n", "promoters", "detractors").fill_null(0).cast(pl.Int64))
    return _rates(out, _z(confidence)).with_columns(gap=pl.col("n") == 0).sort(keys, nulls_last=True)


def by_group(frame: pl.DataFrame, by: str, confidence: float = 0.95) -> pl.DataFrame:
    """CSAT and NPS over the whole frame per ``by`` group (service, segment, tier or team).

    Columns: ``by``, n, satisfied, csat, csat_low, csat_high, nps_n, promoters, detractors, nps,
    nps_low, nps_high; most answers first, then by name (a null group last).

    >>> f = pl.DataFrame({"responded_at": [None] * 5, "score": [5, 4, 1, 5, 2],
    ...                   "nps": [10, None, 0, 9, 7], "segment": ["smb", "smb", "smb", "ent", "ent"]})
    >>> by_group(f, "segment").select("segment", "n", "csat").rows()
    [('smb', 3, 0.6666666666666666), ('ent', 2, 0.5)]
    """
    _validate(frame, by)
    counts = frame.group_by(by).agg(_counts())
    return (_rates(counts, _z(confidence))
            .sort(["n", by], descending=[True, False], nulls_last=True))
