"""Jenkins job builds (``/job/<name>/api/json?tree=builds[…]``) → deployments and changes.

The job is taken to be a deployment job of the service it is named after; Jenkins records no
environment, so every build counts as a production deployment. Ask for
``builds[number,result,timestamp,duration,url,changeSets[items[commitId,timestamp]],changeSet[items[commitId,timestamp]]]``
(``allBuilds`` or a ``{0,500}`` range for more than the newest 100); each file is one job.

=================  ===========================================================================
deployments        Jenkins field
=================  ===========================================================================
id                 ``<job>#<number>``
service            job name from ``url`` (``/job/a/job/b/12/`` → ``a/b``)
environment        production
started_at         ``timestamp`` (epoch milliseconds, UTC)
finished_at        ``timestamp + duration``
status             ``SUCCESS`` → success; ``FAILURE``, ``UNSTABLE`` → failed
=================  ===========================================================================

=================  ===========================================================================
changes            Jenkins field
=================  ===========================================================================
deployment_id      the build's id above
change_id          ``changeSets[].items[].commitId`` (pipelines) or ``changeSet.items[].commitId``
                   (freestyle builds)
committed_at       the item's ``timestamp`` (epoch milliseconds)
=================  ===========================================================================

Builds still running (``result`` null, ``duration`` 0), ``ABORTED`` and ``NOT_BUILT`` never
deployed: they are skipped and counted as rejected.
"""

from __future__ import annotations

from typing import Any

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import States, epoch_ms, json_documents, records, unknown_state
from analytics.ingest.records import Rows
from analytics.ingest.validate import InvalidImport, Problem

RESULTS = {"SUCCESS": "success", "FAILURE": "failed", "UNSTABLE": "failed"}
# Results of builds that never deployed (null while a build is running).
SKIPPED = ("ABORTED", "NOT_BUILT")
LABELS = {"deployments": {"service": "url", "finished_at": "timestamp+duration",
                          "started_at": "timestamp", "status": "result", "id": "number"},
          "changes": {"change_id": "commitId", "committed_at": "changeSets[].items[].timestamp"}}


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """One deployment per finished build, with the commits of its change sets."""
    rows = Rows(opts, LABELS)
    problems: list[Problem] = []
    states = States("result")
    for f, doc in json_documents(files):
        key = "allBuilds" if isinstance(doc, dict) and "allBuilds" in doc else "builds"
        for i, b in enumerate(records(f, doc, key, "Jenkins builds"), start=1):
            result, number = b.get("result"), b.get("number")
            if not isinstance(number, int | str) or isinstance(number, bool):
                problems.append(Problem(f.name, i, "number", str(number)[:40],
                                        "expected the build number (a whole number)"))
                continue
            if not isinstance(result, str | None) or (result is not None and result not in RESULTS
                                                      and result not in SKIPPED):
                problems.append(unknown_state(f.name, i, "result", result,
                                              (*RESULTS, *SKIPPED, "null (running)")))
                continue
            states.see(f.name, i, number, result, result in RESULTS)
            status = RESULTS.get(result or "")
            if status is None:
                rows.rejected += 1
                continue
            problems += [Problem(f.name, i, name, str(b[name]), "not a whole number of "
                                 "milliseconds (Jenkins sends epoch milliseconds)")
                         for name in ("timestamp", "duration") if not _ms(b.get(name))]
            job = _job(b.get("url") if isinstance(b.get("url"), str) else "")
            dep_id = f"{job}#{b.get('number')}"
            start, duration = b.get("timestamp"), b.get("duration")
            end = start + duration if isinstance(start, int) and isinstance(duration, int) else None
            rows.add("deployments", f.name, i, id=dep_id, service=job or None,
                     environment="production", started_at=epoch_ms(start),
                     finished_at=epoch_ms(end), status=status)
            for item in _items(b):
                rows.add("changes", f.name, i, deployment_id=dep_id, change_id=item.get("commitId"),
                         committed_at=epoch_ms(item.get("timestamp")))
    problems += states.problems
    if problems:
        raise InvalidImport(problems[:20], len(problems))
    if rows.rejected:
        rows.warnings.append(f"{rows.rejected} build(s) are running, aborted or not built; skipped")
    return rows.parsed()


def _ms(value: Any) -> bool:
    """True for a missing value or epoch milliseconds (a whole number, not a boolean)."""
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _job(url: str) -> str:
    """``https://ci/job/a/job/b/12/`` → ``a/b``."""
    parts = url.split("/job/")[1:]
    names = [p.split("/", 1)[0] for p in parts]
    return "/".join(n for n in names if n)


def _items(build: dict[str, Any]) -> list[dict[str, Any]]:
    sets = build.get("changeSets") or []
    sets = [s for s in sets if isinstance(s, dict)] if isinstance(sets, list) else []
    if isinstance(build.get("changeSet"), dict):
        sets.append(build["changeSet"])
    items = [s.get("items") for s in sets]
    return [item for group in items if isinstance(group, list) for item in group
            if isinstance(item, dict)]
