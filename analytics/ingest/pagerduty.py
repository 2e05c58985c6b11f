"""PagerDuty incidents (``GET /incidents``) and their log entries → incidents.

Files: pages of ``{"incidents": [...], "limit", "offset", "more"}`` and pages of
``{"log_entries": [...]}`` (from ``GET /incidents/{id}/log_entries``), in any mix.

=================  ===========================================================================
incidents          PagerDuty field
=================  ===========================================================================
id                 ``id`` (e.g. PT4KHLK)
service            ``service.summary``
title              ``title`` (else ``summary``)
severity           ``priority.summary`` P1→1, P2→2, P3→3, P4/P5→4; without a priority,
                   ``urgency`` high→2, low→3
opened_at          ``created_at`` (the trigger)
acknowledged_at    first ``acknowledge_log_entry.created_at``; else the earliest
                   ``acknowledgements[].at``
resolved_at        ``resolved_at``; else the ``resolve_log_entry.created_at`` of a resolved incident
environment        production (PagerDuty pages production)
=================  ===========================================================================

Log entries may carry the account's offset instead of ``Z``; offsets are honoured. Log entries
of incidents that are not in the files are ignored (with a warning).
"""

from __future__ import annotations

from typing import Any

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import dig, json_documents, records
from analytics.ingest.records import Rows
from analytics.ingest.times import parse_parts

PRIORITY = {"P1": 1, "P2": 2, "P3": 3, "P4": 4, "P5": 4}
URGENCY = {"high": 2, "low": 3}
LABELS = {"incidents": {"service": "service.summary", "opened_at": "created_at",
                        "severity": "priority.summary", "acknowledged_at": "acknowledge_log_entry.created_at",
                        "resolved_at": "resolved_at"}}


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """One incident per PagerDuty incident, resolve/acknowledge times completed from log entries."""
    incidents: list[tuple[str, int, dict[str, Any]]] = []
    entries: dict[str, dict[str, list[str]]] = {}
    for f, doc in json_documents(files):
        if isinstance(doc, dict) and "log_entries" in doc:
            for e in records(f, doc, "log_entries", "PagerDuty log entries"):
                kind = str(e.get("type", "")).removesuffix("_reference")
                inc = str(dig(e, "incident", "id"))
                entries.setdefault(inc, {}).setdefault(kind, []).append(e.get("created_at"))
            continue
        incidents += [(f.name, i, x) for i, x in
                      enumerate(records(f, doc, "incidents", "PagerDuty incidents"), start=1)]
    rows = Rows(opts, LABELS)
    for file, i, x in incidents:
        log = entries.get(str(x.get("id")), {})
        acks = log.get("acknowledge_log_entry") or [a.get("at") for a in x.get("acknowledgements") or []]
        resolved = x.get("resolved_at")
        if resolved is None and x.get("status") == "resolved":
            resolved = _earliest(log.get("resolve_log_entry", []))
        rows.add("incidents", file, i, id=x.get("id"), service=dig(x, "service", "summary"),
                 title=x.get("title") or x.get("summary"), severity=_severity(x),
                 opened_at=x.get("created_at"), acknowledged_at=_earliest(acks),
                 resolved_at=resolved, environment="production")
    orphans = set(entries) - {str(x.get("id")) for _, _, x in incidents}
    if orphans:
        rows.warnings.append(f"log entries of {len(orphans)} incident(s) not in the files were "
                             f"ignored (e.g. {sorted(orphans)[0]})")
    return rows.parsed()


def _severity(x: dict[str, Any]) -> int | str | None:
    prio = dig(x, "priority", "summary")
    if prio:
        return PRIORITY.get(str(prio).upper(), prio)
    return URGENCY.get(str(x.get("urgency")), x.get("urgency"))


def _earliest(stamps: list[str | None]) -> str | None:
    """The earliest timestamp by instant (offsets differ between endpoints)."""
    import polars as pl

    values = pl.Series([s for s in stamps if s], dtype=pl.String)
    if values.len() == 0:
        return None
    naive, offset = parse_parts(values, dayfirst=False)
    instants = naive - (offset.fill_null(0) * 60_000_000).cast(pl.Duration("us"))
    return values[int(instants.arg_min())] if instants.null_count() < values.len() else values[0]
