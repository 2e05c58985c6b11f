"""The release panel's shared window counts and cell totals against direct, loop-built ones."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.studies import release_blocks, release_event_study
from analytics.studies.release_blocks import Expected
from analytics.studies.release_event_study import event_study
from analytics.studies.release_impact import _spec_cells, fit_windows, release_excess
from analytics.studies.release_panel import HOURS_PER_WEEK, _distinct, hourly_panel

T0 = datetime(2026, 3, 2)  # a Monday
DAYS = 10
# Service-hours per block: the default (the 3-service panels are one block), one service per
# block, and two services in the first block and one in the last.
BLOCKS = [release_blocks.BLOCK_CELLS, 1, 2 * DAYS * 24]


@pytest.fixture(params=BLOCKS, ids=["one block", "a block per service", "uneven blocks"])
def blocks(request, monkeypatch) -> int:  # noqa: ANN001
    """Runs the test with panels cut in blocks of this many service-hours."""
    monkeypatch.setattr(release_blocks, "BLOCK_CELLS", request.param)
    return request.param


def _frames(seed: int, unknown: bool = False) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Three services, releases close enough for windows to overlap, random tickets."""
    rng = np.random.default_rng(seed)
    n_rel, n_tk = 40, 3000
    status = rng.choice(["success", "failed", "rolled_back"], n_rel).astype(object)
    if unknown:
        status[:5] = None  # releases without a status: in "all" only
    dep = pl.DataFrame({
        "id": np.arange(1, n_rel + 1), "service_id": rng.integers(1, 4, n_rel),
        "environment": "production", "is_rollback": False, "status": list(status),
        # some releases before the period: their windows still reach into it
        "finished_at": [T0 + timedelta(minutes=int(m)) for m in rng.integers(-3000, DAYS * 1440, n_rel)]},
        schema_overrides={"status": pl.String})
    tk = pl.DataFrame({
        "service_id": rng.integers(1, 4, n_tk),
        "opened_at": [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, DAYS * 1440, n_tk)],
        "user_role": rng.choice(["end_user", "admin"], n_tk),
        "transaction_criticality": rng.choice(["low", "critical"], n_tk)})
    inc = tk.sample(200, seed=seed).select("service_id", "opened_at")
    return dep, tk, inc


def _open_by_loop(panel, which: str, window: int, before: bool) -> np.ndarray:  # noqa: ANN001
    """Open windows per (service, hour), marked release by release."""
    out = np.zeros(panel.tickets.shape, dtype=int)
    for s, r, failed in panel.releases.select("s", "r", "failed").iter_rows():
        if which != "all" and failed != (which == "failed"):
            continue
        lo, hi = (r - window, r) if before else (r + 1, r + window + 1)
        out[s, max(lo, 0):max(min(hi, panel.hours), 0)] += 1
    return out


@pytest.mark.parametrize("unknown", [False, True])
@pytest.mark.parametrize("before", [False, True])
@pytest.mark.parametrize("which", ["all", "failed", "success"])
def test_flags_count_open_windows_like_a_loop(which: str, before: bool, unknown: bool) -> None:
    panel = hourly_panel(*_frames(3, unknown), start=T0, end=T0 + timedelta(days=DAYS))
    expected = _open_by_loop(panel, which, 30, before)
    assert expected.max() >= 2  # overlapping windows are exercised
    np.testing.assert_array_equal(panel.flags(which, 30, before=before, count=True), expected)
    np.testing.assert_array_equal(panel.flags(which, 30, before=before), expected > 0)


@pytest.mark.parametrize("before", [False, True])
@pytest.mark.parametrize("window", [1, 7, 30])
def test_flags_at_both_ends_of_the_period(window: int, before: bool) -> None:
    # Releases well before, just around and after the period: windows cut at either end.
    dep, tk, inc = _frames(5)
    rng = np.random.default_rng(5)
    late = dep.with_columns(
        pl.col("id") + 1000,
        finished_at=pl.Series([T0 + timedelta(minutes=int(m))
                               for m in rng.integers(DAYS * 1440 - 3000, DAYS * 1440 + 3000,
                                                     dep.height)]))
    panel = hourly_panel(pl.concat([dep, late]), tk, inc, start=T0,
                         end=T0 + timedelta(days=DAYS))
    assert (panel.releases["r"] >= panel.hours).any() and (panel.releases["r"] < 0).any()
    for which in ("all", "failed", "success"):
        np.testing.assert_array_equal(panel.flags(which, window, before=before, count=True),
                                      _open_by_loop(panel, which, window, before))
        if which != "all" and not before:  # the same counts, written into a float array
            out = np.full(panel.tickets.shape, np.nan)
            got = panel.open_count(which, window, out=out)
            assert got is out and got.dtype == np.float64
            np.testing.assert_array_equal(got, _open_by_loop(panel, which, window, before))


@pytest.mark.parametrize("unknown", [False, True])
@pytest.mark.parametrize("which", [("all",), ("failed", "success"), ("success",)])
def test_model_cells_equal_a_direct_pass(which: tuple[str, ...], unknown: bool, blocks: int) -> None:
    """Merged per-group cells are exactly the totals of one pass over the model's own states."""
    panel = hourly_panel(*_frames(5, unknown), start=T0, end=T0 + timedelta(days=DAYS))
    assert len(panel.blocks()) == {BLOCKS[0]: 1, 1: 3, BLOCKS[2]: 2}[blocks]
    window, lead = 30, 12
    bits = [_open_by_loop(panel, w, n, before) > 0 for w in which
            for n, before in ((window, False), (lead, True))]
    code = sum(b.astype(int) << i for i, b in enumerate(bits))
    how = (np.arange(panel.hours) + 0) % HOURS_PER_WEEK  # T0 is Monday 00:00
    for kind in ("tickets", "incidents"):
        y, n = _spec_cells(panel, kind, which, window, lead)
        want_y, want_n = np.zeros_like(y), np.zeros_like(n)
        counts = getattr(panel, kind)
        for s in range(counts.shape[0]):
            for t in range(panel.hours):
                want_y[s, how[t], code[s, t]] += counts[s, t]
                want_n[s, how[t], code[s, t]] += 1
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(n, want_n)


def test_excess_window_sums_equal_direct_slices(blocks: int) -> None:  # noqa: ARG001
    dep, tk, inc = _frames(7)
    end = T0 + timedelta(days=DAYS)
    panel = hourly_panel(dep, tk, inc, start=T0, end=end)
    fit = fit_windows(panel, "tickets", ("failed", "success"), 24)
    base = fit.baseline()
    rr = {"failed": 1.5, "success": 1.2}
    per = release_excess(panel, fit.expected(), 24, rr, start=T0, end=end)
    share = {True: 1.5 - 1.0, False: 1.2 - 1.0}  # rate ratio − 1
    denom = (panel.flags("failed", 24, count=True) * (1.5 - 1.0)
             + panel.flags("success", 24, count=True) * (1.2 - 1.0))
    rows = panel.releases.filter(pl.col("finished_at") >= T0)
    assert per.height == rows.height > 0
    by_id = {r["id"]: r for r in per.iter_rows(named=True)}
    for rid, s, r, failed in rows.select("id", "s", "r", "failed").iter_rows():
        lo, hi = min(r + 1, panel.hours), min(r + 25, panel.hours)
        got = by_id[rid]
        assert got["observed"] == panel.tickets[s, lo:hi].sum()
        assert got["incidents"] == panel.incidents[s, lo:hi].sum()
        assert got["expected"] == pytest.approx(base[s, lo:hi].sum(), rel=1e-9, abs=1e-9)
        own = (panel.tickets[s, lo:hi] - base[s, lo:hi]) / denom[s, lo:hi]
        assert got["excess"] == pytest.approx(share[failed] * own.sum(), rel=1e-9, abs=1e-9)
        assert got["complete"] == (hi - lo == 24)


def test_expected_counts_by_rows_and_cells() -> None:
    level, hour = np.array([np.log(0.5), np.log(2.0), -np.inf]), np.log(np.arange(1.0, 6.0))
    exp = Expected(level, hour)
    want = np.array([[a * b for b in np.arange(1.0, 6.0)] for a in (0.5, 2.0, 0.0)])
    np.testing.assert_allclose(exp.rows(0, 3), want, rtol=1e-12)
    np.testing.assert_allclose(exp.rows(1, 3, out=np.empty((2, 5))), want[1:], rtol=1e-12)
    s, t = np.array([[2, 0], [1, 1]]), np.array([[4, 0], [3, 2]])
    np.testing.assert_allclose(exp.at(s, t), want[s, t], rtol=1e-12)


def test_panel_counts_leave_out_unplaceable_events(blocks: int) -> None:  # noqa: ARG001
    """Tickets with no service or time, or outside the period, are not counted; the others
    land in their service's hour (a direct count)."""
    dep, tk, _ = _frames(11)
    stray = pl.DataFrame({
        "service_id": [None, 1, 2, 3], "user_role": "admin", "transaction_criticality": "low",
        "opened_at": [T0, None, T0 - timedelta(minutes=1), T0 + timedelta(days=DAYS)]},
        schema=tk.schema)
    tk = pl.concat([tk, stray])
    panel = hourly_panel(dep, tk, tk.select("service_id", "opened_at"), start=T0,
                         end=T0 + timedelta(days=DAYS))
    want = np.zeros(panel.tickets.shape)
    for sid, at in tk.select("service_id", "opened_at").iter_rows():
        if sid is not None and at is not None and T0 <= at < T0 + timedelta(days=DAYS):
            want[list(panel.service_ids).index(sid), int((at - T0).total_seconds() // 3600)] += 1
    np.testing.assert_array_equal(panel.tickets, want)
    np.testing.assert_array_equal(panel.incidents, want)
    assert panel.tickets.sum() == tk.height - 4


@pytest.mark.parametrize("ids", [[5, None, 2, 5, 7], [10 ** 12, 3, None, 10 ** 12], [None]])
def test_distinct_ids_like_polars_unique(ids: list) -> None:
    """The id table and the fallback for ids too large for one give polars' sorted unique."""
    got = _distinct(pl.Series(ids, dtype=pl.Int64))
    want = pl.Series(ids, dtype=pl.Int64).drop_nulls().unique().sort().to_list()
    assert got.dtype == np.int64 and got.tolist() == want


@pytest.mark.parametrize("chunk", [3, release_event_study.CHUNK])
def test_event_study_by_hand(chunk: int, monkeypatch) -> None:  # noqa: ANN001
    """Mean, band and expected count around failed releases, hour by hour in a loop (releases
    taken a few at a time and all at once)."""
    monkeypatch.setattr(release_event_study, "CHUNK", chunk)
    panel = hourly_panel(*_frames(13), start=T0, end=T0 + timedelta(days=DAYS))
    fit = fit_windows(panel, "tickets", ("failed", "success"), 24)
    base = fit.baseline()
    got = event_study(panel, fit.expected(), span=30).filter(pl.col("outcome") == "failed")
    rel = panel.releases.filter(pl.col("failed") & (pl.col("r") >= 0) & (pl.col("r") < panel.hours))
    for row in got.iter_rows(named=True):
        cells = [(s, r + row["rel_hour"]) for s, r in rel.select("s", "r").iter_rows()
                 if 0 <= r + row["rel_hour"] < panel.hours]
        x = np.array([panel.tickets[s, t] for s, t in cells])
        assert row["releases"] == len(cells)
        assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
        half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
        assert row["high"] - row["mean"] == pytest.approx(half, rel=1e-9, abs=1e-12)
        assert row["expected"] == pytest.approx(np.mean([base[s, t] for s, t in cells]), rel=1e-12)


def test_ties_in_excess_keep_release_order() -> None:
    """Releases of a service finishing at the same instant share their windows, so their
    excess is equal: the ranking keeps them in the panel's release order on every run."""
    dep, tk, inc = _frames(11)
    # Eight copies of one release: same service, same instant, same outcome.
    twin = dep.row(0, named=True)
    dep = pl.concat([dep, pl.DataFrame([{**twin, "id": 1000 + i} for i in range(8)], schema=dep.schema)])
    end = T0 + timedelta(days=DAYS)
    panel = hourly_panel(dep, tk, inc, start=T0, end=end)
    fit = fit_windows(panel, "tickets", ("failed", "success"), 24)
    rr = {"failed": 1.5, "success": 1.2}
    runs = [release_excess(panel, fit.expected(), 24, rr, start=T0, end=end) for _ in range(3)]
    ids = {twin["id"], *range(1000, 1008)}
    tied = [r.filter(pl.col("id").is_in(ids))["id"].to_list() for r in runs]
    if twin["finished_at"] >= T0:  # the twins are ranked: together, in release order
        order = panel.releases.filter(pl.col("id").is_in(ids))["id"].to_list()
        assert tied[0] == order and len(set(runs[0].filter(pl.col("id").is_in(ids))["excess"])) == 1
    assert tied[0] == tied[1] == tied[2]
    assert all(r.equals(runs[0]) for r in runs[1:])
