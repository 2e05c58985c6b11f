"""The KPI catalogue: each KPI's methodology text next to its default thresholds (REFERENCE §1).

This is data, read by the governance views and the CLI; a saved change becomes a new version of
the KPI definition in the store, with who, when and why.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session, select

from analytics.store.models import KpiDefinition

CATALOGUE: dict[str, dict[str, object]] = {
    "deployment_frequency": {
        "name": "Deployment frequency", "unit": "deployments/day", "direction": "higher_is_better",
        "methodology": "Production deployments that reached a final state (success, failed, "
                       "rolled_back) with finished_at in the period, divided by calendar days. "
                       "Rollback actions (is_rollback) are remediations, not deployments.",
        "thresholds": {"warn_below": 0.2}},
    "lead_time": {
        "name": "Lead time for changes", "unit": "hours", "direction": "lower_is_better",
        "methodology": "Over every (deployment, change) pair of a successful production deployment: "
                       "finished_at − committed_at; pairs ≤ 0 dropped; median, p75, p90.",
        "thresholds": {"warn_above": 168}},
    "change_failure_rate": {
        "name": "Change failure rate", "unit": "share", "direction": "lower_is_better",
        "methodology": "Distinct failed deployments ÷ deployments. Failed = status failed or "
                       "rolled_back, or ≥1 incident attributed (explicit link, else the latest "
                       "deployment of the service within the observation window). Wilson 95% CI.",
        "thresholds": {"warn_above": 0.15}},
    "recovery_time": {
        "name": "Failed deployment recovery time", "unit": "hours", "direction": "lower_is_better",
        "methodology": "Per failed deployment: max(resolved_at) of its attributed incidents − "
                       "finished_at; without incidents, the next successful deployment of the "
                       "service − finished_at. Median and p90. (DORA 2023 replaced MTTR with it.)",
        "thresholds": {"warn_above": 24}},
    "mttr": {
        "name": "Mean time to restore", "unit": "hours", "direction": "lower_is_better",
        "methodology": "Production incidents opened in the period: resolved_at − opened_at; "
                       "median and mean, also by severity.",
        "thresholds": {"warn_above": 8}},
    "time_to_detect": {
        "name": "Time to detect", "unit": "hours", "direction": "lower_is_better",
        "methodology": "Attributed incidents: detected_at (opened_at when absent) − the "
                       "deployment's finished_at.",
        "thresholds": {"warn_above": 1}},
    "rework_rate": {
        "name": "Rework rate", "unit": "share", "direction": "lower_is_better",
        "methodology": "Deployments flagged unplanned (made to fix a user-facing defect) ÷ "
                       "deployments (DORA 2024).",
        "thresholds": {"warn_above": 0.1}},
    "rollback_rate": {
        "name": "Rollback frequency", "unit": "share", "direction": "lower_is_better",
        "methodology": "Deployments with status rolled_back ÷ deployments, per service and per "
                       "environment.",
        "thresholds": {"warn_above": 0.05}},
    "incident_recurrence": {
        "name": "Incident recurrence rate", "unit": "share", "direction": "lower_is_better",
        "methodology": "Share of incidents for which another incident of the same service and "
                       "problem_id (or root-cause category when no problem id) was opened in the "
                       "previous 30 days.",
        "thresholds": {"warn_above": 0.2}},
}


def seed_definitions(session: Session, actor: str = "system") -> int:
    """Store version 1 of every catalogue KPI that has no definition yet; return how many."""
    have = set(session.exec(select(KpiDefinition.key)).all())
    now = datetime.now(UTC).replace(microsecond=0)
    added = 0
    for key, kpi in CATALOGUE.items():
        if key in have:
            continue
        session.add(KpiDefinition(key=key, version=1, name=str(kpi["name"]), unit=str(kpi["unit"]),
                                  direction=str(kpi["direction"]), methodology=str(kpi["methodology"]),
                                  thresholds=json.dumps(kpi["thresholds"]), changed_by=actor,
                                  changed_at=now, reason="default from REFERENCE.md"))
        added += 1
    return added
