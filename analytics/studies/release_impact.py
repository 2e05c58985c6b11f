"""Do releases hurt customers? Ticket and incident rate ratios after production releases.

Method (REFERENCE §4, release → incidents/tickets). Counts per service-hour follow
``log μ = a_service + b_hour_of_week + β·post + γ·lead``: service levels, hour-of-week effects
(deploys cluster in business hours, when tickets do too — the seasonality confound), a post
window indicator (default 48 h; on while *any* release's window is open, so overlapping windows
are not double counted) and a placebo lead window of the same length before releases (should
show no effect; if it does, the post effect is suspect). ``exp(β)`` is the rate ratio.

Speed: the hourly model is fitted on an aggregated design. Service-hours with the same service,
hour of week and window state are summed into one cell (counts and hours — exact sufficient
statistics for the Poisson mean model). The service and hour-of-week effects are found by
alternating Poisson fits on those cells (block coordinate ascent on the joint likelihood: Newton
for hour of week and windows, closed-form service levels). The window effects are then estimated
by a negative-binomial GLM on service × window-state strata with the fitted service and
hour-of-week effects as offset; its dispersion ``alpha`` is estimated by maximum likelihood (a GLM
family's default would silently use alpha = 1) and the errors are clustered by service, which
stays valid whatever the true variance and serial correlation within a service (both fits:
:mod:`analytics.studies.nb_glm`, checked against statsmodels in its tests). Uncertainty in the
fitted offsets is ignored: each rests on thousands of hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from analytics.settings import DEFAULT_WINDOW_HOURS
from analytics.studies.nb_glm import fit_glm, nb2_alpha
from analytics.studies.release_blocks import Expected, Scratch, row_order
from analytics.studies.release_event_study import event_study
from analytics.studies.release_panel import HOURS_PER_WEEK, PRODUCTION, Panel, hourly_panel
from analytics.studies.release_verdict import verdict

MIN_CLUSTERS = 10  # below this, cluster-robust errors are unreliable; use HC0 instead
MODELS = {"all": ("all",), "by_outcome": ("failed", "success")}


def check_window(window_hours: Any) -> int:
    """The window in whole hours; a clear error for anything not a positive number."""
    if isinstance(window_hours, bool) or not isinstance(window_hours, int | float):
        raise TypeError(f"window_hours must be a number of hours, got {window_hours!r}")
    if not window_hours >= 1:
        raise ValueError(f"window_hours must be at least 1, got {window_hours}")
    return int(round(window_hours))


@dataclass(frozen=True)
class Fit:
    """Fitted effects for one count kind and one window specification."""

    effects: dict[str, dict[str, Any]]  # term → rate_ratio, ci_low, ci_high, p_value
    log_level: np.ndarray  # (S,) service level, −inf for a service without events
    log_hour: np.ndarray  # (T,) hour-of-week effect of each panel hour
    alpha: float
    cov_type: str

    def expected(self) -> Expected:
        """The expected counts with no release window open, made a block of rows at a time."""
        return Expected(self.log_level, self.log_hour)

    def baseline(self) -> np.ndarray:
        """(S, T) expected counts with no release window open (built on demand: it is big)."""
        return self.expected().rows(0, self.log_level.size)


def _spec_cells(panel: Panel, kind: str, which: Sequence[str], window: int, lead: int,
                ) -> tuple[np.ndarray, np.ndarray]:
    """(S, 168, 2**k) event and hour totals for the window terms of ``which`` (bits post_w,
    lead_w per kind in order), merged from the panel's per-group states: sums of whole
    numbers, so exactly the totals of a direct pass."""
    stats, groups = panel.cells(window, lead), panel.groups()
    codes = np.arange(4 ** len(groups))
    bit = {(g, j): (codes >> (2 * i + j)) & 1 for i, g in enumerate(groups) for j in (0, 1)}
    target = np.zeros(codes.size, dtype=np.int64)
    for i, w in enumerate(which):
        members = groups if w == "all" else (w,)
        for j in (0, 1):  # post, lead
            on = np.bitwise_or.reduce([bit[(g, j)] for g in members])
            target |= on << (2 * i + j)
    # One-hot merge matrix: a product of whole numbers by 0/1, so the sums stay exact.
    merge = (target[:, None] == np.arange(2 ** (2 * len(which)))[None, :]).astype(float)
    with threadpool_limits(limits=1, user_api="blas"):
        return stats[kind] @ merge, stats["hours"] @ merge


def _newton_how(yy: np.ndarray, e: np.ndarray, x_code: np.ndarray, b: np.ndarray,
                beta: np.ndarray, iters: int = 50, tol: float = 1e-10,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Poisson MLE of hour-of-week effects ``b`` and window effects ``beta`` on the hour-of-week
    × state totals ``yy`` with exposure ``e`` (the service levels held fixed): plain Newton."""
    for _ in range(iters):
        mu = e * np.exp(b[:, None] + (x_code @ beta)[None, :])
        r = yy - mu
        g_b, g_beta = r.sum(axis=1), x_code.T @ r.sum(axis=0)
        # The Hessian is diagonal in the hour-of-week block (each cell has one hour of week):
        # eliminate that block (Schur complement) and solve only the k × k window system.
        d, cross = mu.sum(axis=1), mu @ x_code
        cross_d = cross / d[:, None]
        schur = x_code.T @ (mu.sum(axis=0)[:, None] * x_code) - cross.T @ cross_d
        step_beta = np.linalg.lstsq(schur, g_beta - cross_d.T @ g_b, rcond=None)[0]
        step_b = (g_b - cross @ step_beta) / d
        b, beta = b + step_b, beta + step_beta
        if max(np.max(np.abs(step_b)), np.max(np.abs(step_beta))) < tol:
            break
    return b, beta


def _alternate(y: np.ndarray, n: np.ndarray, x_code: np.ndarray, iters: int = 200,
               tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Service levels ``a`` and hour-of-week effects ``b`` (log scale) of the Poisson model with
    window effects, by block coordinate ascent on the joint likelihood: Newton for hour of week
    and windows given the service levels, then the closed-form service levels, until nothing
    moves."""
    ys, yh = y.sum(axis=(1, 2)), y.sum(axis=(0, 2))
    yy = y.sum(axis=0)
    hows = np.flatnonzero(yh > 0)  # an hour of week with no events has rate 0 (b = −∞)
    lev_s = ys / n.sum(axis=(1, 2))
    b, beta = np.zeros(hows.size), np.zeros(x_code.shape[1])
    for _ in range(iters):
        e = np.einsum("s,shc->hc", lev_s, n)[hows]
        b, beta = _newton_how(yy[hows], e, x_code, b, beta)
        mult = np.zeros((HOURS_PER_WEEK, x_code.shape[0]))
        mult[hows] = np.exp(b[:, None] + (x_code @ beta)[None, :])
        new_s = ys / np.einsum("shc,hc->s", n, mult)
        moved = np.max(np.abs(np.log(new_s / lev_s)))
        lev_s = new_s
        if moved < tol:
            break
    b_all = np.full(HOURS_PER_WEEK, -np.inf)
    b_all[hows] = b
    return np.log(lev_s), b_all


def fit_windows(panel: Panel, kind: str, which: Sequence[str], window: int,
                lead: int | None = None, alpha: float | None = None) -> Fit:
    """Rate ratios for post windows of release kinds ``which`` (and their placebo leads).

    Terms in ``effects``: ``post_<which>`` and ``lead_<which>``. ``alpha`` fixes the NB
    dispersion of the strata (0 = Poisson, for a sensitivity check); None estimates it by ML.
    """
    counts = {"tickets": panel.tickets, "incidents": panel.incidents}[kind]
    lead = window if lead is None else lead
    terms = [f"{side}_{w}" for w in which for side in ("post", "lead")]
    k = len(terms)
    x_code = ((np.arange(2 ** k)[:, None] >> np.arange(k)[None, :]) & 1).astype(float)
    how = panel.hour_of_week()
    y, n = _spec_cells(panel, kind, which, window, lead)
    active = y.sum(axis=(1, 2)) > 0  # a service with no events carries no information
    if not active.any():
        raise ValueError(f"no {kind} in the period: nothing to model")
    a = np.full(counts.shape[0], -np.inf)
    with threadpool_limits(limits=1, user_api="blas"):
        a[active], b = _alternate(y[active], n[active], x_code)
    # Strata: service × window state, exposure = expected count under service and hour-of-week.
    mu0 = np.exp(a[active][:, None, None] + b[None, :, None]) * n[active]
    ys, es = y[active].sum(axis=1), mu0.sum(axis=1)
    s_idx, c_idx = np.nonzero(es > 0)
    yv, off = ys[s_idx, c_idx], np.log(es[s_idx, c_idx])
    x = np.column_stack([np.ones(c_idx.size), x_code[c_idx]])
    keep = x[:, 1:].std(axis=0) > 0  # a state never seen (e.g. no failed releases) is dropped
    x = x[:, np.concatenate([[True], keep])]
    kept_terms = [t for t, kp in zip(terms, keep, strict=True) if kp]
    # Small dense solves: BLAS threads only contend (a 2-core box slowed 40× in tests).
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_strata(a, b, how, yv, x, off, s_idx, kept_terms, alpha)


def _fit_strata(a: np.ndarray, b: np.ndarray, how: np.ndarray, yv: np.ndarray, x: np.ndarray,
                off: np.ndarray, s_idx: np.ndarray, kept_terms: list[str], alpha: float | None) -> Fit:
    """NB GLM of the window indicators on service × state strata (see the module docstring)."""
    if alpha is None:
        alpha = max(nb2_alpha(yv, x, off), 1e-8)  # 1e-8: the Poisson limit, as reported
    groups = np.unique(s_idx)
    if groups.size >= MIN_CLUSTERS:
        res, cov = fit_glm(yv, x, off, alpha, s_idx), "cluster(service)"
    else:
        res, cov = fit_glm(yv, x, off, alpha), "HC0"
    ci, pvalues = res.conf_int(), res.pvalues()
    effects = {t: {"rate_ratio": float(np.exp(res.params[i + 1])),
                   "ci_low": float(np.exp(ci[i + 1, 0])), "ci_high": float(np.exp(ci[i + 1, 1])),
                   "p_value": float(pvalues[i + 1])} for i, t in enumerate(kept_terms)}
    return Fit(effects=effects, log_level=a + res.params[0], log_hour=b[how], alpha=alpha,
               cov_type=cov)


def release_excess(panel: Panel, expected: Expected, window: int,
                   rate_ratios: dict[str, float] | None = None,
                   start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
    """Per release: observed vs expected tickets in hours r+1 … r+window, excess, impact score.

    ``expected`` is the model's count with no release window open (service level × hour of
    week). Where windows of several releases of the service overlap, each hour's excess
    (observed − expected) is shared between the open windows in proportion to their kind's
    fitted effect, max(rate ratio − 1, 0.001) (``rate_ratios`` by ``failed``/``success``;
    equal shares when not given), so a harmless release next to a failed one is not blamed for
    its tickets. ``impact_score`` is the same share of the weighted excess (ticket weight −
    expected × the service's mean weight): only tickets opened inside the window count.
    Windows cut by the period end are flagged ``complete=False``. Sorted by excess, largest
    first.
    """
    n_t = panel.hours
    rr = rate_ratios or {"failed": 2.0, "success": 2.0}
    w = {k: max(rr.get(k, 2.0) - 1.0, 1e-3) for k in ("failed", "success")}
    tot_n, tot_w = panel.tickets.sum(axis=1), panel.weight.sum(axis=1)
    mean_w = np.divide(tot_w, tot_n, out=np.ones_like(tot_w, dtype=float), where=tot_n > 0)
    rel = panel.releases
    if start is not None or end is not None:  # one filter: each copies a million rows
        rel = rel.filter(pl.col("finished_at") >= (start or datetime.min),
                         pl.col("finished_at") < (end or datetime.max))
    s, r = rel["s"].to_numpy(), rel["r"].to_numpy()
    lo, hi = np.clip(r + 1, 0, n_t), np.clip(r + window + 1, 0, n_t)
    share = np.where(rel["failed"].to_numpy(), w["failed"], w["success"])
    # Releases by service, so each block of services (Panel.blocks) has its releases in one
    # slice; sums are filled in that order.
    order = row_order(s, panel.tickets.shape[0])
    s_o, lo_o, hi_o, share_o = s[order], lo[order], hi[order], share[order]
    sums = np.zeros((5, order.size))  # observed, incidents, expected, excess, impact
    scratch = Scratch()
    for s0, s1 in panel.blocks():
        i0, i1 = np.searchsorted(s_o, (s0, s1))
        if i0 < i1:
            sums[:, i0:i1] = _block_sums(panel, expected, window, w, mean_w, (s0, s1), scratch,
                                         s_o[i0:i1] - s0, lo_o[i0:i1], hi_o[i0:i1],
                                         share_o[i0:i1])
    observed, incidents, expect, excess, impact = np.empty_like(sums)
    for got, put in zip(sums, (observed, incidents, expect, excess, impact), strict=True):
        put[order] = got
    cols = [c for c in ("id", "service_id", "service", "finished_at", "status", "failed") if c in rel.columns]
    return rel.select(cols).with_columns(
        observed=pl.Series(observed).round(0).cast(pl.Int64),
        expected=pl.Series(expect),
        excess=pl.Series(excess),
        impact_score=pl.Series(impact),
        incidents=pl.Series(incidents).round(0).cast(pl.Int64),
        complete=pl.Series((hi - lo) == window),
    # Stable: releases with equal excess (two of a service finishing at the same instant share
    # their windows) keep their input order, so the ranking is the same on every run.
    ).sort("excess", descending=True, nulls_last=True, multithreaded=False,  # ⅓ less CPU
           maintain_order=True)


def _block_sums(panel: Panel, expected: Expected, window: int, w: dict[str, float],
                mean_w: np.ndarray, rows: tuple[int, int], scratch: Scratch, s: np.ndarray,
                lo: np.ndarray, hi: np.ndarray, share: np.ndarray) -> np.ndarray:
    """(5, releases) observed, incidents, expected, excess and impact sums of the releases at
    block rows ``s`` (of panel ``rows``) over hours lo … hi − 1 (see :func:`release_excess`),
    computed in ``scratch``'s arrays."""
    s0, s1 = rows
    n_t = panel.hours
    block = (s1 - s0, n_t)
    baseline = expected.rows(s0, s1, out=scratch.array("baseline", block, np.float64))
    # One scratch buffer serves every running sum of the block.
    buf = scratch.array("buf", block, np.float64)
    denom = panel.open_count("failed", window, out=scratch.array("denom", block, np.float64),
                             rows=rows, scratch=scratch)
    denom *= w["failed"]
    denom += np.multiply(panel.open_count("success", window, out=buf, rows=rows,
                                          scratch=scratch), w["success"], out=buf)
    shared = np.greater(denom, 0, out=scratch.array("shared", block, bool))
    not_shared = np.logical_not(shared, out=scratch.array("not shared", block, bool))
    # Running sums are read at flat cells s·T + h − 1 (c[h] = sum of hours < h, c[0] = 0).
    ends = [(np.maximum(s * n_t + x - 1, 0), x > 0) for x in (hi, lo)]

    def window_sum(m: np.ndarray | None = None) -> np.ndarray:
        """Sum over hours lo … hi−1 of ``m`` (default: ``buf``) per release."""
        c = np.cumsum(buf if m is None else m, axis=1, out=buf).ravel()
        (at_hi, on_hi), (at_lo, on_lo) = ends
        return np.where(on_hi, c[at_hi], 0.0) - np.where(on_lo, c[at_lo], 0.0)

    def shared_sum(excess: np.ndarray) -> np.ndarray:
        """Per release: its share of the hourly ``excess`` (already in ``buf``)."""
        np.divide(excess, denom, out=buf, where=shared)
        buf[not_shared] = 0.0
        return share * window_sum()

    tickets, weight = panel.tickets[s0:s1], panel.weight[s0:s1]
    observed = window_sum(tickets)
    incidents = window_sum(panel.incidents[s0:s1])
    expect = window_sum(baseline)
    excess = shared_sum(np.subtract(tickets, baseline, out=buf))
    np.multiply(baseline, mean_w[s0:s1, None], out=buf)
    impact = shared_sum(np.subtract(weight, buf, out=buf))
    return np.stack([observed, incidents, expect, excess, impact])


def release_impact(deployments: pl.DataFrame, tickets: pl.DataFrame, incidents: pl.DataFrame, *,
                   window_hours: float = DEFAULT_WINDOW_HOURS, start: datetime | None = None,
                   end: datetime | None = None, environments: Sequence[str] | None = PRODUCTION,
                   weights: dict[str, dict[str, float]] | None = None, top: int = 20,
                   ) -> dict[str, Any]:
    """The whole study: rate ratios (all releases and by outcome, with placebo leads) for
    tickets and incidents, the event study, and the ranked per-release excess.

    Returns a dict: ``tickets``/``incidents`` {rate_ratio, ci_low, ci_high, p_value,
    n_releases, placebo {…}, alpha, cov_type}, ``by_outcome`` {failed, success} × {tickets,
    incidents}, ``releases`` (top rows), ``per_release`` (frame), ``event_study`` (frame).
    """
    window = check_window(window_hours)
    panel = hourly_panel(deployments, tickets, incidents, start=start, end=end,
                         environments=environments, weights=weights)
    in_period = panel.releases.filter((pl.col("r") >= 0) & (pl.col("r") < panel.hours))
    if in_period.height == 0:
        raise ValueError("no production releases in the period: nothing to study")
    n_rel = {"all": in_period.height, "failed": int(in_period["failed"].sum()),
             "success": int((~in_period["failed"]).sum())}
    out: dict[str, Any] = {"window_hours": window, "by_outcome": {"failed": {}, "success": {}}}

    def fits(kind: str) -> tuple[Fit, Fit] | None:
        if not (panel.tickets if kind == "tickets" else panel.incidents).any():
            return None
        return (fit_windows(panel, kind, MODELS["all"], window),
                fit_windows(panel, kind, MODELS["by_outcome"], window))

    # The incident models run on a second thread while the ticket models, the per-release
    # excess and the event study run here: the work is numpy's, mostly without the GIL, and
    # independent (the same numbers; Release impact's first load at scale 30 was its longest).
    # BLAS is held to one thread around both (threadpoolctl's limits are process-wide).
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(1) as pool:
        incident_fits = pool.submit(fits, "incidents")
        ticket_fits = fits("tickets")
        if ticket_fits is None:
            raise ValueError("no tickets in the period: the per-release excess needs tickets")
        split = ticket_fits[1]
        expected = split.expected()
        ratios = {k: split.effects[f"post_{k}"]["rate_ratio"]
                  for k in MODELS["by_outcome"] if f"post_{k}" in split.effects}
        lo = panel.t0 if start is None else start
        per = release_excess(panel, expected, window, ratios, start=lo, end=end)
        study = event_study(panel, expected)
        for kind, got in (("tickets", ticket_fits), ("incidents", incident_fits.result())):
            if got is None:
                out[kind] = None
                continue
            out[kind] = _summary(got[0], "all", n_rel["all"])
            for which in MODELS["by_outcome"]:
                out["by_outcome"][which][kind] = _summary(got[1], which, n_rel[which])
    out["per_release"] = per
    out["releases"] = per.head(top).select(
        "id", "service", "finished_at", "expected", "observed", "excess", "impact_score",
        "failed").to_dicts() if "service" in per.columns else per.head(top).to_dicts()
    out["event_study"] = study
    out["verdict"] = verdict(out, window)
    return out


def _summary(fit: Fit, which: str, n_releases: int) -> dict[str, Any] | None:
    post = fit.effects.get(f"post_{which}")
    if post is None:
        return None
    lead = fit.effects.get(f"lead_{which}")
    return {**post, "n_releases": n_releases, "placebo": lead, "alpha": fit.alpha,
            "cov_type": fit.cov_type}
