"""The records behind a delivery number: which rows of the report's fact tables a KPI counts.

Pages show these (bounded) when a reader asks "which deployments make up this CFR?"; each
kind's rows are exactly the ones :func:`analytics.metrics.delivery_report.summarize` counts for
the KPI named in its label, so a drill-down's row count equals the tile's count. The tickets
and CSAT answers after releases are the rows :mod:`analytics.metrics.scorecard` counts.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from analytics.metrics.delivery_report import Facts
from analytics.metrics.frames import SLICE_COLUMNS, Frame
from analytics.metrics.scorecard import flag_csat, flag_tickets

DEPLOYMENT_VIEW = ("id", "service", "team", "tier", "criticality", "environment", "finished_at",
                   "status", "unplanned", "failed", "incidents", "recovery_hours",
                   "next_success_at")
INCIDENT_VIEW = ("id", "service", "team", "tier", "criticality", "environment", "severity",
                 "opened_at", "detected_at", "resolved_at", "customer_facing", "restore_hours",
                 "rule", "deployment_id", "detect_hours", "recurred", "customer_minutes")
LEAD_VIEW = ("deployment_id", "service", "team", "environment", "committed_at", "finished_at",
             "lead_hours")
# kind → (fact table, row filter, the summary count it equals)
KINDS: dict[str, tuple[str, pl.Expr | None, str]] = {
    "deployments": ("deployments", None, "deployments"),
    "failed deployments": ("deployments", pl.col("failed"), "cfr_failed"),
    "recovery times": ("deployments", pl.col("recovery_hours").is_not_null(), "recovery_n"),
    "rolled-back deployments": ("deployments", pl.col("status") == "rolled_back", None),
    "unplanned deployments": ("deployments", pl.col("unplanned").fill_null(False), None),
    "lead-time pairs": ("lead_pairs", None, "lead_time_n"),
    "incidents": ("incidents", None, "incidents"),
    "restore times": ("incidents", pl.col("restore_hours").is_not_null(), "mttr_n"),
    "detect times": ("incidents", pl.col("detect_hours").is_not_null(), "ttd_n"),
    "explicit": ("incidents", pl.col("rule") == "explicit", "explicit"),
    "window": ("incidents", pl.col("rule") == "window", "window"),
    "unattributed": ("incidents", pl.col("rule") == "unattributed", "unattributed"),
    "recurring incidents": ("incidents", pl.col("recurred"), None),
    "customer-facing incidents": (
        "incidents", (pl.col("rule") != "unattributed") & (pl.col("customer_minutes") > 0), None),
}
TICKET_VIEW = ("id", "service", "team", "tier", "criticality", "opened_at", "closed_at",
               "severity", "channel", "related_incident_id", "release_id", "release_at")
CSAT_VIEW = ("id", "service", "team", "tier", "criticality", "responded_at", "score", "nps",
             "segment", "related_deployment_id", "release_id", "release_at")
# kind → (flagging function, timestamp, view); rows are the ones the scorecard counts as
# tickets_after_releases / csat_after_releases_n.
AFTER_RELEASE_KINDS = {
    "tickets after releases": (flag_tickets, "opened_at", TICKET_VIEW),
    "CSAT after releases": (flag_csat, "responded_at", CSAT_VIEW),
}


def _checked(where: dict[str, Any] | None, limit: int | None) -> dict[str, Any]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit: expected a positive whole number, got {limit!r}")
    where = dict(where or {})
    bad = [k for k in where if k not in SLICE_COLUMNS]
    if bad:
        raise ValueError(f"where: unknown slice key(s) {', '.join(bad)}; "
                         f"use {', '.join(SLICE_COLUMNS)}")
    return where


def _sliced(frame: pl.DataFrame, where: dict[str, Any], view: tuple[str, ...], ts: str,
            limit: int | None) -> tuple[pl.DataFrame, int]:
    for key, value in where.items():
        frame = frame.filter(pl.col(key).is_null() if value is None else pl.col(key) == value)
    frame = frame.select([c for c in view if c in frame.columns]).sort(ts, descending=True)
    return (frame.head(limit) if limit is not None else frame), frame.height


def records(facts: Facts, kind: str, *, where: dict[str, Any] | None = None,
            limit: int | None = None) -> tuple[pl.DataFrame, int]:
    """The rows behind ``kind`` (a key of :data:`KINDS`) in the slice ``where`` (slice key →
    value), newest first, at most ``limit`` of them, and the total row count.

    >>> from analytics.metrics import frames as fr
    >>> from analytics.metrics.delivery_report import build_facts
    >>> f = build_facts(fr.empty(fr.DEPLOYMENT_COLUMNS), fr.empty(fr.CHANGE_COLUMNS),
    ...                 fr.empty(fr.INCIDENT_COLUMNS))
    >>> records(f, "failed deployments")[1]
    0
    """
    if kind not in KINDS:
        raise ValueError(f"kind: unknown {kind!r}; choose one of {', '.join(KINDS)}")
    where = _checked(where, limit)
    table, keep, _ = KINDS[kind]
    frame = getattr(facts, table)
    if table == "lead_pairs":  # pairs carry the deployment id (and maybe some slice keys)
        keys = [k for k in SLICE_COLUMNS if k not in frame.columns]
        frame = frame.join(facts.deployments.select(pl.col("id").alias("deployment_id"), *keys),
                           on="deployment_id", how="left")
    if keep is not None:
        frame = frame.filter(keep)
    view = {"deployments": DEPLOYMENT_VIEW, "incidents": INCIDENT_VIEW,
            "lead_pairs": LEAD_VIEW}[table]
    return _sliced(frame, where, view, "opened_at" if table == "incidents" else "finished_at",
                   limit)


def after_release_records(facts: Facts, events: Frame, kind: str, *,
                          where: dict[str, Any] | None = None, limit: int | None = None,
                          ) -> tuple[pl.DataFrame, int]:
    """The tickets or CSAT answers (``events``, as ``queries.tickets`` / ``queries.csat``
    read them, reaching ``window_hours`` past the period) that the scorecard counts as
    following a release, for ``kind`` a key of :data:`AFTER_RELEASE_KINDS`: newest first, at
    most ``limit``, with the release each followed, and the total row count.

    >>> from analytics.metrics import frames as fr
    >>> from analytics.metrics.delivery_report import build_facts
    >>> f = build_facts(fr.empty(fr.DEPLOYMENT_COLUMNS), fr.empty(fr.CHANGE_COLUMNS),
    ...                 fr.empty(fr.INCIDENT_COLUMNS))
    >>> t = pl.DataFrame(schema={"service_id": pl.Int64, "service": pl.String,
    ...     "team": pl.String, "criticality": pl.Int64, "opened_at": pl.Datetime("us")})
    >>> after_release_records(f, t, "tickets after releases")[1]
    0
    """
    if kind not in AFTER_RELEASE_KINDS:
        raise ValueError(f"kind: unknown {kind!r}; choose one of "
                         f"{', '.join(AFTER_RELEASE_KINDS)}")
    where = _checked(where, limit)
    flag, ts, view = AFTER_RELEASE_KINDS[kind]
    frame = flag(facts, events).filter(pl.col("after_release")).collect()
    missing = [k for k in where if k not in frame.columns]
    if missing:
        raise ValueError(f"where: {kind} have no {', '.join(missing)}")
    return _sliced(frame, where, view, ts, limit)
