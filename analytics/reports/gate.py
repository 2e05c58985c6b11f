"""Release quality gate report: the decision for one proposed production change.

Fits the calibrated deployment risk model (REFERENCE §4) on the store's production deployments,
scores the change, counts open Sev1 incidents of the service, reads the lowest remaining error
budget of the service's SLOs (REFERENCE §2) and applies the gate policy (a TOML file: the
``policy`` argument, else ``WORKBENCH_GATE_POLICY``, else ``analytics/studies/gate_policy.toml``;
see :mod:`analytics.studies.gate_policy`). The JSON adds ``decided_by``, the SLA impact
assessment (:mod:`analytics.reports.gate_sla`) and, for an emergency bypass, the validation
item it created. ``python -m analytics gate`` prints it and exits with its code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from analytics.reports import BadRequest, NoData
from analytics.store import queries
from analytics.store.queries import Filters


def budget_remaining(engine: Engine, service: str, at: datetime) -> tuple[float | None, list[dict]]:
    """(lowest remaining budget share among the service's SLOs at ``at``, per SLO rows).

    A decision after the newest SLI sample reads the budget as of that sample (the latest
    state known), and each row says when it was read."""
    from analytics.reports.slo import slo_report

    newest = queries.newest_sample_ts(engine)
    if newest is None:
        return None, []
    when = min(at, newest)
    try:
        status = slo_report(engine, filters=Filters(services=(service,)), at=when).status
    except NoData:
        return None, []
    rows = [{"slo": r["slo"], "budget_remaining": r["budget_remaining"], "state": r["state"],
             "as_of": when.isoformat(timespec="minutes")}
            for r in status.rows(named=True) if r["service"] == service]
    known = [r["budget_remaining"] for r in rows if r["budget_remaining"] is not None]
    return (min(known) if known else None), rows


def gate(engine: Engine, *, service: str, lines_changed: int, files_changed: int,
         coverage: float, emergency: bool, at: datetime, fix: bool = False,
         policy: str | None = None, actor: str | None = None, record: bool = True) -> dict[str, Any]:
    """{decision (pass/fail/escalate), decided_by, risk, reasons, error_budget, sla_impact, …}.

    An emergency bypass is stored as a pending 72-hour validation item (``record``, by
    ``actor``). Raises :class:`BadRequest` for an unknown service, impossible sizes/coverage or
    a bad policy file, and :class:`NoData` when the store cannot fit the risk model.
    """
    from analytics.reports.gate_sla import sla_impact
    from analytics.settings import get_settings
    from analytics.studies import gate_policy, gates, risk

    for name, value in (("lines changed", lines_changed), ("files changed", files_changed)):
        if value < 0:
            raise BadRequest(f"{name} must be zero or more, got {value}")
    if not 0 <= coverage <= 100:
        raise BadRequest(f"coverage must be a percentage in [0, 100], got {coverage:g}")
    if service not in set(queries.services(engine)["service"].to_list()):
        raise BadRequest(f"unknown service {service} (--service)")
    settings = get_settings()
    try:
        policy_gate, files = gate_policy.load_policy(policy or settings.gate_policy or None, at.date())
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    try:
        model, rows = risk.fit_latest(queries.deployments(engine, Filters(environment="production")))
    except ValueError as exc:
        raise NoData(f"cannot fit the risk model: {exc}") from None
    change = risk.change_row(rows, service, lines_changed, files_changed, coverage, emergency)
    score = float(model.predict(change)[0])
    sev1 = gates.open_sev1_count(queries.incidents(engine, Filters(services=(service,))), service, at)
    remaining, slos = budget_remaining(engine, service, at)
    decision = gates.decide(policy_gate, service=service, coverage=coverage,
                            risk=round(score, 6), emergency=emergency, open_sev1=sev1, at=at,
                            budget_remaining=remaining, fix=fix)
    decision["policy"] = files
    decision["error_budget"] = {"lowest_remaining": remaining, "slos": slos,
                                "rules": [{"id": r.id, "below": r.below, "action": r.action}
                                          for r in policy_gate.budget_rules]}
    decision["sla_impact"] = sla_impact(engine, service, at)
    if emergency and record:
        from analytics.store.bypasses import record_bypass

        with Session(engine) as session:
            item = record_bypass(session=session, service=service, actor=actor or settings.user,
                                 at=at, detail={"lines_changed": lines_changed, "files_changed":
                                                files_changed, "coverage": coverage, "risk": score})
            session.commit()
            decision["validation_item"] = {"id": item.id, "due_at": item.due_at.isoformat(),
                                           "status": "pending"}
    # What drives the risk score, for the methodology note beside the decision.
    decision["risk_model"] = {"coefficients": {k: round(v, 6)
                                               for k, v in model.coefficients().items()},
                              "unit": "log-odds per standard deviation of the feature"}
    return decision
