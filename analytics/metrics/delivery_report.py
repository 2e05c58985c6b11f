"""The delivery report: every DORA/release KPI of REFERENCE §1 for a period, per slice.

:func:`build_facts` computes the per-record fact tables once (attribution, per-deployment
failure and recovery, per-incident restore/detect/recurrence, lead-time pairs);
:func:`summarize` aggregates them for any slicing (service, team, environment, tier,
criticality, plus weekly/monthly ``every``); :func:`delivery_report` is the JSON shape the CLI
prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from analytics.metrics.attribution import DEFAULT_WINDOW_HOURS, attribute, check_window
from analytics.metrics.bands import DEFAULT_YEAR, band
from analytics.metrics.delivery import (
    PRODUCTION,
    aggregate,
    frequency_from_scoped,
    group_keys,
    lead_time_aggs,
    lead_time_pairs,
    local_day_bounds,
    resolve_period,
    span_days,
    to_local,
    with_period,
)
from analytics import catalogue
from analytics.metrics.frames import Frame
from analytics.metrics.stability import (
    deployment_aggs,
    deployment_facts,
    incident_aggs,
    incident_facts,
)

# A slice with fewer deployments or incidents than this gets a small-sample warning (issue 4).
SMALL_DEPLOYMENTS = 20
SMALL_INCIDENTS = 5
# What each figure of the report means: the KPI catalogue's methodology texts and count notes
# (REFERENCE §1). A test fails when a figure has no definition.
DEFINITIONS: dict[str, str] = {
    **catalogue.definitions("delivery"),
    "small_sample": f"Fewer than {SMALL_DEPLOYMENTS} deployments or {SMALL_INCIDENTS} "
                    "incidents in the slice: read with care.",
    "incident_recurrence_basis": "Which key incident recurrence used: \"problem_id\" (same "
                                 "service and problem id) or \"problem_id+root_cause\" (the "
                                 "root-cause category stood in where an incident had no problem "
                                 "id; setting WORKBENCH_RECURRENCE_ROOT_CAUSE).",
}
COUNTS = ("deployments", "cfr_failed", "cfr_deployments", "lead_time_n", "recovery_n",
          "attributed_incidents", "incidents", "mttr_n", "ttd_n", "explicit", "window",
          "unattributed")


@dataclass(frozen=True)
class Facts:
    """Per-record tables behind every number of the report (what a page drills down to)."""

    deployments: pl.DataFrame  # deployment_facts: one row per deployment in the period
    incidents: pl.DataFrame  # incident_facts: one row per incident opened in the period
    lead_pairs: pl.DataFrame  # (success deployment, change) pairs with lead_hours > 0
    attribution: pl.DataFrame  # incident_id, deployment_id, rule, gap_hours
    start: datetime | None  # resolved half-open period
    end: datetime | None
    window_hours: float
    environments: tuple[str, ...] | None
    tz: str = "UTC"  # IANA zone in which days, weeks and months are drawn


def build_facts(deployments: Frame, changes: Frame, incidents: Frame,
                attribution: pl.DataFrame | None = None, *,
                start: date | datetime | None = None, end: date | datetime | None = None,
                window_hours: float = DEFAULT_WINDOW_HOURS,
                environments: Sequence[str] | None = PRODUCTION, tz: str = "UTC",
                pair_keys: Sequence[str] = ()) -> Facts:
    """Compute the fact tables for the period (inclusive days in zone ``tz``, or a half-open
    naive-UTC datetime range); later slicing by ``every`` draws buckets in ``tz`` too.
    ``pair_keys``: deployment columns the lead-time pairs carry (see :func:`with_pair_keys`).

    The frames may (and, for exact edges, should) reach beyond the period: ``window_hours``
    before for attribution, 30 days before for recurrence, and later for the next successful
    deployment that ends a recovery. ``attribution`` defaults to :func:`attribute` on them.
    """
    window = check_window(window_hours)
    lo, hi = local_day_bounds(start, end, tz)
    envs = tuple(environments) if environments is not None else None
    pairs = lead_time_pairs(deployments, changes, start=lo, end=hi, environments=envs,
                            carry=pair_keys)
    # The pairs need no attribution: joined on the other core meanwhile (polars releases the
    # GIL). Each plan on the engine that runs it cheaper at a million deployments: the pairs'
    # join of millions of changes streaming (~half the in-memory one's CPU), the recovery's
    # sorts and as-of join in memory (~60 % of the streaming engine's).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pairing = pool.submit(pairs.collect, engine="streaming")
        if attribution is None:
            attribution = attribute(incidents, deployments, changes, window_hours=window,
                                    environments=envs)
        deps = deployment_facts(deployments, incidents, attribution, start=lo, end=hi,
                                environments=envs)
        incs = incident_facts(incidents, attribution, deployments, start=lo, end=hi,
                              environments=envs)
        dep_df, inc_df = pl.collect_all([deps, incs], engine="in-memory")
        pair_df = pairing.result()
    lo, hi = resolve_period(dep_df.lazy(), lo, hi, tz)
    return Facts(dep_df, inc_df, pair_df, attribution, lo, hi, window, envs, tz)


def summarize(facts: Facts, *, by: Sequence[str] = (), every: str | None = None) -> pl.DataFrame:
    """One row per slice with every KPI, its counts and ``small_sample``.

    >>> from analytics.metrics import frames as fr
    >>> f = build_facts(fr.empty(fr.DEPLOYMENT_COLUMNS), fr.empty(fr.CHANGE_COLUMNS),
    ...                 fr.empty(fr.INCIDENT_COLUMNS))
    >>> summarize(f).select("deployments", "cfr", "mttr_n").row(0)
    (0, None, 0)
    """
    keys = group_keys(by, every)
    lo, hi, tz = facts.start, facts.end, facts.tz
    deps = with_period(facts.deployments.lazy(), "finished_at", every, tz)
    pairs = facts.lead_pairs.lazy()
    # Pairs carry only the deployment id, unless :func:`with_pair_keys` added slice keys.
    carried = [k for k in keys if k != "period" and k not in facts.lead_pairs.columns]
    if carried:
        pairs = pairs.join(facts.deployments.lazy().select(
            pl.col("id").alias("deployment_id"), *carried), on="deployment_id", how="left")
    pairs = with_period(pairs, "finished_at", every, tz)
    incs = with_period(facts.incidents.lazy(), "opened_at", every, tz)
    parts = pl.collect_all([
        frequency_from_scoped(deps, keys=keys, lo=lo, hi=hi, every=every, tz=tz),
        aggregate(deps, keys, deployment_aggs() + catalogue.aggregations("deployments")),
        aggregate(pairs, keys, lead_time_aggs()),
        aggregate(incs, keys, incident_aggs() + catalogue.aggregations("incidents")),
    ])
    out = parts[0]
    for part in parts[1:]:
        out = (out.join(part, on=keys, how="full", coalesce=True, nulls_equal=True)
               if keys else pl.concat([out, part], how="horizontal"))
    days = span_days(keys, lo, hi, every, tz)
    n = pl.col("deployments")
    out = out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS).with_columns(
        days.alias("days"),
        pl.when(n == 0).then(0.0).otherwise(n / days).alias("deploys_per_day"),
        pl.when(n == 0).then(0.0).otherwise(n / days * 7).alias("deploys_per_week"),
        pl.when(days.is_not_null()).then(pl.col("deploy_days_per_week_median").fill_null(0.0))
        .alias("deploy_days_per_week_median"),
        ((n < SMALL_DEPLOYMENTS) | (pl.col("incidents") < SMALL_INCIDENTS)).alias("small_sample"),
    )
    if keys:
        out = out.sort(keys, nulls_last=True)
    if "service" in keys:
        out = _with_service_attributes(out, facts, keys)
    return out


def with_pair_keys(facts: Facts, keys: Sequence[str]) -> Facts:
    """``facts`` whose lead-time pairs carry their deployment's ``keys`` (slice columns), joined
    once: several :func:`summarize` calls then reuse them instead of joining millions of pairs
    each time."""
    wanted = [k for k in keys if k not in facts.lead_pairs.columns]
    if not wanted:
        return facts
    pairs = facts.lead_pairs.join(facts.deployments.select(
        pl.col("id").alias("deployment_id"), *wanted), on="deployment_id", how="left")
    return replace(facts, lead_pairs=pairs)


def _with_service_attributes(out: pl.DataFrame, facts: Facts, keys: list[str]) -> pl.DataFrame:
    attrs = [c for c in ("team", "tier", "criticality") if c not in keys]
    if not attrs:
        return out
    cols = ["service", *attrs]
    lookup = (pl.concat([facts.deployments.select(cols), facts.incidents.select(cols)])
              .filter(pl.col("service").is_not_null()).unique("service", keep="first"))
    return out.join(lookup, on="service", how="left").select(
        *keys, *attrs, pl.exclude(*keys, *attrs))


def figures(row: dict[str, Any], band_year: int = DEFAULT_YEAR) -> dict[str, Any]:
    """The JSON figures of one summary row (issue 4 key names), with DORA bands."""
    lead, rec = row["lead_time_median"], row["recovery_median"]
    return {
        "deployments": row["deployments"],
        "deploys_per_day": row["deploys_per_day"],
        "deploys_per_week": row["deploys_per_week"],
        "deploy_days_per_week_median": row["deploy_days_per_week_median"],
        "lead_time_hours": {"median": lead, "p75": row["lead_time_p75"],
                            "p90": row["lead_time_p90"], "n": row["lead_time_n"]},
        "change_failure_rate": {"value": row["cfr"], "failed": row["cfr_failed"],
                                "deployments": row["cfr_deployments"],
                                "ci_low": row["cfr_ci_low"], "ci_high": row["cfr_ci_high"]},
        "recovery_time_hours": {"median": rec, "p90": row["recovery_p90"],
                                "n": row["recovery_n"]},
        "incidents": row["incidents"],
        "mttr_hours": {"median": row["mttr_median"], "mean": row["mttr_mean"],
                       "n": row["mttr_n"]},
        "time_to_detect_hours": {"median": row["ttd_median"], "n": row["ttd_n"]},
        "rework_rate": row["rework_rate"],
        "rollback_rate": row["rollback_rate"],
        "incident_recurrence_rate": row["recurrence_rate"],
        "incident_recurrence_basis": row.get("recurrence_basis") or "problem_id",
        **{k.figure: row.get(k.column) for k in catalogue.computed()},
        "attribution": {r: row[r] for r in ("explicit", "window", "unattributed")},
        "bands": {
            "lead_time": band("lead_time", lead, band_year),
            "deployment_frequency": band("deployment_frequency",
                                         row["deploys_per_day"] if row["days"] else None,
                                         band_year),
            "change_failure_rate": band("change_failure_rate", row["cfr"], band_year),
            "recovery_time": band("recovery_time", rec, band_year),
        },
        "small_sample": row["small_sample"],
    }


def delivery_report(deployments: Frame, changes: Frame, incidents: Frame,
                    attribution: pl.DataFrame | None = None, *,
                    start: date | datetime | None = None, end: date | datetime | None = None,
                    window_hours: float = DEFAULT_WINDOW_HOURS,
                    environments: Sequence[str] | None = PRODUCTION,
                    band_year: int = DEFAULT_YEAR, tz: str = "UTC") -> dict[str, Any]:
    """The delivery report for a period: overall figures, ``period`` (inclusive days, in zone
    ``tz``) and ``by_service`` rows.

    An empty period gives zero counts and null medians/rates, not an error.
    """
    facts = build_facts(deployments, changes, incidents, attribution, start=start, end=end,
                        window_hours=window_hours, environments=environments, tz=tz)
    return report_of(facts, band_year)


def local_day(instant: datetime | None, tz: str) -> date | None:
    """The local calendar day (in ``tz``) of a naive-UTC instant.

    >>> local_day(datetime(2026, 10, 31, 10), "Pacific/Kiritimati")
    datetime.date(2026, 11, 1)
    """
    if instant is None:
        return None
    return pl.select(to_local(pl.lit(instant, dtype=pl.Datetime("us")), tz)).item().date()


def report_of(facts: Facts, band_year: int = DEFAULT_YEAR) -> dict[str, Any]:
    """The report dict of :func:`delivery_report` from already computed facts."""
    overall = summarize(facts).row(0, named=True)
    per_service = summarize(facts, by=("service",))
    report: dict[str, Any] = {
        "period": {"from": local_day(facts.start, facts.tz),
                   "to": local_day(facts.end - timedelta(microseconds=1), facts.tz)
                   if facts.end else None,
                   "days": overall["days"],
                   "environments": list(facts.environments) if facts.environments else None,
                   "window_hours": facts.window_hours, "band_year": band_year},
        **figures(overall, band_year),
    }
    report["by_service"] = [
        {"service": r["service"], "team": r["team"], "tier": r["tier"],
         "criticality": r["criticality"], **figures(r, band_year)}
        for r in per_service.iter_rows(named=True)]
    return report
