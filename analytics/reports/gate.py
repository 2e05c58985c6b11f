"""Release quality gate report: the decision for one proposed production change.

Fits the calibrated deployment risk model (REFERENCE §4) on the store's production deployments,
scores the change, counts open Sev1 incidents of the service and applies the default gate
(``analytics.studies.gates``). ``python -m analytics gate`` prints it and exits with its code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from analytics.reports import BadRequest, NoData
from analytics.store import queries
from analytics.store.queries import Filters


def gate(engine: Engine, *, service: str, lines_changed: int, files_changed: int,
         coverage: float, emergency: bool, at: datetime) -> dict[str, Any]:
    """{decision (pass/fail/escalate), risk, reasons, …} from :func:`analytics.studies.gates.decide`.

    Raises :class:`BadRequest` for an unknown service or impossible sizes/coverage and
    :class:`NoData` when the store cannot fit the risk model.
    """
    from analytics.studies import gates, risk

    for name, value in (("lines changed", lines_changed), ("files changed", files_changed)):
        if value < 0:
            raise BadRequest(f"{name} must be zero or more, got {value}")
    if not 0 <= coverage <= 100:
        raise BadRequest(f"coverage must be a percentage in [0, 100], got {coverage:g}")
    if service not in set(queries.services(engine)["service"].to_list()):
        raise BadRequest(f"unknown service {service} (--service)")
    try:
        model, rows = risk.fit_latest(queries.deployments(engine, Filters(environment="production")))
    except ValueError as exc:
        raise NoData(f"cannot fit the risk model: {exc}") from None
    change = risk.change_row(rows, service, lines_changed, files_changed, coverage, emergency)
    score = float(model.predict(change)[0])
    sev1 = gates.open_sev1_count(queries.incidents(engine, Filters(services=(service,))), service, at)
    decision = gates.decide(gates.default_gate(at), service=service, coverage=coverage,
                            risk=round(score, 6), emergency=emergency, open_sev1=sev1, at=at)
    # What drives the risk score, for the methodology note beside the decision.
    decision["risk_model"] = {"coefficients": {k: round(v, 6)
                                               for k, v in model.coefficients().items()},
                              "unit": "log-odds per standard deviation of the feature"}
    return decision
