"""Post-incident learning (issue 18 point 5): which incidents were major (business impact, not
only severity), failed-deployment root causes by category over time with the checklist item
each would have caught, and services whose recovery exceeds their MTTR target by more than 30%.

The rules are data: ``analytics/loop/learning.toml``. Failed deployments and their attributed
incidents come from the delivery facts (REFERENCE §1, §1.1); a failed deployment's category is
the most frequent root cause of its attributed incidents ("unknown" without one).
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from scipy.stats import binomtest
from sqlalchemy import Engine

from analytics.reports import NoData
from analytics.store import queries
from analytics.store.db import read_frame

RULES_FILE = Path(__file__).resolve().parent.parent / "loop" / "learning.toml"
HISTORY_DAYS = 365  # the root-cause trend and escalations look back a year from the period end
CONDITIONS = ("customer_facing", "max_criticality", "min_affected_customers",
              "min_duration_minutes", "max_severity")


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The learning rules (``analytics/loop/learning.toml``)."""
    data = tomllib.loads(RULES_FILE.read_text())
    for rule in data["major"]:
        unknown = set(rule) - {"name", *CONDITIONS}
        if unknown:
            raise ValueError(f"major-incident rule {rule['name']!r}: unknown condition "
                             f"{', '.join(sorted(unknown))}")
    return data


def rule_matches(rule: dict[str, Any]) -> pl.Expr:
    """The polars condition of one major-incident rule (all of its conditions).

    >>> f = pl.DataFrame({"customer_facing": [True, False], "criticality": [1, 1],
    ...                   "affected_customers": [0, 0], "duration_minutes": [90.0, 90.0],
    ...                   "severity": [3, 3]})
    >>> f.select(rule_matches({"customer_facing": True, "max_criticality": 2,
    ...                         "min_duration_minutes": 60}))["rule"].to_list()
    [True, False]
    """
    cond = pl.lit(True)
    if "customer_facing" in rule:
        cond &= pl.col("customer_facing") == rule["customer_facing"]
    if "max_criticality" in rule:
        cond &= pl.col("criticality").fill_null(99) <= rule["max_criticality"]
    if "min_affected_customers" in rule:
        cond &= pl.col("affected_customers") >= rule["min_affected_customers"]
    if "min_duration_minutes" in rule:
        cond &= pl.col("duration_minutes").fill_null(0) >= rule["min_duration_minutes"]
    if "max_severity" in rule:
        cond &= pl.col("severity") <= rule["max_severity"]
    return cond.alias("rule")


def classify_major(incidents: pl.DataFrame, *, now: datetime,
                   rules_: list[dict[str, Any]] | None = None) -> pl.DataFrame:
    """``incidents`` (with ``affected_customers``) plus ``duration_minutes``, ``major`` and
    ``major_rules`` (the names of the rules that matched)."""
    rules_ = rules()["major"] if rules_ is None else rules_
    end = pl.coalesce(pl.col("resolved_at"), pl.lit(now, dtype=pl.Datetime("us")))
    frame = incidents.with_columns(
        duration_minutes=(end - pl.col("opened_at")).dt.total_seconds() / 60)
    names = [pl.when(rule_matches(r)).then(pl.lit(r["name"])) for r in rules_]
    return frame.with_columns(major_rules=pl.concat_list(names).list.drop_nulls()).with_columns(
        major=pl.col("major_rules").list.len() > 0)


def major_incidents(engine: Engine, filters: queries.Filters) -> pl.DataFrame:
    """Every incident of the period with its major flag and the rules that made it major."""
    inc = queries.incidents(engine, filters)
    if inc.height == 0:
        raise NoData("No incidents in this period for these filters.")
    affected = _affected_customers(engine)
    inc = inc.join(affected, on="id", how="left").with_columns(
        pl.col("affected_customers").fill_null(0))
    now = queries.local_midnight_utc(filters.end, "UTC") if filters.end else datetime.now()
    out = classify_major(inc, now=now)
    return out.select("id", "external_id", "service", "team", "criticality", "severity",
                      "customer_facing", "affected_customers", "duration_minutes", "opened_at",
                      "major", "major_rules", "postmortem_url")


def _affected_customers(engine: Engine) -> pl.DataFrame:
    """Distinct customers of the tickets related to each incident (``id``,
    ``affected_customers``): from the read copy's tickets when it is current (a Parquet scan of
    two columns instead of a SQL scan of every ticket, 5.8M at scale 30), else SQL."""
    from analytics.store.copyscan import scan

    lazy = scan(engine, "tickets")
    if lazy is not None:
        affected = (lazy.filter(pl.col("related_incident_id").is_not_null())
                    .group_by(pl.col("related_incident_id").alias("id"))
                    # count(DISTINCT) leaves NULL out
                    .agg(affected_customers=pl.col("customer_id").drop_nulls().n_unique())
                    .collect())
    else:
        affected = read_frame(engine, "SELECT related_incident_id AS id, count(DISTINCT "
                                      "customer_id) AS affected_customers FROM ticket WHERE "
                                      "related_incident_id IS NOT NULL GROUP BY "
                                      "related_incident_id")
    return affected.cast({"id": pl.Int64, "affected_customers": pl.Int64})


def failed_root_causes(data: Any) -> pl.DataFrame:
    """One row per failed deployment of the facts: id, service, team, finished_at, category."""
    deps = data.deployments.filter(pl.col("failed"))
    causes = (data.incidents.filter(pl.col("deployment_id").is_not_null())
              .group_by("deployment_id", "root_cause").agg(pl.len().alias("n"))
              .sort("n", "root_cause", descending=[True, False])
              .group_by("deployment_id", maintain_order=True).first()
              .select(pl.col("deployment_id").alias("id"),
                      pl.col("root_cause").alias("category")))
    return (deps.join(causes, on="id", how="left")
            .with_columns(pl.col("category").fill_null("unknown"))
            .select("id", "service", "team", "finished_at", "category"))


def root_cause_trend(failed: pl.DataFrame, *, start: datetime | None = None,
                     end: datetime | None = None,
                     recent_months: int | None = None, alpha: float | None = None,
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(monthly counts per category, per-category summary). The summary has the counts of the
    last ``recent_months`` whole months (months ``start`` or ``end`` cut short are left out)
    and the ones before, the one-sided exact binomial p-value of "more recently" (None when the
    history holds fewer than ``2 × recent_months`` whole months), ``rising`` and the checklist
    item that would have caught the category."""
    cfg = rules()["trend"]
    recent_months = recent_months or cfg["recent_months"]
    alpha = alpha or cfg["alpha"]
    monthly = (failed.with_columns(month=pl.col("finished_at").dt.truncate("1mo").dt.date())
               .group_by("month", "category").agg(pl.len().alias("failed_deployments"))
               .sort("month", "category"))
    if end is not None and end.day != 1:  # the period ends inside its last month
        monthly = monthly.filter(pl.col("month") < end.date().replace(day=1))
    if start is not None and start.day != 1:  # ...or starts inside its first
        monthly = monthly.filter(pl.col("month") > start.date())
    months = sorted(monthly["month"].unique().to_list())
    recent = set(months[-recent_months:])
    before = set(months[-2 * recent_months:-recent_months])
    # Too short a history has no "before" to compare with: no test rather than a false alarm.
    testable = len(before) == recent_months
    checklist = rules()["checklist"]
    rows = []
    for cat in sorted(monthly["category"].unique().to_list()):
        part = monthly.filter(pl.col("category") == cat)
        k1 = int(part.filter(pl.col("month").is_in(list(recent)))["failed_deployments"].sum())
        k0 = int(part.filter(pl.col("month").is_in(list(before)))["failed_deployments"].sum())
        p = (binomtest(k1, k1 + k0, 0.5, alternative="greater").pvalue
             if testable and k1 + k0 else None)
        rows.append({"category": cat, "recent": k1, "before": k0,
                     "p_value": None if p is None else float(p),
                     "rising": bool(p is not None and p < alpha and k1 > k0),
                     "checklist_item": checklist.get(cat, checklist.get("unknown", ""))})
    summary = pl.DataFrame(rows, schema={"category": pl.String, "recent": pl.Int64,
                                         "before": pl.Int64, "p_value": pl.Float64,
                                         "rising": pl.Boolean, "checklist_item": pl.String})
    return monthly, summary


def history(filters: queries.Filters) -> queries.Filters:
    """The filters widened to at least :data:`HISTORY_DAYS` before their end (production)."""
    from datetime import timedelta

    start = filters.start
    if filters.end is not None:
        floor = filters.end - timedelta(days=HISTORY_DAYS - 1)
        start = floor if start is None or start > floor else start
    return replace(filters, start=start, environment="production")


def mttr_target_check(engine: Engine, filters: queries.Filters) -> pl.DataFrame:
    """Per service: MTTR (median restore hours) over the configured months against its tier's
    MTTR commitment; ``exceeds`` when the median > commitment × (1 + margin)."""
    from analytics.reports.delivery import mttr_baselines

    cfg = rules()["mttr"]
    rows = mttr_baselines(engine, replace(filters, environment="production"),
                          months=cfg["months"])
    return rows.with_columns(
        excess=pl.col("p50_hours") / pl.col("commitment_hours") - 1,
    ).with_columns(exceeds=pl.col("excess") > cfg["margin"]).select(
        "service", "team", "tier", "n", "p50_hours", "p80_hours", "commitment_hours", "excess",
        "exceeds", "small_sample", "since", "as_of")
