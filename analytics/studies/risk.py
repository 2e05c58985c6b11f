"""Deployment risk score (REFERENCE §4): logistic regression on change features, validated in
time order and calibrated on a later slice.

Random cross-validation leaks the future, so deployments are split by ``finished_at`` at month
boundaries: train on the earliest months, fit an isotonic calibration on the next months, score
on the latest. A service's history is its trailing failure rate over the 90 days strictly before
each deployment (shrunk towards the fleet's past rate), so no row sees its own outcome or later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

FEATURES = ("log_lines", "log_files", "coverage", "emergency", "service_failure_rate")
FAILED = ("failed", "rolled_back")
HISTORY = timedelta(days=90)
PRIOR_WEIGHT = 10.0  # pseudo-deployments at the fleet rate: a new service is not 0% or 100% risky


def features(deployments: pl.DataFrame) -> pl.DataFrame:
    """Model rows for production deployments (rollback actions excluded): the FEATURES, ``failed``
    (status failed or rolled_back) and ``finished_at``, sorted by time."""
    d = deployments.filter((pl.col("environment") == "production") & ~pl.col("is_rollback")
                           & pl.col("finished_at").is_not_null()).sort("finished_at")
    for col in ("lines_changed", "files_changed", "test_coverage"):
        if d[col].null_count() == d.height:
            raise ValueError(f"{col}: no deployment has it, the risk model needs it")
    d = d.with_columns(
        log_lines=pl.col("lines_changed").fill_null(pl.col("lines_changed").median()).clip(0).log1p(),
        log_files=pl.col("files_changed").fill_null(pl.col("files_changed").median()).clip(0).log1p(),
        coverage=pl.col("test_coverage").fill_null(pl.col("test_coverage").median()),
        emergency=pl.col("emergency").cast(pl.Float64),
        failed=pl.col("status").is_in(FAILED))
    return d.with_columns(service_failure_rate=pl.Series(_trailing_rate(d)))


def _trailing_rate(d: pl.DataFrame) -> np.ndarray:
    t = d["finished_at"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
    failed = d["failed"].to_numpy().astype(float)
    # Fleet rate from strictly earlier deployments only.
    before = np.searchsorted(t, t, side="left")
    cum = np.concatenate(([0.0], np.cumsum(failed)))
    fleet = np.where(before > 0, cum[before] / np.maximum(before, 1), 0.1)
    out = np.empty(d.height)
    hist = int(HISTORY / timedelta(microseconds=1))
    for idx in d.with_row_index("i").group_by("service").agg("i")["i"].to_list():
        idx = np.asarray(idx)
        ts, f = t[idx], np.concatenate(([0.0], np.cumsum(failed[idx])))
        hi = np.searchsorted(ts, ts, side="left")
        lo = np.searchsorted(ts, ts - hist, side="left")
        n, k = hi - lo, f[hi] - f[lo]
        out[idx] = (k + PRIOR_WEIGHT * fleet[idx]) / (n + PRIOR_WEIGHT)
    return out


@dataclass
class RiskModel:
    """A fitted scaler + logistic regression + isotonic calibration."""

    scaler: StandardScaler
    model: LogisticRegression
    calibrator: IsotonicRegression

    def predict(self, rows: pl.DataFrame) -> np.ndarray:
        """Calibrated failure probability for rows with the FEATURES columns."""
        x = self.scaler.transform(rows.select(FEATURES).to_numpy())
        return self.calibrator.predict(self.model.predict_proba(x)[:, 1])

    def coefficients(self) -> dict[str, float]:
        """Log-odds per standard deviation of each feature (for the methodology note)."""
        return dict(zip(FEATURES, map(float, self.model.coef_[0]), strict=True))


def fit(train: pl.DataFrame, calibration: pl.DataFrame) -> RiskModel:
    """Fit the regression on ``train`` and the isotonic calibration on the later ``calibration``."""
    for name, part in (("train", train), ("calibration", calibration)):
        if part.height == 0 or part["failed"].n_unique() < 2:
            raise ValueError(f"{name}: needs both failed and successful deployments")
    scaler = StandardScaler().fit(train.select(FEATURES).to_numpy())
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(train.select(FEATURES).to_numpy()),
                                                  train["failed"].to_numpy())
    raw = model.predict_proba(scaler.transform(calibration.select(FEATURES).to_numpy()))[:, 1]
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, calibration["failed"].to_numpy())
    return RiskModel(scaler, model, iso)


def time_split(rows: pl.DataFrame, shares: tuple[float, float] = (0.6, 0.2)
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Train / calibration / test by whole calendar months, earliest first, near ``shares``."""
    month = rows["finished_at"].dt.truncate("1mo")
    months = month.unique().sort()
    if months.len() < 3:
        raise ValueError(f"finished_at: time-ordered validation needs 3 months, got {months.len()}")
    cum = rows.group_by(month.alias("m")).len().sort("m")["len"].cum_sum().to_numpy() / rows.height
    a = min(max(int(np.searchsorted(cum, shares[0])), 0), months.len() - 3)
    b = min(max(int(np.searchsorted(cum, shares[0] + shares[1])), a + 1), months.len() - 2)
    cut1, cut2 = months[a + 1], months[b + 1]
    return (rows.filter(month < cut1), rows.filter((month >= cut1) & (month < cut2)),
            rows.filter(month >= cut2))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of probabilities.

    >>> round(brier(np.array([0.2, 0.8]), np.array([0, 1])), 6)
    0.04
    """
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 5) -> pl.DataFrame:
    """Reliability-curve data: equal-count bins of predicted risk with mean predicted, observed
    failure rate and n."""
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, bins)
    return pl.DataFrame([{"bin": i, "predicted": float(np.mean(p[g])), "observed": float(np.mean(y[g])),
                          "n": int(g.size)} for i, g in enumerate(groups) if g.size])


def evaluate(deployments: pl.DataFrame, bins: int = 5) -> dict:
    """Time-ordered validation: fit, calibrate, score the latest months.

    Returns {model, test_brier, base_rate_brier, base_rate, reliability, n_train, n_calibration,
    n_test}; the base-rate Brier predicts the training failure rate for everyone."""
    rows = features(deployments)
    train, cal, test = time_split(rows)
    model = fit(train, cal)
    y = test["failed"].to_numpy().astype(float)
    p = model.predict(test)
    base = float(train["failed"].mean())
    return {"model": model, "test_brier": brier(p, y), "base_rate_brier": brier(np.full(y.size, base), y),
            "base_rate": base, "reliability": reliability(p, y, bins),
            "n_train": train.height, "n_calibration": cal.height, "n_test": test.height}


def fit_latest(deployments: pl.DataFrame) -> tuple[RiskModel, pl.DataFrame]:
    """The model used for decisions: regression on all but the latest 20% of deployments (by time),
    calibration on that latest slice (retrain on recent months, REFERENCE §4). Also returns the
    feature rows, for a new change's service history."""
    rows = features(deployments)
    cut = int(rows.height * 0.8)
    return fit(rows[:cut], rows[cut:]), rows


def change_row(rows: pl.DataFrame, service: str, lines: int, files: int, coverage: float,
               emergency: bool) -> pl.DataFrame:
    """FEATURES for a proposed change of ``service``, its history from all past deployments."""
    past = rows.filter(pl.col("service") == service)
    latest = past["finished_at"].max() if past.height else None
    recent = past.filter(pl.col("finished_at") >= latest - HISTORY) if latest else past
    fleet = float(rows["failed"].mean()) if rows.height else 0.1
    rate = (float(recent["failed"].sum()) + PRIOR_WEIGHT * fleet) / (recent.height + PRIOR_WEIGHT)
    return pl.DataFrame({"log_lines": [float(np.log1p(max(lines, 0)))],
                         "log_files": [float(np.log1p(max(files, 0)))], "coverage": [float(coverage)],
                         "emergency": [float(emergency)], "service_failure_rate": [rate]})
