"""ServiceNow ``incident`` and ``change_request`` records → incidents and change requests.

Files: Table API responses ``{"result": [...]}`` (a list) or ``{"result": {...}}`` (one record),
and the Change Management API (``/sn_chg_rest/change``), whose fields are
``{"display_value", "value"}`` pairs. Any ``sysparm_display_value`` setting is accepted: a field is
a string, a reference ``{"link", "value"}``, ``{"display_value", "link"}``, or a
``{"display_value", "value"}`` pair. The record's table comes from ``sys_class_name``, else its
number prefix (INC…, CHG…).

Times: ``value`` fields are UTC ("YYYY-MM-DD HH:MM:SS"); plain strings are read in ``--tz``
(default UTC — right for the default ``sysparm_display_value=false``; pass the exporting user's zone
for display values). Names: references give a sys_id unless the export has display values
(``sysparm_display_value=all``), so export with display values to get service names.

=================  ===========================================================================
incidents          ServiceNow incident field
=================  ===========================================================================
id                 ``number``
service            ``business_service``, else ``cmdb_ci`` (display value when present)
title              ``short_description``
severity           ``priority`` 1–5 (5 → 4: the store has four severities)
opened_at          ``opened_at``
resolved_at        ``resolved_at``, else ``closed_at``
problem_id         ``problem_id``
caused_by_change_request  ``rfc`` (a change's sys_id is turned into its number when the change
                   is in the same import)
made_sla           ``made_sla`` (true/false; the tool's own SLA verdict, empty when absent)
environment        production
=================  ===========================================================================

=================  ===========================================================================
change requests    ServiceNow change_request field
=================  ===========================================================================
id                 ``number``
service            ``business_service``, else ``cmdb_ci``
title              ``short_description``
change_type        ``type``;  emergency = (``type`` is emergency)
risk               ``risk`` (display value when present)
cab_required       ``cab_required``
planned_start/end  ``start_date`` / ``end_date``
actual_start/end   ``work_start`` / ``work_end``
outcome            ``close_code`` (successful, successful_issues, unsuccessful)
opened_at/closed_at  ``opened_at`` / ``closed_at``
=================  ===========================================================================
"""

from __future__ import annotations

from typing import Any

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import json_documents
from analytics.ingest.records import Rows
from analytics.ingest.validate import InvalidImport, Problem

LABELS = {"incidents": {"id": "number", "service": "business_service", "title": "short_description",
                        "severity": "priority", "caused_by_change_request": "rfc"},
          "change_requests": {"id": "number", "planned_start": "start_date", "planned_end": "end_date",
                              "actual_start": "work_start", "actual_end": "work_end",
                              "outcome": "close_code", "change_type": "type"}}


def value(field: Any) -> Any:
    """The stored value of a field in any display mode (UTC for dates inside a pair).

    >>> value({"display_value": "Closed", "value": 3.0}), value({"link": "…", "value": "abc"})
    (3.0, 'abc')
    """
    if isinstance(field, dict):
        return field.get("value", field.get("display_value"))
    return field


def display(field: Any) -> Any:
    """The display value when the export has one, else the stored value."""
    if isinstance(field, dict):
        return field.get("display_value") or field.get("value")
    return field


def _date(rec: dict[str, Any], name: str) -> str | None:
    field = rec.get(name)
    v = value(field)
    if not v:
        return None
    # A {display_value, value} pair: ``value`` is UTC whatever the user's zone.
    return f"{v}Z" if isinstance(field, dict) and "value" in field else str(v)


def _table(f: SourceFile, i: int, rec: dict[str, Any]) -> str:
    cls = value(rec.get("sys_class_name")) or ""
    number = str(value(rec.get("number")) or "")
    if cls == "incident" or number.startswith("INC"):
        return "incident"
    if cls == "change_request" or number.startswith("CHG"):
        return "change_request"
    raise InvalidImport([Problem(f.name, i, "sys_class_name", cls or number or None,
                                 "not an incident or change_request record")])


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """Incidents and change requests from every ServiceNow response file."""
    found: list[tuple[str, int, str, dict[str, Any]]] = []
    for f, doc in json_documents(files):
        result = doc.get("result") if isinstance(doc, dict) else None
        recs = [result] if isinstance(result, dict) else result
        if not isinstance(recs, list) or not all(isinstance(r, dict) for r in recs):
            raise InvalidImport([Problem(f.name, None, "result", None,
                                         'expected a ServiceNow response {"result": [...]}')])
        found += [(f.name, i, _table(f, i, r), r) for i, r in enumerate(recs, start=1)]
    change_numbers = {str(value(r.get("sys_id"))): str(value(r.get("number")))
                      for _, _, t, r in found if t == "change_request"}
    rows = Rows(opts, LABELS)
    for file, i, table, r in found:
        service = display(r.get("business_service")) or display(r.get("cmdb_ci"))
        if table == "incident":
            rfc = value(r.get("rfc"))
            rows.add("incidents", file, i, id=value(r.get("number")), service=service,
                     title=display(r.get("short_description")), severity=_severity(r),
                     opened_at=_date(r, "opened_at"),
                     resolved_at=_date(r, "resolved_at") or _date(r, "closed_at"),
                     problem_id=display(r.get("problem_id")),
                     caused_by_change_request=change_numbers.get(str(rfc), rfc) if rfc else None,
                     made_sla=value(r.get("made_sla")), environment="production")
        else:
            kind = value(r.get("type"))
            rows.add("change_requests", file, i, id=value(r.get("number")), service=service,
                     title=display(r.get("short_description")), change_type=kind,
                     emergency=str(kind).lower() == "emergency", risk=display(r.get("risk")),
                     cab_required=value(r.get("cab_required")),
                     planned_start=_date(r, "start_date"), planned_end=_date(r, "end_date"),
                     actual_start=_date(r, "work_start"), actual_end=_date(r, "work_end"),
                     outcome=value(r.get("close_code")), opened_at=_date(r, "opened_at"),
                     closed_at=_date(r, "closed_at"))
    return rows.parsed()


def _severity(r: dict[str, Any]) -> Any:
    p = value(r.get("priority"))
    try:
        return min(int(float(p)), 4)
    except (TypeError, ValueError):
        return p
