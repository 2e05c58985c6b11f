"""Incident → deployment attribution (REFERENCE §1.1), with the rule that made each link.

Rules, first that applies wins:

1. ``explicit``: the incident names its deployment (``caused_by_deployment_id``), or a change
   request / root-cause commit that an in-scope deployment shipped;
2. ``window``: the latest in-scope deployment of the same service and environment that finished
   strictly before the incident opened, at most ``window_hours`` earlier (default 48 h);
3. ``unattributed``: neither; the incident stays in the output (never silently dropped).

Ties (REFERENCE §1.1): deployments are ordered by ``finished_at``, then ``external_id``
ascending (then ``id``); "the latest before" is the last deployment in that order, so of two
deployments of a service sharing ``finished_at`` the one with the larger external id is taken,
whatever the row order of the input. Storing the links is :mod:`analytics.store.attributions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import polars as pl

from analytics.metrics.delivery import PRODUCTION, one_per_key, scope, service_keys, tie_order
from analytics.metrics.frames import INCIDENT_COLUMNS, INT, STR, Frame, conform, hours
from analytics.settings import DEFAULT_WINDOW_HOURS  # the constant only: settings are not read

RULES = ("explicit", "window", "unattributed")
ATTRIBUTION_SCHEMA = {"incident_id": pl.Int64, "deployment_id": pl.Int64, "rule": pl.String,
                      "gap_hours": pl.Float64}


def check_window(window_hours: Any) -> float:
    """``window_hours`` as a float, or a ValueError naming the field."""
    if isinstance(window_hours, bool) or not isinstance(window_hours, int | float):
        raise ValueError(f"window_hours: expected a number of hours, got {window_hours!r}")
    if not window_hours > 0:
        raise ValueError(f"window_hours: must be positive, got {window_hours}")
    return float(window_hours)


def _linked(inc: pl.LazyFrame, cands: pl.LazyFrame, key: str, link: str) -> pl.LazyFrame:
    """Resolve a link key to the latest candidate deployment shipped under it, by ``opened_at``."""
    left = inc.filter(pl.col(link).is_not_null()).select("id", "opened_at", pl.col(link).alias(key))
    right = cands.filter(pl.col(key).is_not_null()).select(key, "finished_at",
                                                          pl.col("id").alias(f"{link}_dep"))
    # The explicit link wins even when its deployment finished after the incident opened (clock
    # skew, slow rollout): then the first such deployment is taken.
    before = left.sort("opened_at").join_asof(
        right.sort("finished_at"), left_on="opened_at", right_on="finished_at", by=key,
        strategy="backward", check_sortedness=False)
    after = left.sort("opened_at").join_asof(
        right.sort("finished_at"), left_on="opened_at", right_on="finished_at", by=key,
        strategy="forward", check_sortedness=False)
    return (before.select("id", f"{link}_dep")
            .join(after.select("id", pl.col(f"{link}_dep").alias("_after")), on="id")
            .select("id", pl.coalesce(f"{link}_dep", "_after").alias(f"{link}_dep")))


def attribute(incidents: Frame, deployments: Frame, changes: Frame | None = None, *,
              window_hours: float = DEFAULT_WINDOW_HOURS,
              environments: Sequence[str] | None = PRODUCTION) -> pl.DataFrame:
    """One row per incident: ``incident_id``, ``deployment_id`` (null if unattributed), ``rule``
    and ``gap_hours`` (incident opened − deployment finished, when known).

    ``deployments`` must reach back ``window_hours`` before the first incident; ``changes``
    (``commit_id``, ``deployment_id``) resolves root-cause commits and is optional.
    """
    window = check_window(window_hours)
    inc = conform(incidents, "incidents", INCIDENT_COLUMNS,
                  optional={"caused_by_change_request_id": INT, "root_cause_commit": STR},
                  ).collect()
    cand_cols = ["id", "service_id", "environment", "finished_at"]
    scoped = scope(deployments, environments=environments,
                   optional={"change_request_id": INT, "external_id": STR})
    schema = scoped.collect_schema()
    has_cr = "change_request_id" in schema
    extra = ["change_request_id"] * has_cr + ["external_id"] * ("external_id" in schema)
    # In-memory engine: its sort of a million deployments costs a third of the streaming one's.
    cands = tie_order(scoped.select(cand_cols + extra), ["finished_at"]).collect(
        engine="in-memory")
    explicit = [pl.col("caused_by_deployment_id")]
    links = inc.lazy()
    if has_cr and "caused_by_change_request_id" in inc.columns:
        links = links.join(_linked(inc.lazy(), cands.lazy(), "change_request_id",
                                   "caused_by_change_request_id"), on="id", how="left")
        explicit.append(pl.col("caused_by_change_request_id_dep"))
    if changes is not None and "root_cause_commit" in inc.columns:
        wanted = inc["root_cause_commit"].drop_nulls().unique().implode()
        commits = (conform(changes, "changes", {"commit_id": STR, "deployment_id": INT})
                   .filter(pl.col("commit_id").is_in(wanted))
                   .join(cands.lazy().select("id", "finished_at"), left_on="deployment_id",
                         right_on="id", how="inner")
                   .select("commit_id", "finished_at", pl.col("deployment_id").alias("id")))
        links = links.join(_linked(inc.lazy(), commits, "commit_id", "root_cause_commit"),
                           on="id", how="left")
        explicit.append(pl.col("root_cause_commit_dep"))
    by = service_keys(environments)
    left = inc.lazy().select("id", "service_id", "environment", "opened_at")
    if by == ["service_id"]:  # one environment in scope: only its incidents can match
        left = left.filter(pl.col("environment").is_in(list(environments or ())))
    # One candidate per (service, instant): the last in (finished_at, external id) order, so
    # the as-of join has unique keys and its answer does not depend on row order. ``cands``
    # is in that order already: within a service the same order, and no sort by service
    # first (a multi-key sort of a million rows cost more than the rest of the join).
    right = (one_per_key(cands.lazy(), [*by, "finished_at"], "last")
             .select(*by, "finished_at", pl.col("id").alias("window_dep")))
    windowed = (left.sort("opened_at")
                .join_asof(right, left_on="opened_at", right_on="finished_at", by=by,
                           strategy="backward", tolerance=timedelta(hours=window),
                           allow_exact_matches=False, check_sortedness=False)
                .select("id", "window_dep"))
    out = (links.join(windowed, on="id", how="left")
           .with_columns(pl.coalesce(explicit).alias("_explicit"))
           .with_columns(
               pl.coalesce("_explicit", "window_dep").alias("deployment_id"),
               pl.when(pl.col("_explicit").is_not_null()).then(pl.lit("explicit"))
               .when(pl.col("window_dep").is_not_null()).then(pl.lit("window"))
               .otherwise(pl.lit("unattributed")).alias("rule"))
           .join(cands.lazy().select(pl.col("id").alias("deployment_id"), "finished_at"),
                 on="deployment_id", how="left")
           .select(pl.col("id").alias("incident_id"), "deployment_id", "rule",
                   hours(pl.col("opened_at") - pl.col("finished_at")).alias("gap_hours"))
           .sort("incident_id"))
    return out.collect().cast(ATTRIBUTION_SCHEMA)  # type: ignore[arg-type]


def rule_counts(attribution: pl.DataFrame) -> dict[str, int]:
    """``{"explicit": n, "window": n, "unattributed": n}`` for a page tile or the CLI.

    >>> rule_counts(pl.DataFrame({"rule": ["window", "explicit", "window"]}))
    {'explicit': 1, 'window': 2, 'unattributed': 0}
    """
    counts = dict(attribution["rule"].value_counts().iter_rows()) if attribution.height else {}
    return {r: int(counts.get(r, 0)) for r in RULES}
