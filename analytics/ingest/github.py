"""GitHub deployments and deployment statuses → deployments.

Accepted files, in any mix and any number of pages (GitHub paginates with the ``Link`` header,
so each page is its own bare JSON array):

- ``GET /repos/{owner}/{repo}/deployments`` — an array of deployments;
- ``GET /repos/{owner}/{repo}/deployments/{id}/statuses`` — an array of statuses;
- the ``deployment_status`` webhook body — one object holding ``deployment`` and ``deployment_status``.

A deployment has no status of its own: it ends with its first *final* status. Statuses are
immutable, so the deployment finished at that status's ``created_at``.

=================  ===========================================================================
deployments        GitHub field
=================  ===========================================================================
id                 ``deployment.id``; for a status, the id at the end of ``deployment_url``
service            repository name from ``repository.full_name`` / ``repository_url``
environment        ``deployment.environment`` (a status's ``environment`` when the deployment
                   record is not in the files)
version            ``deployment.sha``
started_at         ``deployment.created_at``
finished_at        ``created_at`` of the first ``success``/``failure``/``error`` status (by
                   ``created_at``, then ``id``: the list order is not documented)
status             ``success`` → success; ``failure``, ``error`` → failed
=================  ===========================================================================

A deployment with no final status (only queued, pending, in_progress or inactive) has not
finished: it is skipped and counted as rejected. A state GitHub does not document is an error.
A status whose deployment record is missing still yields a deployment (no start time, no
version).
"""

from __future__ import annotations

import json
from typing import Any

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import dig, json_documents, records, repo_name
from analytics.ingest.records import Rows
from analytics.ingest.validate import InvalidImport, Problem

FINAL = {"success": "success", "failure": "failed", "error": "failed"}
# Every state GitHub documents for a deployment status; anything else is malformed input.
STATES = (*FINAL, "inactive", "in_progress", "queued", "pending")
LABELS = {"deployments": {"finished_at": "deployment_status.created_at",
                          "started_at": "deployment.created_at", "status": "deployment_status.state",
                          "environment": "environment", "service": "repository_url"}}


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """Read every deployments / statuses / webhook file and return one deployment per id."""
    deployments: dict[str, tuple[str, int, dict[str, Any]]] = {}
    statuses: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for f, doc in json_documents(files):
        if isinstance(doc, dict) and "deployment_status" in doc:  # webhook
            dep, status = doc.get("deployment") or {}, doc["deployment_status"] or {}
            for field, value in (("deployment", dep), ("deployment_status", status)):
                if not isinstance(value, dict):
                    raise InvalidImport([Problem(f.name, 1, field, str(value)[:40], "expected a JSON "
                                                 "object (a GitHub deployment_status webhook)")])
            status = dict(status)
            status.setdefault("repository_url", dig(doc, "repository", "full_name"))
            dep_id = str(dep.get("id") or _id_from_url(status.get("deployment_url")))
            deployments[dep_id] = (f.name, 1, dep | {"_repo": dig(doc, "repository", "full_name")})
            statuses.setdefault(dep_id, []).append((f.name, 1, status))
            continue
        for i, item in enumerate(records(f, doc, None, "GitHub deployments or statuses"), start=1):
            if "deployment_url" in item:
                statuses.setdefault(_id_from_url(item["deployment_url"]), []).append((f.name, i, item))
            elif "statuses_url" in item or "sha" in item:
                deployments[str(item.get("id"))] = (f.name, i, item)
            else:
                raise InvalidImport([Problem(f.name, i, None, None, "neither a GitHub deployment "
                                             "(no sha) nor a deployment status (no deployment_url)")])
    bad = [Problem(file, row, "deployment_status.state", str(st.get("state")),
                   f"not a GitHub deployment state ({', '.join(STATES)})")
           for items in statuses.values() for file, row, st in items
           if not isinstance(st.get("state"), str) or st.get("state") not in STATES]
    if bad:
        raise InvalidImport(bad[:20], len(bad))
    rows = Rows(opts, LABELS)
    for dep_id in sorted(set(deployments) | set(statuses), key=_natural):
        final = _final_status(statuses.get(dep_id, []))
        file, row, dep = deployments.get(dep_id, (None, 0, {}))
        if final is None:
            rows.rejected += 1
            continue
        s_file, s_row, status = final
        rows.add("deployments", file or s_file, row or s_row, id=dep_id,
                 service=repo_name(dep.get("_repo") or dep.get("repository_url")
                                   or status.get("repository_url")),
                 environment=dep.get("environment") or status.get("environment"),
                 version=dep.get("sha"), started_at=dep.get("created_at"),
                 finished_at=status.get("created_at"), status=FINAL[status["state"]])
    if rows.rejected:
        rows.warnings.append(f"{rows.rejected} deployment(s) have no final status yet and were skipped")
    return rows.parsed()


def _final_status(items: list[tuple[str, int, dict[str, Any]]]) -> tuple[str, int, dict[str, Any]] | None:
    ordered = sorted(items, key=lambda t: (str(t[2].get("created_at") or ""), _natural(str(t[2].get("id")))))
    return next((t for t in ordered if t[2].get("state") in FINAL), None)


def _id_from_url(url: Any) -> str:
    # Not a URL (a number, an object): its text, which the id checks then judge.
    return url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) else json.dumps(url)


def _natural(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)
