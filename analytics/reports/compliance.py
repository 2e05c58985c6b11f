"""Compliance lists: what an auditor asks for first.

1. **Customer-facing outages without a post-mortem**: incidents opened in the period (in the
   filters' environment, production by default) flagged ``customer_facing`` AND ``outage`` whose
   ``postmortem_url`` is empty (null or blank).
2. **Emergency fixes not validated within 72 h**: emergency deployments finished in the period
   (:func:`analytics.studies.gates.pending_validations` against the emergency-validation ledger):
   ``overdue`` = no validation and more than 72 h since the finish; ``late`` = validated, but
   after the 72 h; ``pending`` (within its 72 h, not yet validated) is counted, not listed as a
   breach.
3. **Changes deployed without an approved change request where one was required**: the rule is
   :data:`CHANGE_RULE` (data). The store keeps no approval flag on a change request, so "approved"
   means: linked, its outcome is not a refusal (:attr:`ChangeRule.refused_outcomes`), and it was
   opened before the deployment started (a change request raised afterwards is not an approval).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import Engine

from analytics.reports import periods
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.store.validations import validated_deployments
from analytics.studies.gates import VALIDATION_DEADLINE, pending_validations


@dataclass(frozen=True)
class ChangeRule:
    """When a production deployment needs an approved change request."""

    environment: str = "production"
    tiers: tuple[str, ...] = ("gold",)
    max_criticality: int = 1  # criticality 1 (most critical) … 4
    refused_outcomes: tuple[str, ...] = ("rejected", "cancelled", "canceled", "not approved",
                                         "denied", "withdrawn")

    def sentence(self) -> str:
        """The rule as one sentence for the page and the JSON.

        >>> ChangeRule().sentence()[:60]
        'A production deployment (not a rollback) of a service in tie'
        """
        return (f"A {self.environment} deployment (not a rollback) of a service in tier "
                f"{' or '.join(self.tiers)}, or of criticality ≤ {self.max_criticality}, needs a "
                "change request that is linked, opened before the deployment started, and not "
                f"refused (outcome {', '.join(self.refused_outcomes)}).")


CHANGE_RULE = ChangeRule()


@dataclass(frozen=True)
class Compliance:
    """The three lists (frames) and what they were computed against."""

    at: datetime
    outages_without_postmortem: pl.DataFrame
    emergency_unvalidated: pl.DataFrame  # status overdue | late
    emergency_pending: int
    emergency_total: int
    unapproved_changes: pl.DataFrame
    changes_required: int
    rule: str = CHANGE_RULE.sentence()
    notes: list[str] = field(default_factory=list)
    # The release gate's emergency bypasses decided in the period, each with its 72 h item's status
    # (validated, late, overdue, pending): the same ledger the emergency validations close.
    gate_bypasses: pl.DataFrame = field(default_factory=pl.DataFrame)

    def counts(self) -> dict[str, int]:
        """The three headline counts."""
        return {"outages_without_postmortem": self.outages_without_postmortem.height,
                "emergency_unvalidated": self.emergency_unvalidated.height,
                "unapproved_changes": self.unapproved_changes.height}


def outages_without_postmortem(incidents: pl.DataFrame) -> pl.DataFrame:
    """Customer-facing outages whose post-mortem link is empty, oldest first."""
    url = pl.col("postmortem_url").cast(pl.String).str.strip_chars()
    return (incidents.filter(pl.col("customer_facing") & pl.col("outage")
                             & (url.is_null() | (url == "")))
            .sort("opened_at", "id")
            .select("id", "external_id", "service", "severity", "title", "opened_at", "resolved_at"))


def emergency_lists(deployments: pl.DataFrame, validations: pl.DataFrame,
                    at: datetime) -> tuple[pl.DataFrame, int, int]:
    """(overdue and late rows, pending count, emergency total) for ``deployments`` in scope."""
    # An empty period reads untyped frames: type the join keys so the lists come out empty.
    deployments = deployments.cast({"id": pl.Int64})
    validations = validations.cast({"deployment_id": pl.Int64})
    emergency = deployments.filter(pl.col("emergency") & (pl.col("environment") == "production")
                                   & pl.col("finished_at").is_not_null())
    validated = set(validations["deployment_id"].to_list())
    open_ = pending_validations(deployments, validated, at)
    overdue = open_.filter(pl.col("overdue")).select(
        "id", "service", "finished_at", "due", validated_at=pl.lit(None, pl.Datetime("us")),
        validated_by=pl.lit(None, pl.String), status=pl.lit("overdue"))
    late = (emergency.join(validations, left_on="id", right_on="deployment_id", how="inner")
            .with_columns(due=pl.col("finished_at") + VALIDATION_DEADLINE)
            .filter(pl.col("validated_at") > pl.col("due"))
            .select("id", "service", "finished_at", "due", "validated_at", "validated_by",
                    status=pl.lit("late")))
    rows = pl.concat([overdue, late]).sort("finished_at", "id")
    ext = emergency.select("id", "external_id")
    rows = rows.join(ext, on="id", how="left").select(
        "id", "external_id", "service", "finished_at", "due", "status", "validated_at", "validated_by")
    return rows, open_.filter(~pl.col("overdue")).height, emergency.height


def picked_deployment(rows: pl.DataFrame, picked: int | str) -> int:
    """The deployment id of a picked list option (an id), or of a typed id or external id
    among ``rows`` (the overdue emergency fixes); ValueError with a plain sentence otherwise.

    >>> rows = pl.DataFrame({"id": [7, 9], "external_id": ["d7", "hotfix-9"]})
    >>> picked_deployment(rows, 7), picked_deployment(rows, " hotfix-9 "), picked_deployment(rows, "7")
    (7, 9, 7)
    """
    if isinstance(picked, int):
        return picked
    text = str(picked).strip()
    found = rows.filter((pl.col("external_id") == text)
                        | (pl.col("id").cast(pl.String) == text))["id"]
    if found.is_empty():
        raise ValueError(f"No overdue emergency fix has the id or external id {text!r}.")
    return int(found[0])


def change_requests(engine: Engine, linked: pl.Series | None = None) -> pl.DataFrame:
    """Change requests with the fields the approval rule reads (only the band of ids
    ``linked`` points to, when given: :func:`analytics.store.queries.change_requests`)."""
    return queries.change_requests(engine, "id AS change_request_id, external_id AS change_request, "
                                   "outcome, cab_required, opened_at AS cr_opened_at", linked)


def unapproved_changes(deployments: pl.DataFrame, crs: pl.DataFrame,
                       rule: ChangeRule = CHANGE_RULE) -> tuple[pl.DataFrame, int]:
    """(deployments breaking ``rule`` with the reason, deployments the rule applies to)."""
    required = deployments.filter(
        (pl.col("environment") == rule.environment) & ~pl.col("is_rollback")
        & pl.col("finished_at").is_not_null()
        & (pl.col("tier").is_in(list(rule.tiers)) | (pl.col("criticality") <= rule.max_criticality)))
    joined = required.join(crs, on="change_request_id", how="left")
    outcome = pl.col("outcome").cast(pl.String).str.strip_chars().str.to_lowercase()
    reason = (pl.when(pl.col("change_request_id").is_null()).then(pl.lit("no change request"))
              .when(pl.col("change_request").is_null()).then(pl.lit("linked change request not found"))
              .when(outcome.is_in(list(rule.refused_outcomes))).then(pl.lit("change request refused"))
              .when(pl.col("cr_opened_at").is_not_null() & pl.col("started_at").is_not_null()
                    & (pl.col("cr_opened_at") > pl.col("started_at")))
              .then(pl.lit("change request opened after the deployment started")))
    out = (joined.with_columns(reason=reason).filter(pl.col("reason").is_not_null())
           .sort("finished_at", "id")
           .select("id", "external_id", "service", "tier", "criticality", "emergency", "started_at",
                   "finished_at", "change_request", "outcome", "cab_required", "reason"))
    return out, required.height


def compliance(engine: Engine, filters: Filters | None = None, *,
               at: datetime | None = None) -> Compliance:
    """The three compliance lists for events in ``filters``' period, judged at ``at`` (naive
    UTC, default now)."""
    filters, _note = periods.fill(engine, filters or Filters(environment="production"))
    at = at or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    incidents = queries.incidents(engine, filters)
    deployments = queries.deployments(engine, filters)
    emergency, pending, total = emergency_lists(deployments, validated_deployments(engine), at)
    unapproved, required = unapproved_changes(
        deployments, change_requests(engine, deployments["change_request_id"]))
    return Compliance(at=at, outages_without_postmortem=outages_without_postmortem(incidents),
                      emergency_unvalidated=emergency, emergency_pending=pending,
                      emergency_total=total, unapproved_changes=unapproved,
                      changes_required=required, gate_bypasses=gate_bypasses(engine, filters, at))


def gate_bypasses(engine: Engine, filters: Filters, at: datetime) -> pl.DataFrame:
    """Gate bypasses decided in ``filters``' period (whole days, naive UTC), oldest first."""
    from datetime import time, timedelta

    from analytics.store.bypasses import bypass_items

    items = bypass_items(engine, at)
    if filters.start is not None:
        items = items.filter(pl.col("decided_at") >= datetime.combine(filters.start, time()))
    if filters.end is not None:
        items = items.filter(pl.col("decided_at")
                             < datetime.combine(filters.end, time()) + timedelta(days=1))
    return items
