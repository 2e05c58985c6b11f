"""Four Keys ``events_raw`` export → deployments, changes and incidents, by that project's rules.

Input: the ``four_keys.events_raw`` table exported as JSON (an array of rows, or ``{"rows": [...]}``),
JSON lines or CSV, with columns ``event_type, id, metadata, time_created, source`` (``metadata`` is
the webhook body as JSON text). Rules, as in dora-team/fourkeys ``queries/*.sql``:

- **changes**: the commits (``metadata.commits[].id`` / ``timestamp``) of push events, once a
  deployment shipped them (commits not deployed yet wait for a later export);
- **deployments**: GitHub ``deployment_status`` events with state ``success`` and GitLab
  ``deployment`` events with status ``success``; the deployed commit is ``deployment.sha``
  (GitLab: the last part of ``commit_url``); the deployment finished at the event's ``time_created``;
- a deployment's changes are the commits of the push whose ``id`` (GitHub ``head_commit.id``,
  GitLab ``checkout_sha``) is the deployed commit; a commit shipped by several deployments belongs
  to the first;
- **incidents**: GitHub ``issues`` / GitLab ``issue`` events labelled ``Incident``; opened at the
  issue's ``created_at``, resolved at ``closed_at``; the body's ``root cause: <sha>`` names the
  commit, and the incident is explicitly linked to the deployment that shipped it.

=================  ===========================================================================
store column       events_raw field
=================  ===========================================================================
deployment id      ``id`` (GitHub ``deployment_status.id``; GitLab ``deployment_id``)
service            ``metadata.repository.name`` (GitLab ``project.name``) of the event or of the
                   push it deployed; else ``fourkeys`` (the mock generator sends no repository).
                   An incident linked to a deployment takes that deployment's service.
environment        production (Four Keys counts production deployments only)
change id          the commit id (one row per commit; lead time from its ``timestamp``)
incident id        ``id`` (``<repo>/<issue number>``)
severity           a ``sev1``…``sev4`` / ``p1``…``p4`` label, else 3 (Four Keys has none)
=================  ===========================================================================

Events of other types, unsuccessful deployment statuses and issues without the Incident label
are not part of the four keys: they are skipped and counted as rejected. Timestamps without a
zone (the generator's ``2024-04-30 05:57:03.482913``) are read in ``--tz``, default UTC, as
BigQuery does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile, read_json, read_table
from analytics.ingest.payloads import dig
from analytics.ingest.records import Rows
from analytics.ingest.validate import FILE, ROW, InvalidImport, Problem

DEFAULT_SERVICE = "fourkeys"
ROOT_CAUSE = re.compile(r"root cause: ([0-9a-fA-F]+)")
SEVERITY_LABEL = re.compile(r"^(?:sev|p)[ -]?([1-4])$", re.IGNORECASE)


def _rows(files: list[SourceFile]) -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for f in files:
        if f.fmt == "json":
            doc = read_json(f)
            items = doc.get("rows") if isinstance(doc, dict) else doc
            if not isinstance(items, list):
                raise InvalidImport([Problem(f.name, None, None, None,
                                             "expected events_raw rows: a JSON array or {\"rows\": [...]}")])
            out += [(f.name, i, r) for i, r in enumerate(items, start=1)]
        else:
            frame = read_table(f)
            out += [(r[FILE], r[ROW], r) for r in frame.iter_rows(named=True)]
    for file, i, r in out:
        if not isinstance(r, dict) or "event_type" not in r or "metadata" not in r:
            raise InvalidImport([Problem(file, i, "event_type", None,
                                         "not an events_raw row (needs event_type, id, metadata, time_created)")])
        if isinstance(r["metadata"], str):
            try:
                r["metadata"] = json.loads(r["metadata"])
            except json.JSONDecodeError as exc:
                raise InvalidImport([Problem(file, i, "metadata", r["metadata"][:40],
                                             f"not valid JSON ({exc.msg})")]) from None
        if not isinstance(r["metadata"], dict):
            raise InvalidImport([Problem(file, i, "metadata", json.dumps(r["metadata"])[:40],
                                         "expected a JSON object (the event's payload)")])
    return out


def _commits(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """A push's commits (entries that are not objects carry no id and are left out)."""
    commits = meta.get("commits")
    return [c for c in commits if isinstance(c, dict)] if isinstance(commits, list) else []


def _repo(meta: dict[str, Any]) -> str | None:
    return dig(meta, "repository", "name") or dig(meta, "project", "name")


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """Apply the Four Keys rules to every events_raw row."""
    events = _rows(files)
    rows = Rows(opts, {"deployments": {"finished_at": "time_created"},
                       "changes": {"committed_at": "metadata.commits[].timestamp"},
                       "incidents": {"opened_at": "metadata.issue.created_at",
                                     "resolved_at": "metadata.issue.closed_at"}})
    pushes: dict[str, tuple[str, int, dict[str, Any]]] = {}
    deploys, issues = [], []
    for file, i, r in events:
        etype, meta = r.get("event_type"), r["metadata"]
        if etype == "push":
            pushes[str(r.get("id"))] = (file, i, meta)
        elif etype == "deployment_status" and dig(meta, "deployment_status", "state") == "success":
            deploys.append((file, i, r, dig(meta, "deployment", "sha")))
        elif etype == "deployment" and meta.get("status") == "success":
            deploys.append((file, i, r, str(meta.get("commit_url") or "").rstrip("/").rsplit("/", 1)[-1]))
        elif etype in ("issues", "issue") and _is_incident(meta):
            issues.append((file, i, r))
        else:
            rows.rejected += 1
    # A commit belongs to the first deployment that shipped it.
    shipped: dict[str, tuple[str, str]] = {}
    for file, i, r, sha in sorted(deploys, key=lambda d: str(d[2].get("time_created"))):
        push = pushes.get(str(sha))
        service = _repo(r["metadata"]) or (_repo(push[2]) if push else None) or DEFAULT_SERVICE
        rows.add("deployments", file, i, id=r.get("id"), service=service, environment="production",
                 version=sha, finished_at=r.get("time_created"), status="success")
        for c in _commits(push[2]) if push else []:
            shipped.setdefault(str(c.get("id")), (str(r.get("id")), service))
    seen, waiting = set(), set()
    for file, i, meta in pushes.values():
        for c in _commits(meta):
            cid = str(c.get("id"))
            if cid in shipped and cid not in seen:
                seen.add(cid)
                rows.add("changes", file, i, deployment_id=shipped[cid][0], change_id=cid,
                         committed_at=c.get("timestamp"))
            elif cid not in shipped:
                waiting.add(cid)
    if waiting:
        # Lead time only exists once a commit is deployed; a later export brings it in.
        rows.warnings.append(f"{len(waiting)} commit(s) are not deployed yet and were not imported")
    for file, i, r in issues:
        meta = r["metadata"]
        issue = meta.get("issue") or meta.get("object_attributes") or {}
        m = ROOT_CAUSE.search(str(issue.get("body") or issue.get("description") or ""))
        sha = m.group(1) if m else None
        dep, service = shipped.get(sha or "", (None, None))
        rows.add("incidents", file, i, id=r.get("id"), service=service or _repo(meta) or DEFAULT_SERVICE,
                 title=issue.get("title"), severity=_severity(issue), opened_at=issue.get("created_at"),
                 resolved_at=issue.get("closed_at"), root_cause_commit=sha,
                 caused_by_deployment=dep, environment="production")
    if rows.rejected:
        rows.warnings.append(f"{rows.rejected} event(s) are not pushes, successful deployments or "
                             "incidents; skipped")
    return rows.parsed()


def _labels(issue: dict[str, Any]) -> list[str]:
    return [str(lab.get("name") or lab.get("title") or "") for lab in issue.get("labels") or []
            if isinstance(lab, dict)]


def _is_incident(meta: dict[str, Any]) -> bool:
    issue = meta.get("issue") or meta.get("object_attributes") or {}
    return "Incident" in _labels(issue)


def _severity(issue: dict[str, Any]) -> int:
    for lab in _labels(issue):
        m = SEVERITY_LABEL.match(lab)
        if m:
            return int(m.group(1))
    return 3
