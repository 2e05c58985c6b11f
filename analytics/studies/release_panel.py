"""Hourly service panels around production releases (the data side of the release-impact study).

Everything is aggregated to service × hour arrays in numpy/polars first (REFERENCE §4: hourly
counts), so the statistics run on counts, never on raw tickets: ≈5M tickets become one
``(services, hours)`` matrix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from analytics.metrics.stability import FAILED_STATUSES
from analytics.studies import release_blocks as blocks
from analytics.studies.release_blocks import Scratch, row_order

WEIGHTS_FILE = Path(__file__).with_name("impact_weights.toml")
HOURS_PER_WEEK = 168
PRODUCTION = ("production",)


def load_weights(path: Path = WEIGHTS_FILE) -> dict[str, dict[str, float]]:
    """The customer-impact weights (``user_role`` and ``transaction_criticality`` tables).

    >>> load_weights()["transaction_criticality"]["critical"]
    8.0
    """
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    for table in ("user_role", "transaction_criticality"):
        if table not in data:
            raise ValueError(f"impact weights file {path} lacks the [{table}] table")
    return {k: {str(a): float(b) for a, b in v.items()} for k, v in data.items()}


def _need(frame: pl.DataFrame, name: str, cols: Sequence[str]) -> None:
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"{name} must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame is missing column(s) {missing}")


def releases_of(deployments: pl.DataFrame, environments: Sequence[str] | None = PRODUCTION,
                ) -> pl.DataFrame:
    """Releases: finished, non-rollback deployments in ``environments`` with a ``failed`` flag.

    Rollback actions are remediations, not releases (REFERENCE §1).
    """
    _need(deployments, "deployments",
          ("id", "service_id", "environment", "finished_at", "status", "is_rollback"))
    keep = [c for c in ("id", "service_id", "service", "finished_at", "status")
            if c in deployments.columns]
    release = pl.col("finished_at").is_not_null() & ~pl.col("is_rollback").fill_null(False)
    if environments is not None:
        release &= pl.col("environment").is_in(list(environments))
    # One filter, of only the columns kept: each filter copies every row it keeps (a million).
    return deployments.lazy().filter(release).select(keep).with_columns(
        failed=pl.col("status").is_in(list(FAILED_STATUSES))).sort("finished_at", "id").collect()


@dataclass(frozen=True)
class Panel:
    """Service × hour arrays: ``t0`` is the first hour, row i is ``service_ids[i]``."""

    t0: datetime
    service_ids: np.ndarray
    tickets: np.ndarray
    incidents: np.ndarray
    weight: np.ndarray
    releases: pl.DataFrame  # with ``s`` (row) and ``r`` (hour index of the release)
    _open: dict = field(default_factory=dict, repr=False, compare=False)  # window-count cache

    @property
    def hours(self) -> int:
        """Number of hours in the panel."""
        return int(self.tickets.shape[1])

    def hour_of_week(self) -> np.ndarray:
        """Hour of week (Monday 00:00 UTC = 0) of every panel hour."""
        first = self.t0.weekday() * 24 + self.t0.hour
        return (first + np.arange(self.hours)) % HOURS_PER_WEEK

    def groups(self) -> tuple[str, ...]:
        """Release groups whose windows are tracked apart: failed, success and, only when some
        release has no status, ``unknown`` (``all`` is their union)."""
        unknown = self.releases["failed"].null_count() > 0
        return ("failed", "success", "unknown") if unknown else ("failed", "success")

    def blocks(self) -> list[tuple[int, int]]:
        """Row ranges [s0, s1) of about :data:`~analytics.studies.release_blocks.BLOCK_CELLS`
        service-hours each, in order.

        The window and model passes run a block at a time: their scratch arrays are then a few
        MB, reused from block to block, where whole (S, T) arrays (84 MB each at scale) were
        fresh pages for the kernel to fault in and zero on every pass."""
        n_s, n_t = self.tickets.shape
        step = max(1, blocks.BLOCK_CELLS // max(n_t, 1))
        return [(s0, min(s0 + step, n_s)) for s0 in range(0, n_s, step)]

    def _group_rows(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per release group, the releases' panel rows ``s`` and hour indices ``r``, by row."""
        if "rows" not in self._open:
            failed = self.releases["failed"]
            s_all, r_all = self.releases["s"].to_numpy(), self.releases["r"].to_numpy()
            out = {}
            for group in self.groups():
                sel = (failed.is_null() if group == "unknown"
                       else (failed == (group == "failed")).fill_null(False)).to_numpy()
                s, r = s_all[sel], r_all[sel]
                order = row_order(s, self.tickets.shape[0])  # a block's releases: one slice
                out[group] = s[order], r[order]
            self._open["rows"] = out
        return self._open["rows"]

    def _before(self, reach: int, rows: tuple[int, int] | None = None,
                scratch: Scratch | None = None) -> dict[str, np.ndarray]:
        """Per release group, (S, T + 2·reach + 1) int32: column j counts the service's
        releases with hour index r < j − reach. Any window of at most ``reach`` hours after
        or before releases is a difference of two of its columns (see :meth:`_open_counts`).
        ``rows`` (s0, s1): only those panel rows (not kept), in ``scratch``'s arrays if given."""
        key = ("before", reach)
        if rows is None and key in self._open:
            return self._open[key]
        n_s, n_t = self.tickets.shape
        s0, s1 = rows or (0, n_s)
        width = n_t + 2 * reach + 1
        if scratch is not None and scratch.done.get(key) == rows:
            return {g: scratch.array(f"before {g} {reach}", (s1 - s0, width), np.int32)
                    for g in self.groups()}
        out = {}
        for group, (s, r) in self._group_rows().items():
            i0, i1 = np.searchsorted(s, (s0, s1))
            # Bin x = r + reach + 1 holds the release; bins past the last column (later
            # releases) are dropped, earlier ones land in bin 0: each counts where it should.
            x = np.clip(r[i0:i1] + reach + 1, 0, width)
            at, size = (s[i0:i1] - s0) * (width + 1) + x, (s1 - s0) * (width + 1)
            if scratch is None:
                counts = np.bincount(at, minlength=size)
                cum = None
            else:  # counted into reused arrays: no fresh pages per block
                counts = scratch.array("counts", (size,), np.int64)
                counts.fill(0)
                np.add.at(counts, at, 1)
                cum = scratch.array(f"before {group} {reach}", (s1 - s0, width), np.int32)
            counts = counts.reshape(s1 - s0, width + 1)[:, :width]
            out[group] = np.cumsum(counts, axis=1, dtype=np.int32, out=cum)
        if rows is None:
            self._open[key] = out
        elif scratch is not None:
            scratch.done[key] = rows
        return out

    def _sides(self, window: int, before: bool, rows: tuple[int, int] | None = None,
               scratch: Scratch | None = None) -> tuple[dict[str, np.ndarray], int, int]:
        """:meth:`_before` with reach ``window`` and the columns ``lo``, ``hi`` whose
        difference P[:, hi + t] − P[:, lo + t] counts the windows open at hour t.

        A post window is open at hour t for t − window ≤ r ≤ t − 1, i.e. P[t + w] − P[t]; a
        lead window for t + 1 ≤ r ≤ t + window, i.e. P[t + 2w + 1] − P[t + w + 1]: one running
        count serves both sides."""
        w = window
        lo, hi = (w + 1, 2 * w + 1) if before else (0, w)
        return self._before(w, rows, scratch), lo, hi

    def _open_counts(self, window: int, before: bool) -> dict[str, np.ndarray]:
        """(S, T) int32 number of open windows per release group (see :meth:`flags`)."""
        key = ("counts", window, before)
        if key not in self._open:
            n_t = self.tickets.shape[1]
            prefix, lo, hi = self._sides(window, before)
            self._open[key] = {group: np.subtract(p[:, hi:hi + n_t], p[:, lo:lo + n_t])
                               for group, p in prefix.items()}
        return self._open[key]

    def open_count(self, group: str, window: int, out: np.ndarray,
                   rows: tuple[int, int] | None = None, scratch: Scratch | None = None,
                   ) -> np.ndarray:
        """:meth:`flags` ``(group, window, count=True)`` (post windows of one release group)
        written into the float array ``out`` ((S, T), or (s1 − s0, T) for ``rows`` (s0, s1)):
        counted straight into it, with no int32 (S, T) array in between (and none kept)."""
        n_t = self.tickets.shape[1]
        prefix, lo, hi = self._sides(window, False, rows, scratch)
        p = prefix[group]
        return np.subtract(p[:, hi:hi + n_t], p[:, lo:lo + n_t], out=out)

    def flags(self, which: str, window: int, before: bool = False, count: bool = False,
              rows: tuple[int, int] | None = None, scratch: Scratch | None = None,
              ) -> np.ndarray:
        """(S, T) bool: some release of kind ``which`` (all/failed/success) has its window open
        (``count=True``: how many such windows are open); ``rows`` (s0, s1): those rows only.

        A post window covers hours r+1 … r+window (the first full hour after the release, as
        the release hour itself is partly before it); a lead (placebo) window r−window … r−1.
        Overlapping windows do not add up: the flag is on while any window is open. The counts
        are kept per release group, so ``all`` is their sum and one pass serves every kind.
        """
        n_t = self.tickets.shape[1]
        if count and rows is None:
            per = self._open_counts(window, before)
            return sum(per.values()) if which == "all" else per[which]
        prefix, lo, hi = self._sides(window, before, rows, scratch)
        chosen = self.groups() if which == "all" else (which,)
        if count:
            return sum(np.subtract(prefix[g][:, hi:hi + n_t], prefix[g][:, lo:lo + n_t])
                       for g in chosen)
        # A window is open where the running count grew over it: compared, not subtracted,
        # so no (S, T) count array is made for a flag.
        out = None
        for group in chosen:
            p = prefix[group]
            into = None if scratch is None else scratch.array(f"flag {group}", (p.shape[0], n_t), bool)
            on = np.greater(p[:, hi:hi + n_t], p[:, lo:lo + n_t], out=into)
            out = on if out is None else np.logical_or(out, on, out=out)
        return out

    def cells(self, window: int, lead: int) -> dict[str, np.ndarray]:
        """Sufficient statistics of the hourly model: (S, 168, C) ``hours`` and summed
        ``tickets``/``incidents`` by service, hour of week and window state.

        The state's bits are, per group of :meth:`groups` in order, "post window open" and
        "lead window open" (C = 4 ** groups); any model's states are unions of these, so one
        pass over the (S, T) panel serves every model, count kind and release split. The pass
        goes a block of services at a time (:meth:`blocks`); each cell sums the same hours in
        the same order as one pass over the whole panel would.
        """
        key = ("cells", window, lead)
        if key not in self._open:
            groups = self.groups()
            n_s, n_codes = self.tickets.shape[0], 4 ** len(groups)
            shape = (n_s, HOURS_PER_WEEK, n_codes)
            out = {k: np.empty(shape) for k in ("hours", "tickets", "incidents")}
            how, scratch = self.hour_of_week() * n_codes, Scratch()
            for s0, s1 in self.blocks():
                rows, block = (s0, s1), (s1 - s0, self.hours)
                code = scratch.array("code", block, np.uint8)  # 1 byte per cell
                code.fill(0)
                bit = scratch.array("bit", block, np.uint8)
                for i, group in enumerate(groups):
                    for j, (reach, before) in enumerate(((window, False), (lead, True))):
                        on = self.flags(group, reach, before=before, rows=rows, scratch=scratch)
                        code |= np.left_shift(on.view(np.uint8), np.uint8(2 * i + j), out=bit)
                cell = scratch.array("cell", block, np.int64)
                np.add.outer(np.arange(s1 - s0) * (HOURS_PER_WEEK * n_codes), how, out=cell)
                cell += code
                flat, size = cell.ravel(), (s1 - s0) * HOURS_PER_WEEK * n_codes
                part = (s1 - s0, *shape[1:])
                out["hours"][s0:s1] = np.bincount(flat, minlength=size).reshape(part)
                for kind in ("tickets", "incidents"):
                    out[kind][s0:s1] = np.bincount(flat, weights=getattr(self, kind)[s0:s1].ravel(),
                                                   minlength=size).reshape(part)
            self._open[key] = out
        return self._open[key]


def _hour_index(ts: pl.Expr, t0: datetime) -> pl.Expr:
    return ((ts - pl.lit(t0)).dt.total_seconds() // 3600).cast(pl.Int64)


def _events(frame: pl.DataFrame, ts: str, ids: np.ndarray, t0: datetime, n_t: int,
            weight: pl.Expr | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Flat cell s·T + t of every event placed in the panel (and its weight), in frame order."""
    cols = [pl.col("service_id").cast(pl.Int64).alias("id"), _hour_index(pl.col(ts), t0).alias("t")]
    ev = frame.select(*cols, *([weight.alias("w")] if weight is not None else []))
    # Filtered only when some event has no service or time, or falls outside the panel: the
    # report reads the period's events, and a filter copies every row (5M at scale).
    if ev["id"].null_count() or ev["t"].null_count() or ev.height and (
            ev["t"].min() < 0 or ev["t"].max() >= n_t):
        ev = ev.filter(pl.col("id").is_not_null() & pl.col("t").is_between(0, n_t - 1))
    s = _rows(ids, ev["id"].to_numpy())
    s *= n_t  # in place: 5M-row arrays
    s += ev["t"].to_numpy()
    return s, (ev["w"].to_numpy() if weight is not None else None)


def _rows(ids: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The panel row (position in the sorted ``ids``) of each id of ``found``, all of which
    are in ``ids``: a lookup, not a join (a table indexed by id when ids are small, as store
    ids are; else a binary search)."""
    if ids.size and 0 <= ids[0] and ids[-1] < 4 * ids.size + 1_000_000:
        table = np.zeros(ids[-1] + 1, dtype=np.int64)
        table[ids] = np.arange(ids.size)
        return table[found]
    return np.searchsorted(ids, found)


def _distinct(ids: pl.Series) -> np.ndarray:
    """The distinct non-null values of an integer id column, sorted, as int64.

    Store ids are small non-negative integers: marked in a table indexed by id (a 5M-row
    column in milliseconds, where a hash-based unique takes a third of a second); other ids go
    through polars' unique.

    >>> _distinct(pl.Series([5, None, 2, 5])).tolist()
    [2, 5]
    """
    ids = ids.drop_nulls().cast(pl.Int64)
    if ids.len() == 0:
        return np.empty(0, dtype=np.int64)
    if ids.min() >= 0 and ids.max() < 4 * ids.len() + 1_000_000:
        seen = np.zeros(ids.max() + 1, dtype=bool)
        seen[ids.to_numpy()] = True
        return np.flatnonzero(seen).astype(np.int64)
    return ids.unique().sort().to_numpy()


def _lookup(col: str, table: dict[str, float]) -> pl.Expr:
    """``col``'s weight in ``table``, 1.0 for an unlisted value or null."""
    # A when/then chain of string comparisons: at millions of tickets and a handful of listed
    # values, 3× less CPU than replace_strict's per-row hash lookup (same values).
    expr, text = None, pl.col(col).cast(pl.String)  # a no-op on a String column
    for value, weight in table.items():
        hit = text == value
        expr = pl.when(hit).then(weight) if expr is None else expr.when(hit).then(weight)
    return pl.lit(1.0) if expr is None else expr.otherwise(1.0).cast(pl.Float64)


def ticket_weight(weights: dict[str, dict[str, float]]) -> pl.Expr:
    """A ticket's impact weight: role weight × criticality weight (unlisted values weigh 1).

    >>> w = {"user_role": {"admin": 2.0}, "transaction_criticality": {"high": 4.0}}
    >>> frame = pl.DataFrame({"user_role": ["admin", "guest", None],
    ...                       "transaction_criticality": ["high", "high", "low"]})
    >>> frame.select(w=ticket_weight(w))["w"].to_list()
    [8.0, 4.0, 1.0]
    """
    return (_lookup("user_role", weights["user_role"])
            * _lookup("transaction_criticality", weights["transaction_criticality"])
            ).fill_null(1.0)


def _as_float(counts: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """int64 ``counts`` as float64 in the same memory (exact below 2**53), a chunk at a time:
    at scale a copy would be another 84 MB of fresh pages to fault in and zero."""
    out = counts.view(np.float64)
    for i in range(0, counts.size, chunk):
        out[i:i + chunk] = counts[i:i + chunk]  # numpy buffers the overlapping chunk first
    return out


def hourly_panel(deployments: pl.DataFrame, tickets: pl.DataFrame, incidents: pl.DataFrame, *,
                 start: datetime | None = None, end: datetime | None = None,
                 environments: Sequence[str] | None = PRODUCTION,
                 weights: dict[str, dict[str, float]] | None = None) -> Panel:
    """Hourly ticket, incident and weighted-ticket counts per service for [start, end).

    ``start``/``end`` default to the hours spanned by the tickets and incidents. Tickets and
    incidents with no service cannot be placed and are left out; releases may lie outside the
    period (their windows still mark hours inside it).
    """
    _need(tickets, "tickets", ("service_id", "opened_at", "user_role", "transaction_criticality"))
    _need(incidents, "incidents", ("service_id", "opened_at"))
    rel = releases_of(deployments, environments)
    if start is None or end is None:
        # Only here: the report always gives both, and this copies every ticket time.
        times = pl.concat([tickets.select(t=pl.col("opened_at")),
                           incidents.select(t=pl.col("opened_at"))])
        if times["t"].null_count() == times.height:
            raise ValueError("tickets and incidents are empty: no period to study (give start and end)")
        start = start or times["t"].min().replace(minute=0, second=0, microsecond=0)
        end = end or times["t"].max().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if end <= start:
        raise ValueError(f"end {end} is not after start {start}")
    t0 = start.replace(minute=0, second=0, microsecond=0)
    n_t = int(np.ceil((end - t0).total_seconds() / 3600))
    # Distinct ids of each frame first: the union of 5M ticket rows is then a few thousand.
    ids = np.unique(np.concatenate([_distinct(f["service_id"]) for f in (rel, tickets, incidents)]))
    w = ticket_weight(weights or load_weights())
    rel = rel.with_columns(pl.col("service_id").cast(pl.Int64))
    if rel["service_id"].null_count():  # a release of no service has no row
        rel = rel.filter(pl.col("service_id").is_not_null())
    rel = rel.with_columns(s=pl.Series(_rows(ids, rel["service_id"].to_numpy()), dtype=pl.Int64),
                           r=_hour_index(pl.col("finished_at"), t0))
    ids_np, size = ids, ids.size * n_t
    # Tickets are scanned once for both counts; counts are float64 (exact below 2**53).
    k, wt = _events(tickets, "opened_at", ids_np, t0, n_t, w)
    k_inc, _ = _events(incidents, "opened_at", ids_np, t0, n_t)
    return Panel(t0=t0, service_ids=ids_np,
                 tickets=_as_float(np.bincount(k, minlength=size)).reshape(ids.size, n_t),
                 incidents=_as_float(np.bincount(k_inc, minlength=size)).reshape(ids.size, n_t),
                 weight=np.bincount(k, weights=wt, minlength=size).reshape(ids.size, n_t), releases=rel)
