"""Malformed variants of every source's fixture: a clear message naming the file, and no change.

Each variant is made here from a good fixture (tests/fixtures/ingest or the vendor payloads) by
one edit: the file cut short, a date that is not a date, a value outside the allowed set, a
record whose id repeats, a required field or column removed. The store holds a GitHub import
first, so "unchanged" is checked against content, not against an empty store.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
PAYLOADS = ROOT.parent / "shared" / "payloads"


def _cut(text: str) -> str:
    return text[: len(text) // 2]


def _swap(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"fixture no longer holds {old!r}"
        return text.replace(old, new, count)
    return edit


def _repeat_first_line(text: str) -> str:
    """A CSV whose first data row appears twice (same id)."""
    lines = text.splitlines(keepends=True)
    return "".join([lines[0], lines[1], *lines[1:]])


# (kind, fixture, variant, edit, what the message must say)
CASES = [
    # Canonical files
    ("deployments", EXAMPLES / "deployments.csv", "truncated", _cut,
     "row 2: the file looks truncated: its last row has 7 of 15 fields and no line end"),
    ("incidents", EXAMPLES / "incidents.csv", "bad date",
     _swap("2024-05-03T16:50:00Z", "3rd of May"), "value '3rd of May': not a date-time"),
    ("tickets", EXAMPLES / "tickets.csv", "missing column", _swap("opened_at", "opened"),
     "missing required column 'opened_at'"),
    ("csat", EXAMPLES / "csat.jsonl", "bad range", _swap('"score": 2', '"score": 9'),
     "column 'score', value '9': must be between 1 and 5"),
    ("outages", EXAMPLES / "outages.csv", "bad enum", _swap("internal", "gremlins"),
     "value 'gremlins': not one of internal, third_party"),
    ("services", EXAMPLES / "services.csv", "duplicate id", _repeat_first_line,
     "duplicate id"),
    # Tool payloads
    ("github", FIXTURES / "github-statuses.json", "truncated", _cut, "not valid JSON"),
    ("github", FIXTURES / "github-statuses.json", "bad enum",
     _swap('"state": "success"', '"state": "exploded"'),
     "column 'deployment_status.state', value 'exploded': not a GitHub deployment state"),
    ("gitlab", FIXTURES / "gitlab-deployments-page2.json", "truncated", _cut, "not valid JSON"),
    ("gitlab", FIXTURES / "gitlab-deployments-page2.json", "bad date",
     _swap('"finished_at": "2024-05-04T08:09:59.500Z"', '"finished_at": "soon"'),
     "value 'soon': not a date-time"),
    ("jenkins", FIXTURES / "jenkins-freestyle.json", "truncated", _cut, "not valid JSON"),
    ("jenkins", FIXTURES / "jenkins-freestyle.json", "bad date",
     _swap('"timestamp": 1714600000000', '"timestamp": "May"'),
     "row 1, column 'timestamp', value 'May': not a whole number of milliseconds"),
    ("pagerduty", FIXTURES / "pagerduty-incidents-page2.json", "truncated", _cut, "not valid JSON"),
    ("pagerduty", FIXTURES / "pagerduty-incidents-page2.json", "duplicate id",
     _swap('"id": "PX2", "type": "incident", "title": "Search down"',
           '"id": "PX1", "type": "incident", "title": "Search down"'), "duplicate id"),
    ("servicenow", FIXTURES / "servicenow-display-all.json", "truncated", _cut, "not valid JSON"),
    ("jira", FIXTURES / "jira-search-page1.json", "truncated", _cut, "not valid JSON"),
    ("jira", FIXTURES / "jira-search-page1.json", "bad date",
     _swap('"created": "2024-05-03T18:58:00.000+0200"', '"created": "Friday"'),
     "value 'Friday': not a date-time"),
    ("jira", FIXTURES / "jira-search-page1.json", "missing field",
     _swap('"created": "2024-05-03T18:58:00.000+0200", ', ""), "required value is missing"),
    ("fourkeys", FIXTURES / "fourkeys-gitlab-events.jsonl", "truncated", _cut, "not valid JSON"),
    ("openslo", FIXTURES / "openslo-slos.yaml", "bad range", _swap("target: 0.999", "target: 99.9"),
     "column 'objectives[].target', value '99.9"),
    # Real datasets (their own traps are covered in test_ingest_datasets.py)
    ("uci-incidents", FIXTURES / "uci-mini" / "incident_event_log.csv", "missing column",
     _swap("made_sla,", "sla_made,"), "made_sla"),
    ("uci-incidents", FIXTURES / "uci-mini" / "incident_event_log.csv", "bad date",
     _swap("29/2/2016 01:16", "29/2/2016 soon", count=9), "not a day-first date-time"),
    ("bpic2014", FIXTURES / "bpic2014-mini" / "Detail_Incident.csv", "bad date",
     _swap("01/03/2014 09:10:00", "the first of March"), "value 'the first of March'"),
]


@pytest.mark.parametrize(("kind", "fixture", "variant", "edit", "expected"), CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_every_source_refuses_malformed_input_and_changes_nothing(
        engine, dump, tmp_path, kind, fixture, variant, edit, expected):
    import_files(engine, "github", [FIXTURES / "github-deployments-page1.json",
                                    FIXTURES / "github-statuses.json"])
    if kind in ("services", "incidents", "tickets", "csat", "outages"):
        import_files(engine, "services", [EXAMPLES / "services.csv"])
    if kind in ("incidents", "tickets", "csat"):
        import_files(engine, "deployments", [EXAMPLES / "deployments.csv"])
    if kind in ("tickets", "csat"):
        import_files(engine, "incidents", [EXAMPLES / "incidents.csv"])
    before = dump(engine)
    if fixture.parent.name.endswith("-mini"):  # a dataset folder: edit one file of a copy
        folder = shutil.copytree(fixture.parent, tmp_path / fixture.parent.name)
        target, path = folder / fixture.name, folder
    else:
        target = path = tmp_path / fixture.name
    target.write_text(edit(fixture.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(InvalidImport) as err:
        import_files(engine, kind, [path])
    message = str(err.value)
    assert expected in message
    assert target.name in message, message  # the file is named
    assert dump(engine) == before
