"""GitLab project deployments (``GET /projects/:id/deployments``) → deployments and changes.

Each file is one page: a bare JSON array (GitLab paginates with headers).

=================  ===========================================================================
deployments        GitLab field
=================  ===========================================================================
id                 ``id`` (instance-wide)
service            project name: the path before ``/pipelines/`` in ``deployable.pipeline.web_url``
environment        ``environment.name``
version            ``sha``
started_at         ``deployable.started_at``
finished_at        ``deployable.finished_at``; else ``updated_at`` (the body has no deployment
                   finish time)
status             ``status`` success → success, failed → failed; when ``status`` is not final
                   (``created``/``running``/``blocked``), the job's ``deployable.status`` if that is
                   final — the vendor's own example shows ``created`` next to a successful job
=================  ===========================================================================

=================  ===========================================================================
changes            GitLab field
=================  ===========================================================================
deployment_id      ``id``
change_id          ``deployable.commit.id`` (the deployed commit)
committed_at       ``deployable.commit.created_at`` (carries a local offset, e.g. +02:00)
=================  ===========================================================================

Canceled deployments and ones still running are skipped (counted as rejected).
"""

from __future__ import annotations

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import States, dig, json_documents, records, unknown_state
from analytics.ingest.validate import InvalidImport
from analytics.ingest.records import Rows

FINAL = {"success": "success", "failed": "failed"}
# Every deployment status GitLab documents; one not listed is refused rather than skipped.
STATUSES = ("created", "running", "success", "failed", "canceled", "skipped", "blocked")
LABELS = {"deployments": {"service": "deployable.pipeline.web_url", "environment": "environment.name",
                          "finished_at": "deployable.finished_at", "started_at": "deployable.started_at",
                          "status": "status"},
          "changes": {"change_id": "deployable.commit.id", "committed_at": "deployable.commit.created_at",
                      "deployment_id": "id"}}


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """One deployment per finished GitLab deployment, plus its deployed commit."""
    rows = Rows(opts, LABELS)
    states = States("status")
    for f, doc in json_documents(files):
        for i, d in enumerate(records(f, doc, None, "GitLab deployments"), start=1):
            job = d.get("deployable") if isinstance(d.get("deployable"), dict) else {}
            if d.get("status") not in STATUSES:
                rows.problems.append(unknown_state(f.name, i, "status", d.get("status"), STATUSES))
                continue
            status = FINAL.get(d["status"]) or FINAL.get(job.get("status"))
            states.see(f.name, i, d.get("id"), d["status"], status is not None)
            if status is None:
                rows.rejected += 1
                continue
            rows.add("deployments", f.name, i, id=d.get("id"), service=_project(job),
                     environment=dig(d, "environment", "name"), version=d.get("sha"),
                     started_at=job.get("started_at"),
                     finished_at=job.get("finished_at") or d.get("updated_at"), status=status)
            commit = job.get("commit") if isinstance(job.get("commit"), dict) else {}
            if commit.get("id"):
                rows.add("changes", f.name, i, deployment_id=d.get("id"), change_id=commit["id"],
                         committed_at=commit.get("created_at"))
    if rows.problems or states.problems:
        problems = rows.problems + states.problems
        raise InvalidImport(problems[:20], len(problems))
    if rows.rejected:
        rows.warnings.append(f"{rows.rejected} deployment(s) were canceled or have not finished; skipped")
    return rows.parsed()


def _project(job: dict) -> str | None:
    """``http://host/group/project/pipelines/12`` → ``project``."""
    url = dig(job, "pipeline", "web_url") or ""
    head = url.split("/pipelines/")[0] if "/pipelines/" in url else ""
    return head.rstrip("/").rsplit("/", 1)[-1] or None
