"""Jira Cloud issue search results → tickets (and incidents for issues of type Incident).

Files: pages of ``GET /rest/api/3/search`` (``startAt``/``maxResults``/``total``) or of its
replacement ``GET /rest/api/3/search/jql`` (``isLast``/``nextPageToken``); both hold ``issues``.
Search with ``fields=created,resolutiondate,priority,issuetype,labels,components,project,
summary,description,reporter`` — by default the new endpoint returns only ids, and an issue
without ``created`` cannot be placed in time (that is reported as a missing value).

=================  ===========================================================================
tickets            Jira field
=================  ===========================================================================
id                 ``id`` (stable when an issue moves project; ``key`` goes into the text)
service            ``fields.components[0].name``, else ``fields.project.name``
opened_at          ``fields.created`` (offsets such as ``+0000`` honoured)
closed_at          ``fields.resolutiondate``
severity           ``fields.priority.name``: Highest/Blocker/Critical→1, High/Major→2, Medium→3,
                   Low/Lowest/Minor/Trivial→4
customer_id        ``fields.reporter.accountId`` (already pseudonymous)
channel            jira
text               ``key: summary`` and the description (Atlassian Document Format → plain text)
=================  ===========================================================================

Issues whose ``fields.issuetype.name`` is *Incident* (or labelled ``incident``) become incidents
instead: id, service, title (= ``summary``), opened_at (= ``created``), resolved_at
(= ``resolutiondate``), severity (as above; Jira's default Medium → 3 when there is no priority).
"""

from __future__ import annotations

from typing import Any

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import dig, json_documents, records
from analytics.ingest.records import Rows
from analytics.ingest.validate import InvalidImport, Problem

PRIORITY = {"highest": 1, "blocker": 1, "critical": 1, "high": 2, "major": 2, "medium": 3,
            "low": 4, "lowest": 4, "minor": 4, "trivial": 4}
LABELS = {k: {"opened_at": "fields.created", "closed_at": "fields.resolutiondate",
              "resolved_at": "fields.resolutiondate", "severity": "fields.priority.name",
              "service": "fields.project.name"} for k in ("tickets", "incidents")}


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """Tickets and incidents from every page of search results."""
    rows = Rows(opts, LABELS)
    for f, doc in json_documents(files):
        for i, issue in enumerate(records(f, doc, "issues", "Jira search results"), start=1):
            fields = issue.get("fields") or {}
            if not isinstance(fields, dict):
                raise InvalidImport([Problem(f.name, i, "fields", str(fields)[:40],
                                             "expected a JSON object (the issue's fields)")])
            service = (dig((fields.get("components") or [{}])[0], "name")
                       or dig(fields, "project", "name"))
            severity = _severity(fields)
            summary = fields.get("summary")
            if _is_incident(fields):
                rows.add("incidents", f.name, i, id=issue.get("id"), service=service,
                         title=f"{issue.get('key')}: {summary}" if summary else issue.get("key"),
                         opened_at=fields.get("created"), resolved_at=fields.get("resolutiondate"),
                         severity=severity if severity is not None else 3)
                continue
            text = "\n".join(t for t in (f"{issue.get('key')}: {summary or ''}".strip(),
                                         adf_text(fields.get("description"))) if t)
            rows.add("tickets", f.name, i, id=issue.get("id"), service=service,
                     opened_at=fields.get("created"), closed_at=fields.get("resolutiondate"),
                     severity=severity, customer_id=dig(fields, "reporter", "accountId"),
                     channel="jira", text=text)
    return rows.parsed()


def _is_incident(fields: dict[str, Any]) -> bool:
    kind = str(dig(fields, "issuetype", "name") or "").lower()
    labels = fields.get("labels") if isinstance(fields.get("labels"), list) else []
    labels = [str(x).lower() for x in labels]
    return kind == "incident" or "incident" in labels


def _severity(fields: dict[str, Any]) -> Any:
    name = dig(fields, "priority", "name")
    return PRIORITY.get(str(name).lower(), name) if name else None


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format node (or a plain string, as v2 returns).

    >>> adf_text({"type": "doc", "content": [{"type": "paragraph",
    ...           "content": [{"type": "text", "text": "Main order flow broken"}]}]})
    'Main order flow broken'
    """
    return _adf(node).strip()


def _adf(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_adf(n) for n in node)
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    inner = _adf(node.get("content"))
    return inner + "\n" if node.get("type") in ("paragraph", "heading") else inner
