"""The Friday effect: do deployments fail more often on some weekdays, all else equal?

Method (REFERENCE §4, weekday / Friday effect): failure rate by weekday (UTC, of the
deployment's finish) with Wilson intervals; a logistic regression ``failed ~ C(weekday) +
log(lines_changed) + emergency + test_coverage + C(service)`` (unpenalised maximum likelihood —
scikit-learn's is penalised and unfit for inference; ``studies.logit``, checked against statsmodels'
GLM) with errors clustered by service; the
Friday against Monday–Thursday odds ratio is the contrast β_Fri − mean(β_Mon…β_Thu). Size is a
confounder (Friday changes are smaller), so the naive 2×2 odds ratio is shown beside it.

What counts as a failure is the ``outcome``: ``status`` (failed or rolled back, the default),
``incident`` (≥1 incident attributed to the deployment, REFERENCE §1.1) or ``either`` (the
REFERENCE §1 definition of a failed deployment). Data that records no outcome (BPIC 2014 marks
every change a success) can only be studied through incidents. Attribution by time window
(REFERENCE §1.1 rule 2) favours Fridays: their window spans the weekend, when fewer incidents are
opened, so an incident-based Friday advantage is partly mechanical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from threadpoolctl import threadpool_limits

from analytics.metrics.stability import wilson
from analytics.studies.logit import fit_logit
from analytics.studies.release_panel import PRODUCTION, releases_of

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR_BANDS = ((0, 6, "night 00–06"), (6, 12, "morning 06–12"), (12, 18, "afternoon 12–18"),
              (18, 24, "evening 18–24"))
Z95, Z80 = 1.959963984540054, 0.8416212335729143
MIN_CLUSTERS = 10
# Above this many services one dummy per service makes the design matrix N × S (9.6 GB for 1M
# deployments in 1,200 services); the service then enters as its leave-one-out failure log-odds.
MAX_SERVICE_DUMMIES = 200
CONTROL_NAMES = {"lines_changed": "size", "emergency": "emergency", "test_coverage": "coverage"}
OUTCOMES = {"status": "status failed or rolled back",
            "incident": "an incident attributed to the deployment",
            "either": "status failed or rolled back, or an attributed incident"}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error across the weekdays).

    >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out.tolist()


def _prepare(deployments: pl.DataFrame, environments: Sequence[str] | None, outcome: str,
             attribution: pl.DataFrame | None) -> pl.DataFrame:
    rel = releases_of(deployments, environments)
    if outcome != "status":
        caused = attribution["deployment_id"].drop_nulls().unique().implode()
        linked = pl.col("id").is_in(caused)
        rel = rel.with_columns(failed=linked if outcome == "incident" else pl.col("failed") | linked)
    extra = [c for c in ("lines_changed", "emergency", "test_coverage") if c in deployments.columns]
    rel = rel.join(deployments.select("id", *extra), on="id", how="left")
    if rel.height == 0:
        raise ValueError("no deployments in the period: nothing to compare")
    return rel.with_columns(
        weekday=pl.col("finished_at").dt.weekday() - 1,  # 0 = Monday
        hour=pl.col("finished_at").dt.hour())


def rates_by(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Deployments, failures, failure rate and its Wilson 95% interval per ``key`` value."""
    out = frame.group_by(key).agg(deployments=pl.len(), failed=pl.col("failed").sum()).sort(key)
    lo, hi = wilson(pl.col("failed"), pl.col("deployments"))
    return out.with_columns(rate=pl.col("failed") / pl.col("deployments"), ci_low=lo, ci_high=hi)


def _controlled(rel: pl.DataFrame) -> dict[str, Any]:
    """Logistic model with controls; odds ratios by weekday and the Friday contrast."""
    # A control the source never records (BPIC 2014 has no change size) is left out rather
    # than emptying the sample; the verdict then names only the controls used.
    used = [c for c in ("lines_changed", "emergency", "test_coverage")
            if c in rel.columns and rel[c].null_count() < rel.height]
    data = rel.drop_nulls([c for c in ("lines_changed", "test_coverage") if c in used])
    # A service that never (or always) fails has an infinite fixed effect and says nothing
    # about weekdays within it: leave it out rather than let the fit diverge.
    mixed = data.group_by("service_id").agg(f=pl.col("failed").mean()).filter(
        (pl.col("f") > 0) & (pl.col("f") < 1))["service_id"]
    data = data.filter(pl.col("service_id").is_in(mixed.implode()))
    days = sorted(set(data["weekday"].to_list()))
    if 0 not in days or 4 not in days or data.height < 20:
        raise ValueError("too few deployments on Mondays or Fridays (with failures and successes "
                         "in the same services) to fit the weekday model")
    cols = [np.ones(data.height)]
    names = ["const"]
    for d in days[1:]:
        cols.append((data["weekday"] == d).to_numpy().astype(float))
        names.append(WEEKDAYS[d])
    if "lines_changed" in used:
        cols.append(np.log(np.clip(data["lines_changed"].to_numpy().astype(float), 1, None)))
        names.append("log_lines_changed")
    for c in ("emergency", "test_coverage"):
        if c in used:
            cols.append(data[c].fill_null(False).to_numpy().astype(float))
            names.append(c)
    services = data["service_id"].to_numpy()
    n_services = np.unique(services).size
    if n_services <= MAX_SERVICE_DUMMIES:
        for s in np.unique(services)[1:]:
            cols.append((services == s).astype(float))
            names.append(f"service_{s}")
        service_control = "service"
    else:
        cols.append(_leave_one_out_log_odds(data))
        names.append("service_log_odds")
        service_control = "service (its failure log-odds)"
    # A column without variation is collinear with the constant: left out (min = max is exact,
    # where a standard deviation of identical floats can round to a tiny positive number).
    keep = [True] + [bool(c.min() != c.max()) for c in cols[1:]]
    x = np.column_stack([c for c, k in zip(cols, keep, strict=True) if k])
    names = [n for n, k in zip(names, keep, strict=True) if k]
    y = data["failed"].to_numpy().astype(float)
    n_clusters = n_services
    # Small dense solves: BLAS threads only contend with each other on a shared box.
    with threadpool_limits(limits=1, user_api="blas"):
        if n_clusters >= MIN_CLUSTERS:
            res, cov = fit_logit(y, x, services), "cluster(service)"
        else:
            res, cov = fit_logit(y, x), "HC0"
    # Friday − mean(Mon…Thu): Monday is the reference (coefficient 0).
    contrast = np.zeros(len(names))
    contrast[names.index("Fri")] = 1.0
    for d in ("Tue", "Wed", "Thu"):
        if d in names:
            contrast[names.index(d)] -= 0.25
    est = float(contrast @ res.params)
    se = float(np.sqrt(contrast @ res.cov @ contrast))
    per_day = [{"weekday": "Mon", "odds_ratio": 1.0, "ci_low": None, "ci_high": None}]
    ci = res.conf_int()
    for i, n in enumerate(names):
        if n in WEEKDAYS:
            per_day.append({"weekday": n, "odds_ratio": float(np.exp(res.params[i])),
                            "ci_low": float(np.exp(ci[i, 0])), "ci_high": float(np.exp(ci[i, 1]))})
    return {"friday_vs_rest": {"odds_ratio": float(np.exp(est)),
                               "ci_low": float(np.exp(est - Z95 * se)),
                               "ci_high": float(np.exp(est + Z95 * se)),
                               "p_value": float(2 * stats.norm.sf(abs(est / se)))},
            "se_log_or": se, "odds_ratios_vs_monday": per_day, "n_model": data.height,
            "services_in_model": int(n_clusters), "cov_type": cov,
            "controls": [CONTROL_NAMES[c] for c in used] + [service_control]}


def _leave_one_out_log_odds(data: pl.DataFrame) -> np.ndarray:
    """Each deployment's service failure log-odds from the service's OTHER deployments (+½
    smoothing), so a deployment's own outcome never explains itself."""
    loo = data.with_columns(
        f=pl.col("failed").cast(pl.Float64).sum().over("service_id") - pl.col("failed").cast(pl.Float64),
        n=pl.len().over("service_id").cast(pl.Float64) - 1.0,
    ).select(((pl.col("f") + 0.5) / (pl.col("n") - pl.col("f") + 0.5)).log())
    return loo.to_series().to_numpy()


def _two_by_two(rel: pl.DataFrame) -> tuple[np.ndarray, str, float]:
    """Friday vs Monday–Thursday failure table, its test and p-value (Fisher when sparse)."""
    fri = rel.filter(pl.col("weekday") == 4)
    rest = rel.filter(pl.col("weekday") < 4)
    table = np.array([[fri["failed"].sum(), fri.height - fri["failed"].sum()],
                      [rest["failed"].sum(), rest.height - rest["failed"].sum()]])
    if (stats.contingency.expected_freq(table) < 5).any():
        return table, "fisher_exact", float(stats.fisher_exact(table)[1])
    return table, "chi_square", float(stats.chi2_contingency(table, correction=False)[1])


def verdict(odds_ratio: float, ci_low: float, ci_high: float, min_detectable: float,
            outcome: str = "status",
            controls: Sequence[str] = ("size", "emergency", "coverage", "service")) -> str:
    """One sentence that claims no more than the interval allows, naming what failure means.

    >>> verdict(1.1, 0.9, 1.4, 1.8)[:30]
    'No detectable Friday effect (o'
    """
    ci = f"95% CI {ci_low:.2f}–{ci_high:.2f}"
    means = f" Failure means {OUTCOMES[outcome]}."
    if outcome != "status":
        means += " Window attribution favours Fridays: their window spans the quieter weekend."
    after = "after accounting for " + (", ".join(controls[:-1]) + " and " if len(controls) > 1
                                       else "") + controls[-1]
    if ci_low > 1:
        return (f"Friday deployments fail more often: odds {odds_ratio:.2f}× those of Monday–"
                f"Thursday ({ci}) {after}." + means)
    if ci_high < 1:
        return (f"Friday deployments fail less often: odds {odds_ratio:.2f}× those of Monday–"
                f"Thursday ({ci}) {after}." + means)
    return (f"No detectable Friday effect (odds ratio {odds_ratio:.2f}, {ci}); this data could "
            f"only detect an effect above {min_detectable:.2f}× (80% power, α 0.05)." + means)


def no_variation_verdict(failed: int, deployments: int, outcome: str = "status") -> str:
    """Why weekdays cannot be compared when every deployment has the same outcome.

    >>> no_variation_verdict(0, 12)[:40]
    'No deployment in this data is recorded a'
    """
    if failed == 0:
        what = {"status": "recorded as failed or rolled back",
                "incident": "linked to an attributed incident",
                "either": "recorded as failed or linked to an attributed incident"}[outcome]
        return (f"No deployment in this data is {what} (0 of {deployments:,}), so failure rates "
                f"by weekday cannot be compared. Failure means {OUTCOMES[outcome]}."
                + (" Try the incident outcome if the source records no deployment status."
                   if outcome == "status" else ""))
    return (f"Every deployment in this data counts as failed ({failed:,} of {deployments:,}), "
            f"so failure rates by weekday cannot be compared. Failure means {OUTCOMES[outcome]}.")


def _no_variation(rel: pl.DataFrame, by_day: pl.DataFrame, by_band: pl.DataFrame,
                  outcome: str) -> dict[str, Any]:
    """The study's shape with counts only: no test or model is defined without variation."""
    none = {"odds_ratio": None, "ci_low": None, "ci_high": None, "p_value": None}
    return {"by_weekday": by_day.with_columns(p_value=pl.lit(None, pl.Float64),
                                              p_holm=pl.lit(None, pl.Float64)),
            "by_hour_band": by_band, "friday_vs_rest": none, "se_log_or": None,
            "odds_ratios_vs_monday": [], "n_model": 0, "services_in_model": 0, "cov_type": None,
            "controls": [],
            "naive_friday_vs_rest": {"odds_ratio": None, "test": None, "p_value": None},
            "independence": {"test": "chi_square", "statistic": None, "dof": 0, "p_value": None},
            "min_detectable_odds_ratio": None, "outcome": outcome,
            "verdict": no_variation_verdict(int(rel["failed"].sum()), rel.height, outcome)}


def weekday_study(deployments: pl.DataFrame, incidents: pl.DataFrame | None = None,
                  attribution: pl.DataFrame | None = None, *,
                  environments: Sequence[str] | None = PRODUCTION, outcome: str = "status",
                  ) -> dict[str, Any]:
    """Failure by weekday and hour band, the controlled Friday odds ratio, tests and a verdict.

    ``min_detectable_odds_ratio`` = exp((z₀.₉₇₅ + z₀.₈) · SE(log OR)) with the model's
    clustered SE: the smallest Friday effect this sample finds with 80% power at α 0.05.
    Given ``incidents`` and an ``attribution`` (``incident_id``, ``deployment_id``, from
    :func:`analytics.metrics.attribution.attribute`), also incidents and MTTR (median and mean
    hours, resolved − opened) by weekday of the release that caused them; ``outcome``
    ``incident`` and ``either`` need that attribution. When no deployment (or every one)
    failed, no rate can be compared: the counts come back with null odds ratios and p-values
    and a verdict saying why.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if outcome != "status" and attribution is None:
        raise ValueError(f"outcome {outcome!r} needs incidents and their attribution to deployments")
    rel = _prepare(deployments, environments, outcome, attribution)
    days = set(rel["weekday"].to_list())
    if 4 not in days or not days & {0, 1, 2, 3}:
        raise ValueError("need deployments on Fridays and on Monday–Thursday to compare them "
                         "(widen the period or the services)")
    by_day = rates_by(rel, "weekday").with_columns(
        weekday=pl.col("weekday").replace_strict(dict(enumerate(WEEKDAYS)), return_dtype=pl.String))
    band = pl.lit(None, dtype=pl.String)
    for lo, hi, name in reversed(HOUR_BANDS):
        band = pl.when((pl.col("hour") >= lo) & (pl.col("hour") < hi)).then(pl.lit(name)).otherwise(band)
    order = {name: i for i, (_, _, name) in enumerate(HOUR_BANDS)}
    by_band = rates_by(rel.with_columns(hour_band=band), "hour_band").sort(
        pl.col("hour_band").replace_strict(order, return_dtype=pl.Int64))
    if rel["failed"].n_unique() < 2:
        out = _no_variation(rel, by_day, by_band, outcome)
        if incidents is not None and attribution is not None:
            out["incidents_by_weekday"] = incidents_by_release_weekday(rel, incidents, attribution)
        return out
    # Each weekday against all other days; Holm across the seven comparisons.
    per_day_p = []
    for d in by_day["weekday"].to_list():
        t = rel.with_columns(this=pl.col("weekday") == WEEKDAYS.index(d))
        table = np.array([[t.filter(pl.col("this"))["failed"].sum(), t.filter(pl.col("this")).height],
                          [t.filter(~pl.col("this"))["failed"].sum(), t.filter(~pl.col("this")).height]])
        table[:, 1] -= table[:, 0]
        per_day_p.append(float(stats.fisher_exact(table)[1]) if table.min() < 5
                         else float(stats.chi2_contingency(table, correction=False)[1]))
    by_day = by_day.with_columns(p_value=pl.Series(per_day_p), p_holm=pl.Series(holm(per_day_p)))
    full = np.column_stack([by_day["failed"].to_numpy(), (by_day["deployments"] - by_day["failed"]).to_numpy()])
    indep = stats.chi2_contingency(full, correction=False) if full.shape[0] > 1 else None
    table, test, p2 = _two_by_two(rel)
    a, b, c, d = table.ravel().astype(float)
    naive = (a * d) / (b * c) if b * c > 0 else float("inf")
    model = _controlled(rel)
    mde = float(np.exp((Z95 + Z80) * model["se_log_or"]))
    f = model["friday_vs_rest"]
    out = {"by_weekday": by_day, "by_hour_band": by_band, **model,
           "naive_friday_vs_rest": {"odds_ratio": float(naive), "test": test, "p_value": p2},
           "independence": {"test": "chi_square", "statistic": float(indep[0]) if indep else None,
                            "dof": int(indep[2]) if indep else 0,
                            "p_value": float(indep[1]) if indep else None},
           "min_detectable_odds_ratio": mde, "outcome": outcome,
           "verdict": verdict(f["odds_ratio"], f["ci_low"], f["ci_high"], mde, outcome,
                              model["controls"])}
    if incidents is not None and attribution is not None:
        out["incidents_by_weekday"] = incidents_by_release_weekday(rel, incidents, attribution)
    return out


def incidents_by_release_weekday(releases: pl.DataFrame, incidents: pl.DataFrame,
                                 attribution: pl.DataFrame) -> pl.DataFrame:
    """Incidents caused by releases, and their MTTR (hours), by weekday of the release."""
    inc = (attribution.drop_nulls("deployment_id")
           # Cast: an empty incident read has untyped (null) columns.
           .join(incidents.select(incident_id=pl.col("id").cast(pl.Int64),
                                  opened=pl.col("opened_at").cast(pl.Datetime("us")),
                                  resolved=pl.col("resolved_at").cast(pl.Datetime("us"))),
                 on="incident_id")
           .join(releases.select(deployment_id="id", weekday="weekday"), on="deployment_id"))
    hours = (pl.col("resolved") - pl.col("opened")).dt.total_seconds() / 3600
    valid = pl.col("resolved").is_not_null() & (pl.col("resolved") >= pl.col("opened"))
    per = releases.group_by("weekday").agg(releases=pl.len())
    agg = inc.group_by("weekday").agg(incidents=pl.len(), mttr_median_hours=hours.filter(valid).median(),
                                       mttr_mean_hours=hours.filter(valid).mean())
    return (per.join(agg, on="weekday", how="left").sort("weekday")
            .with_columns(pl.col("incidents").fill_null(0),
                          weekday=pl.col("weekday").replace_strict(dict(enumerate(WEEKDAYS)),
                                                                   return_dtype=pl.String))
            .with_columns(incidents_per_100_releases=100 * pl.col("incidents") / pl.col("releases")))
