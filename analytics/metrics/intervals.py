"""Interval algebra on half-open [start, end) spans of naive UTC time, as int64 microseconds.

Overlapping outages must count once (REFERENCE §3), so every measure goes through ``union``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

EPOCH = datetime(1970, 1, 1)
Spans = tuple[np.ndarray, np.ndarray]


def to_us(value: datetime) -> int:
    """Naive UTC datetime → µs since the epoch."""
    return (value.replace(tzinfo=None) - EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    """µs since the epoch → naive UTC datetime."""
    return EPOCH + timedelta(microseconds=int(value))


def spans(frame: pl.DataFrame, start: str = "start", end: str = "end") -> Spans:
    """The [start, end) columns of ``frame`` as µs arrays (rows with a null bound dropped)."""
    if frame.height == 0:
        return np.array([], np.int64), np.array([], np.int64)
    both = frame.select(pl.col(start).cast(pl.Datetime("us")), pl.col(end).cast(pl.Datetime("us"))
                        ).drop_nulls()
    return (both[start].to_numpy().astype(np.int64), both[end].to_numpy().astype(np.int64))


def union(s: Spans) -> Spans:
    """Merge overlapping or touching spans; empty and inverted spans vanish.

    >>> [a.tolist() for a in union((np.array([0, 5, 2]), np.array([3, 9, 4])))]
    [[0, 5], [4, 9]]
    """
    start, end = np.asarray(s[0], np.int64), np.asarray(s[1], np.int64)
    keep = end > start
    start, end = start[keep], end[keep]
    if start.size == 0:
        return start, end
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    # A new block begins where a start lies beyond everything seen so far.
    new = np.concatenate(([True], start[1:] > reach[:-1]))
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, start.size - 1)
    return start[first], reach[last]


def intersect(a: Spans, b: Spans) -> Spans:
    """Intersection of two span sets (each is unioned first).

    >>> [x.tolist() for x in intersect((np.array([0]), np.array([10])), (np.array([5]), np.array([20])))]
    [[5], [10]]
    """
    a, b = union(a), union(b)
    if a[0].size == 0 or b[0].size == 0:
        return np.array([], np.int64), np.array([], np.int64)
    # For each span of a, the spans of b that can overlap it: b.end > a.start and b.start < a.end.
    j0 = np.searchsorted(b[1], a[0], side="right")
    j1 = np.searchsorted(b[0], a[1], side="left")
    counts = np.maximum(j1 - j0, 0)
    ai = np.repeat(np.arange(a[0].size), counts)
    bj = np.concatenate([np.arange(x, y) for x, y in zip(j0, j1, strict=True) if y > x]
                        or [np.array([], np.int64)]).astype(np.int64)
    start = np.maximum(a[0][ai], b[0][bj])
    end = np.minimum(a[1][ai], b[1][bj])
    return union((start, end))


def clip(s: Spans, lo: datetime, hi: datetime) -> Spans:
    """``s`` restricted to [lo, hi)."""
    lo_us, hi_us = to_us(lo), to_us(hi)
    return union((np.maximum(np.asarray(s[0], np.int64), lo_us),
                  np.minimum(np.asarray(s[1], np.int64), hi_us)))


def minutes(s: Spans) -> float:
    """Total length of the union of ``s``, in minutes."""
    u = union(s)
    return float((u[1] - u[0]).sum()) / 60e6
