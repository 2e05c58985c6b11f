"""Stability KPIs (REFERENCE §1): change failure rate, recovery, MTTR, detection, rework,
rollbacks and incident recurrence.

Two fact tables carry the per-record numbers (and are what a page drills down to):
:func:`deployment_facts` (one row per deployment in the period) and :func:`incident_facts`
(one row per incident opened in the period). The ``*_aggs`` helpers turn them into one row
per slice; :mod:`analytics.metrics.delivery_report` does both steps for every report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl

from analytics.metrics.attribution import ATTRIBUTION_SCHEMA
from analytics.metrics.delivery import (
    PRODUCTION,
    aggregate,
    group_keys,
    in_time_order,
    local_day_bounds,
    one_per_key,
    scope,
    service_keys,
    tie_order,
)
from analytics.metrics.frames import (
    BOOL,
    DEPLOYMENT_COLUMNS,
    DEPLOYMENT_FEATURES,
    INCIDENT_COLUMNS,
    Frame,
    conform,
    hours,
    in_period,
)

Z95 = 1.959963984540054  # two-sided 95% normal quantile, for the Wilson interval
RECURRENCE_DAYS = 30
FAILED_STATUSES = ("failed", "rolled_back")
_AUTO = ("auto",)


def _attribution(attribution: Frame) -> pl.LazyFrame:
    missing = {"incident_id", "deployment_id", "rule"} - set(attribution.collect_schema())
    if missing:
        raise ValueError(f"attribution: missing column(s) {', '.join(sorted(missing))}")
    return attribution.lazy().select(
        pl.col(c).cast(ATTRIBUTION_SCHEMA[c]) for c in ("incident_id", "deployment_id", "rule"))


def deployment_facts(deployments: Frame, incidents: Frame, attribution: Frame, *,
                     start: date | datetime | None = None, end: date | datetime | None = None,
                     environments: Sequence[str] | None = PRODUCTION,
                     tz: str = "UTC") -> pl.LazyFrame:
    """One row per deployment finished in the period, with ``failed``, ``incidents``
    (attributed), ``recovery_hours``, ``next_success_at`` and ``next_success_id``.

    Failed = status failed/rolled_back or ≥1 attributed incident. Recovery (REFERENCE §1):
    with incidents, their last ``resolved_at`` − ``finished_at`` (null while one is open);
    without, the next ``success`` deployment of the same service and environment, rollbacks
    included since they restore service. ``deployments`` should reach past the period end so
    the next success can be found. Negative spans (bad clocks) are left out (null).

    Ties (REFERENCE §1.1): deployments are ordered by ``finished_at``, then ``external_id``
    ascending (``id`` when the frame has no external id); "the next success" is the first in
    that order that finished strictly after the failed one, so among successes sharing a
    ``finished_at`` the one with the smallest external id is taken, whatever the row order.
    ``start``/``end`` days are drawn in zone ``tz``.
    """
    lo, hi = local_day_bounds(start, end, tz)
    everything = conform(deployments, "deployments", DEPLOYMENT_COLUMNS,
                         optional={"external_id": "text"})
    deps = (scope(deployments, environments=environments, optional=DEPLOYMENT_FEATURES)
            .filter(in_period("finished_at", lo, hi)))
    inc = conform(incidents, "incidents", INCIDENT_COLUMNS).select(
        pl.col("id").alias("incident_id"), "resolved_at")
    per_dep = (_attribution(attribution).filter(pl.col("deployment_id").is_not_null())
               .join(inc, on="incident_id", how="inner")
               .group_by("deployment_id")
               .agg(pl.len().alias("incidents"), pl.col("resolved_at").max().alias("_resolved"),
                    pl.col("resolved_at").is_null().any().alias("_open")))
    restorers = everything.filter((pl.col("status") == "success")
                                  & pl.col("finished_at").is_not_null())
    if environments is not None:
        restorers = restorers.filter(pl.col("environment").is_in(list(environments)))
    same = service_keys(environments)
    # One restorer per (service, instant): the first in (finished_at, external id) order, so
    # the as-of join below has unique keys and cannot depend on row order. Sorted by time
    # alone (ties by external id): within a service that is the same order, and a sort by
    # service first cost more than the join itself at a million deployments.
    restorers = (one_per_key(tie_order(restorers, ["finished_at"]), [*same, "finished_at"],
                             "first")
                 .select(*same, pl.col("finished_at").alias("next_success_at"),
                         pl.col("id").alias("next_success_id")))
    has_inc = pl.col("incidents") > 0
    recovery = (pl.when(has_inc & pl.col("_open")).then(None)
                .when(has_inc).then(hours(pl.col("_resolved") - pl.col("finished_at")))
                .otherwise(hours(pl.col("next_success_at") - pl.col("finished_at"))))
    return (in_time_order(deps, "finished_at")
            .join_asof(restorers, left_on="finished_at", right_on="next_success_at",
                       by=same, strategy="forward",
                       allow_exact_matches=False, check_sortedness=False)
            .join(per_dep, left_on="id", right_on="deployment_id", how="left")
            .with_columns(pl.col("incidents").fill_null(0).cast(pl.Int64))
            .with_columns((pl.col("status").is_in(FAILED_STATUSES) | has_inc).alias("failed"))
            .with_columns(pl.when(pl.col("failed")).then(recovery).alias("recovery_hours"))
            .with_columns(pl.when(pl.col("recovery_hours") >= 0).then(pl.col("recovery_hours"))
                          .alias("recovery_hours"))
            .drop("_resolved", "_open"))


def wilson(successes: pl.Expr, n: pl.Expr, z: float = Z95) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval (low, high) for ``successes`` out of ``n``; null when n = 0."""
    nf = n.cast(pl.Float64)
    p = successes / nf
    denom = 1 + z * z / nf
    centre = (p + z * z / (2 * nf)) / denom
    half = z * ((p * (1 - p) / nf + z * z / (4 * nf * nf)).sqrt()) / denom
    ok = n > 0
    return (pl.when(ok).then((centre - half).clip(0.0, 1.0)),
            pl.when(ok).then((centre + half).clip(0.0, 1.0)))


def deployment_aggs() -> list[pl.Expr]:
    """CFR with its counts and Wilson 95% interval, recovery, rework and rollback rates."""
    n = pl.len().cast(pl.Int64)
    failed = pl.col("failed").sum().cast(pl.Int64)
    low, high = wilson(failed, n)
    rec = pl.col("recovery_hours").filter(pl.col("failed"))
    some = n > 0
    return [
        failed.alias("cfr_failed"), n.alias("cfr_deployments"),
        pl.when(some).then(failed / n).alias("cfr"), low.alias("cfr_ci_low"),
        high.alias("cfr_ci_high"),
        rec.median().alias("recovery_median"),
        rec.quantile(0.9, interpolation="linear").alias("recovery_p90"),
        rec.count().cast(pl.Int64).alias("recovery_n"),
        pl.when(some).then(pl.col("unplanned").fill_null(False).mean()).alias("rework_rate"),
        pl.when(some).then((pl.col("status") == "rolled_back").mean()).alias("rollback_rate"),
        pl.col("incidents").sum().cast(pl.Int64).alias("attributed_incidents"),
    ]


def rollback_frequency(deployments: Frame, *, start: date | datetime | None = None,
                       end: date | datetime | None = None, by: Sequence[str] = ("service",),
                       environments: Sequence[str] | None | tuple[str] = _AUTO,
                       tz: str = "UTC") -> pl.DataFrame:
    """Rolled-back deployments ÷ deployments per slice.

    By default production only, except when slicing by ``environment``: that view shows every
    environment (REFERENCE §1, the one place non-production is shown by default).
    """
    if environments == _AUTO:
        environments = None if "environment" in by else PRODUCTION
    lo, hi = local_day_bounds(start, end, tz)
    deps = scope(deployments, environments=environments).filter(in_period("finished_at", lo, hi))
    n = pl.len().cast(pl.Int64)
    rolled = (pl.col("status") == "rolled_back").sum().cast(pl.Int64)
    return aggregate(deps, group_keys(by, None), [
        rolled.alias("rolled_back"), n.alias("deployments"),
        pl.when(n > 0).then(rolled / n).alias("rollback_rate")]).collect()


def incident_facts(incidents: Frame, attribution: Frame, deployments: Frame, *,
                   start: date | datetime | None = None, end: date | datetime | None = None,
                   environments: Sequence[str] | None = PRODUCTION,
                   recurrence_days: float = RECURRENCE_DAYS, tz: str = "UTC") -> pl.LazyFrame:
    """One row per incident opened in the period, with ``restore_hours``, ``rule``,
    ``deployment_id``, ``detect_hours``, ``recurred`` and ``customer_minutes``.

    Restore = resolved − opened (null while open or when negative). Detect = detected (else
    opened) − the attributed deployment's finish (null when negative or unknown). Recurred: an
    incident of the same service with the same ``problem_id`` (else the same ``root_cause``
    when it has no problem id) opened in the ``recurrence_days`` before it; ``incidents``
    should reach that far before the period start. ``start``/``end`` days are in zone ``tz``.
    The root-cause fallback applies only where the optional boolean column
    ``root_cause_specific`` is not false (a closure code such as "Other" or "Software" is too
    coarse: nearly every incident would "recur"); ``recurrence_basis`` says which key each
    incident used ("problem_id", "root_cause", or null when it had neither).
    """
    lo, hi = local_day_bounds(start, end, tz)
    inc = conform(incidents, "incidents", INCIDENT_COLUMNS, {"root_cause_specific": BOOL})
    if environments is not None:
        inc = inc.filter(pl.col("environment").is_in(list(environments)))
    specific = (pl.col("root_cause_specific").fill_null(True)
                if "root_cause_specific" in inc.collect_schema() else pl.lit(True))
    by_cause = pl.col("root_cause").is_not_null() & specific
    key = (pl.when(pl.col("problem_id").is_not_null()).then(pl.lit("p:") + pl.col("problem_id"))
           .when(by_cause).then(pl.lit("r:") + pl.col("root_cause")))
    basis = (pl.when(pl.col("problem_id").is_not_null()).then(pl.lit("problem_id"))
             .when(by_cause).then(pl.lit("root_cause")))
    inc = inc.with_columns(key.alias("_key"), basis.alias("recurrence_basis"))
    if "root_cause_specific" in inc.collect_schema():
        inc = inc.drop("root_cause_specific")
    earlier = (inc.filter(pl.col("_key").is_not_null())
               .select("service_id", "_key", pl.col("opened_at").alias("_prev")).sort("_prev"))
    current = inc.filter(in_period("opened_at", lo, hi)).sort("opened_at")
    recurred = current.join_asof(
        earlier, left_on="opened_at", right_on="_prev", by=["service_id", "_key"],
        strategy="backward", tolerance=timedelta(days=recurrence_days),
        allow_exact_matches=False, check_sortedness=False)
    finished = conform(deployments, "deployments",
                       {c: DEPLOYMENT_COLUMNS[c] for c in ("id", "finished_at")})
    restore = hours(pl.col("resolved_at") - pl.col("opened_at"))
    detect = hours(pl.coalesce("detected_at", "opened_at") - pl.col("_dep_finished"))
    return (recurred
            .join(_attribution(attribution), left_on="id", right_on="incident_id", how="left")
            .join(finished.select(pl.col("id").alias("deployment_id"),
                                  pl.col("finished_at").alias("_dep_finished")),
                  on="deployment_id", how="left")
            .with_columns(
                pl.col("rule").fill_null("unattributed"),
                pl.when(restore >= 0).then(restore).alias("restore_hours"),
                pl.when(detect >= 0).then(detect).alias("detect_hours"),
                pl.col("_prev").is_not_null().alias("recurred"))
            .with_columns(pl.when(pl.col("customer_facing").fill_null(False))
                          .then(pl.col("restore_hours") * 60).otherwise(0.0)
                          .alias("customer_minutes"))
            .drop("_key", "_prev", "_dep_finished"))


def incident_aggs() -> list[pl.Expr]:
    """MTTR (median, mean, n), time to detect (median, n), recurrence and rule counts."""
    n = pl.len().cast(pl.Int64)
    restore, detect = pl.col("restore_hours"), pl.col("detect_hours")
    return [
        n.alias("incidents"),
        restore.median().alias("mttr_median"), restore.mean().alias("mttr_mean"),
        restore.count().cast(pl.Int64).alias("mttr_n"),
        detect.median().alias("ttd_median"), detect.count().cast(pl.Int64).alias("ttd_n"),
        pl.when(n > 0).then(pl.col("recurred").mean()).alias("recurrence_rate"),
        # Which key the recurrence figure rests on: problem ids alone, or root causes too.
        pl.when((pl.col("recurrence_basis") == "root_cause").any())
        .then(pl.lit("problem_id+root_cause")).otherwise(pl.lit("problem_id"))
        .alias("recurrence_basis"),
        *[(pl.col("rule") == r).sum().cast(pl.Int64).alias(r)
          for r in ("explicit", "window", "unattributed")],
    ]

