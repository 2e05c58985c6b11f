"""Hand-made delivery data shared by the delivery/stability/attribution/scorecard tests.

The scenario (hours are offsets from T0 = Monday 2024-01-01 00:00 UTC; the period is
2024-01-01 … 2024-01-14, two ISO weeks, 14 days):

deployments (production unless said)            changes → lead hours
  d1  checkout  h10   success                   c1 h4 → 6, c2 h-14 → 24, c3 h12 → −2 (dropped)
  d2  checkout  h34   failed                    c4 h30 (failed deployment: not counted)
  d3  checkout  h40   success, is_rollback      (a remediation, not a deployment)
  d4  checkout  h60   rolled_back               (no changes)
  d12 checkout  h65   success, is_rollback      (restores d4)
  d5  checkout  h70   success, unplanned        c5 h58 → 12
  d6  search    h30   success                   c6 h30 → 0 (dropped)
  d7  search    h200  success                   c7 h152 → 48
  d8  search    h100  success, staging          (non-production)
  d9  search    h-30  success                   (before the period)
  d10 billing   —     success, never finished   (not a deployment)
  d11 checkout  h400  success                   (after the period)
  d13 ledger    h80   success                   c9 h79 → 1   (ledger has no incidents)

incidents (production unless said): id service opened detected resolved sev link key
  i1 checkout h36  h36.5 h39  1  window d2 (2 h)            problem P1
  i2 checkout h45  —     h50  2  window d2 (11 h; d3 is a rollback)  problem P1 → recurred
  i3 search   h150 —     h151 3  unattributed (d6 is 120 h before)   root cause config
  i4 search   h210 h211  h214 2  explicit d6                 root cause config → recurred
  i5 billing  h100 —     open 2  unattributed (no deployments)       no key
  i6 checkout h-100 —    h-99 3  unattributed, before the period     problem P9
  i7 checkout h20  h20.5 h22  3  window d1 (10 h)            problem P9 → recurred
  i8 search   h101 —     h102 3  staging: out of the production scope
  i9 checkout h34  —     h35  1  window d1 (24 h; d2 finished at the same instant, not before)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

T0 = datetime(2024, 1, 1)
START, END = date(2024, 1, 1), date(2024, 1, 14)
SERVICES = {1: ("checkout", "payments", "gold", 1), 2: ("search", "storefront", "silver", 2),
            3: ("billing", "payments", "bronze", 3), 4: ("ledger", "finance", "gold", 1)}


def h(hours: float | None) -> datetime | None:
    """T0 + hours."""
    return None if hours is None else T0 + timedelta(hours=hours)


def service_cols(service_id: int | None) -> dict[str, Any]:
    """Name, team, tier and criticality columns of a service id (None for unknown)."""
    unknown = (None, None, None, None)
    name, team, tier, crit = SERVICES.get(service_id, unknown)  # type: ignore[arg-type]
    return {"service": name, "team": team, "tier": tier, "criticality": crit}


DEPLOYMENT_SCHEMA = {
    "id": pl.Int64, "service_id": pl.Int64, "service": pl.String, "team": pl.String,
    "tier": pl.String, "criticality": pl.Int64, "environment": pl.String,
    "finished_at": pl.Datetime("us"), "status": pl.String, "is_rollback": pl.Boolean,
    "unplanned": pl.Boolean, "change_request_id": pl.Int64}
INCIDENT_SCHEMA = {
    "id": pl.Int64, "service_id": pl.Int64, "service": pl.String, "team": pl.String,
    "tier": pl.String, "criticality": pl.Int64, "environment": pl.String, "severity": pl.Int64,
    "opened_at": pl.Datetime("us"), "detected_at": pl.Datetime("us"),
    "resolved_at": pl.Datetime("us"), "customer_facing": pl.Boolean,
    "caused_by_deployment_id": pl.Int64, "caused_by_change_request_id": pl.Int64,
    "root_cause_commit": pl.String, "problem_id": pl.String, "root_cause": pl.String}
CHANGE_SCHEMA = {"id": pl.Int64, "commit_id": pl.String, "committed_at": pl.Datetime("us"),
                 "deployment_id": pl.Int64}


def deployments(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Deployment frame like queries.deployments(); rows give id, service_id, at (hours)."""
    out = []
    for r in rows:
        out.append({"id": r["id"], "service_id": r["service_id"], **service_cols(r["service_id"]),
                    "environment": r.get("environment", "production"),
                    "finished_at": h(r.get("at")), "status": r.get("status", "success"),
                    "is_rollback": r.get("is_rollback", False),
                    "unplanned": r.get("unplanned", False),
                    "change_request_id": r.get("change_request_id")})
    return pl.DataFrame(out, schema=DEPLOYMENT_SCHEMA)


def incidents(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Incident frame like queries.incidents(); times in hours from T0."""
    out = []
    for r in rows:
        out.append({"id": r["id"], "service_id": r.get("service_id"),
                    **service_cols(r.get("service_id")),
                    "environment": r.get("environment", "production"),
                    "severity": r.get("severity", 3), "opened_at": h(r["opened"]),
                    "detected_at": h(r.get("detected")), "resolved_at": h(r.get("resolved")),
                    "customer_facing": r.get("customer_facing", False),
                    "caused_by_deployment_id": r.get("caused_by"),
                    "caused_by_change_request_id": r.get("caused_by_cr"),
                    "root_cause_commit": r.get("commit"),
                    "problem_id": r.get("problem"), "root_cause": r.get("root_cause")})
    return pl.DataFrame(out, schema=INCIDENT_SCHEMA)


def changes(rows: list[tuple[int, int, float]]) -> pl.DataFrame:
    """Change frame from (id, deployment_id, committed hours)."""
    return pl.DataFrame([{"id": i, "commit_id": f"c{i}", "committed_at": h(at),
                          "deployment_id": dep} for i, dep, at in rows], schema=CHANGE_SCHEMA)


def scenario() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The module docstring's deployments, changes and incidents."""
    deps = deployments([
        {"id": 1, "service_id": 1, "at": 10},
        {"id": 2, "service_id": 1, "at": 34, "status": "failed"},
        {"id": 3, "service_id": 1, "at": 40, "is_rollback": True},
        {"id": 4, "service_id": 1, "at": 60, "status": "rolled_back"},
        {"id": 12, "service_id": 1, "at": 65, "is_rollback": True},
        {"id": 5, "service_id": 1, "at": 70, "unplanned": True},
        {"id": 6, "service_id": 2, "at": 30},
        {"id": 7, "service_id": 2, "at": 200},
        {"id": 8, "service_id": 2, "at": 100, "environment": "staging"},
        {"id": 9, "service_id": 2, "at": -30},
        {"id": 10, "service_id": 3, "at": None},
        {"id": 11, "service_id": 1, "at": 400},
        {"id": 13, "service_id": 4, "at": 80},
    ])
    chg = changes([(1, 1, 4), (2, 1, -14), (3, 1, 12), (4, 2, 30), (5, 5, 58), (6, 6, 30),
                   (7, 7, 152), (9, 13, 79)])
    inc = incidents([
        {"id": 1, "service_id": 1, "opened": 36, "detected": 36.5, "resolved": 39,
         "severity": 1, "customer_facing": True, "problem": "P1"},
        {"id": 2, "service_id": 1, "opened": 45, "resolved": 50, "severity": 2,
         "customer_facing": True, "problem": "P1"},
        {"id": 3, "service_id": 2, "opened": 150, "resolved": 151, "root_cause": "config"},
        {"id": 4, "service_id": 2, "opened": 210, "detected": 211, "resolved": 214,
         "severity": 2, "caused_by": 6, "root_cause": "config"},
        {"id": 5, "service_id": 3, "opened": 100, "severity": 2},
        {"id": 6, "service_id": 1, "opened": -100, "resolved": -99, "problem": "P9"},
        {"id": 7, "service_id": 1, "opened": 20, "detected": 20.5, "resolved": 22,
         "problem": "P9"},
        {"id": 8, "service_id": 2, "opened": 101, "resolved": 102, "environment": "staging"},
        {"id": 9, "service_id": 1, "opened": 34, "resolved": 35, "severity": 1},
    ])
    return deps, chg, inc
