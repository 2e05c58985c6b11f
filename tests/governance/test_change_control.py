"""Change control (issue 16.3): proposals, four eyes, effective dates, SLO versions on re-import,
the definition versions in every report's JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.cli import main
from analytics.governance import changes
from analytics.ingest.importer import import_files
from analytics.store.definitions import seed_kpi_definitions

ROOT = Path(__file__).resolve().parents[2]
SLOS = ROOT / "analytics" / "ingest" / "examples" / "slos.yaml"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _audit(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT action, entity, entity_id, actor FROM audit_log "
            "WHERE action LIKE 'definition.%' OR action = 'slo.version' ORDER BY id"))]


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        seed_kpi_definitions(session=s)
        s.commit()
    return engine


@pytest.mark.store
def test_threshold_change_needs_a_second_admin_and_takes_effect_on_its_date(seeded):
    with Session(seeded) as s:
        p = changes.propose(session=s, kind="threshold", key="change_failure_rate",
                            new={"warn": 0.12}, reason="customers notice at 12%", actor="ana")
        s.commit()
        assert (p.status, json.loads(p.old)["warn"]) == ("pending", 0.15)
        with pytest.raises(changes.FourEyesError, match="another admin must decide"):
            changes.approve(session=s, proposal_id=p.id, actor="ana")
        later = datetime.now(UTC) + timedelta(days=10)
        changes.approve(session=s, proposal_id=p.id, actor="bo", effective_from=later)
        s.commit()
        assert p.version == 2
        # Version 2 is stored but not yet in force; the thresholds merge old and new.
        assert changes.current(session=s, kind="threshold", key="change_failure_rate") == {
            "warn": 0.15, "critical": 0.3, "crossed_when": "above"}
        assert changes.history(session=s, key="change_failure_rate")[1]["thresholds"] == {
            "warn": 0.12, "critical": 0.3, "crossed_when": "above"}
        with pytest.raises(changes.ChangeControlError, match="already approved"):
            changes.reject(session=s, proposal_id=p.id, actor="cy", note="late")
    assert changes.effective_versions(seeded)["change_failure_rate"] == 1
    assert changes.effective_versions(seeded, later + timedelta(seconds=1))["change_failure_rate"] == 2
    assert _audit(seeded) == [("definition.proposed", "definition_proposal", "1", "ana"),
                              ("definition.approved", "definition_proposal", "1", "bo")]


@pytest.mark.store
def test_rejection_is_by_another_admin_with_a_reason(seeded):
    with Session(seeded) as s:
        p = changes.propose(session=s, kind="kpi", key="mttr", new={"owner_team": "sre"},
                            reason="SRE owns restore times", actor="ana")
        with pytest.raises(changes.FourEyesError):
            changes.reject(session=s, proposal_id=p.id, actor="ana", note="withdrawn")
        changes.reject(session=s, proposal_id=p.id, actor="bo", note="ops owns it")
        s.commit()
        assert (p.status, p.decided_by, p.version) == ("rejected", "bo", None)
    assert changes.effective_versions(seeded)["mttr"] == 1
    assert [a[0] for a in _audit(seeded)] == ["definition.proposed", "definition.rejected"]


@pytest.mark.parametrize(("kind", "key", "new", "message"), [
    ("threshold", "nope", {"warn": 1}, "no KPI 'nope'"),
    ("threshold", "mttr", {"warn": "high"}, "thresholds must be numbers"),
    ("kpi", "mttr", {"formula": "x"}, "not formula"),
    ("slo", "missing", {"target": 0.99}, "no SLO named 'missing'"),
    ("sla", "x", {"a": 1}, "kind must be one of"),
    ("alert_rule", "burn", {}, "non-empty JSON object"),
])
@pytest.mark.store
def test_bad_proposals_are_refused_with_a_sentence(seeded, kind, key, new, message):
    with Session(seeded) as s, pytest.raises(changes.ChangeControlError, match=message):
        changes.propose(session=s, kind=kind, key=key, new=new, reason="r", actor="ana")


@pytest.mark.store
def test_reimported_slo_is_a_new_version_and_the_old_one_is_kept(seeded, tmp_path):
    import_files(seeded, "services", [ROOT / "analytics/ingest/examples/services.csv"])
    import_files(seeded, "openslo", [SLOS])
    again = import_files(seeded, "openslo", [SLOS]).summary()
    assert again["unchanged"] == 1
    changed = tmp_path / "slos.yaml"
    changed.write_text(SLOS.read_text().replace("target: 0.999", "target: 0.995"))
    import_files(seeded, "openslo", [changed])
    with Session(seeded) as s:
        hist = changes.history(session=s, key="checkout-availability")
    # The first import is version 1, the unchanged re-import adds none, the change adds 2.
    assert [(h["version"], h["definition"]["target"]) for h in hist] == [(1, 0.999), (2, 0.995)]
    assert changes.effective_versions(seeded)["slo:checkout-availability"] == 2
    # An approved SLO proposal is version 3 and the slo row (what reports read) takes it.
    with Session(seeded) as s:
        p = changes.propose(session=s, kind="slo", key="checkout-availability",
                            new={"target": 0.998, "owner_team": "checkout-squad"}, reason="r",
                            actor="ana")
        changes.approve(session=s, proposal_id=p.id, actor="bo")
        s.commit()
    with seeded.connect() as conn:
        row = conn.execute(text("SELECT target, owner_team, version FROM slo")).one()
    assert tuple(row) == (0.998, "checkout-squad", 3)
    # Before the proposal the SLO was owned by its service's team (services.csv).
    assert hist[0]["definition"]["owner_team"] == "payments"
    assert [a[0] for a in _audit(seeded)] == ["slo.version", "slo.version",
                                              "definition.proposed", "definition.approved"]


@pytest.mark.store
def test_rule_versions_count_approved_proposals(seeded):
    with Session(seeded) as s:
        for i, who in enumerate(("ana", "bo")):
            p = changes.propose(session=s, kind="alert_rule", key="fast-burn",
                                new={"burn": 14.4 - i, "window": "1h"}, reason="tune", actor=who)
            changes.approve(session=s, proposal_id=p.id, actor="cy")
        s.commit()
        assert changes.current(session=s, kind="alert_rule", key="fast-burn") == {
            "burn": 13.4, "window": "1h"}
    assert changes.effective_versions(seeded)["alert_rule:fast-burn"] == 2


@pytest.mark.store
def test_cli_four_eyes_exit_2_and_report_json_names_versions(seeded, capsys, monkeypatch):
    url = _url(seeded)
    monkeypatch.setenv("WORKBENCH_USER", "ana")
    assert main(["--db", url, "definitions", "propose", "--kind", "threshold", "--key", "mttr",
                 "--new", '{"warn": 6}', "--reason", "faster", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["proposed_by"] == "ana"
    assert main(["--db", url, "definitions", "approve", "1"]) == 2
    err = capsys.readouterr().err
    assert "acting as ana" in err and "ana proposed change 1; another admin must decide it" in err
    monkeypatch.setenv("WORKBENCH_USER", "bo")
    assert main(["--db", url, "definitions", "approve", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 2
    assert main(["--db", url, "definitions", "history", "mttr", "--format", "json"]) == 0
    hist = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in hist["versions"]] == [1, 2]
    assert main(["--db", url, "definitions", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["owner_teams"]["mttr"] == "sre" and listed["definitions"]["mttr"] == 2
    assert listed["owner_teams"]["csat"] == "customer-experience"
    assert main(["--db", url, "report", "summary", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["definitions"]["mttr"] == 2 and out["definitions"]["change_failure_rate"] == 1


@pytest.mark.store
def test_init_gives_older_stores_owner_teams(seeded):
    from analytics.store.definitions import fill_owner_teams

    with seeded.begin() as conn:
        conn.execute(text("UPDATE kpi_definition SET owner_team = NULL"))
    assert changes.owners(seeded)["mttr"] is None
    with Session(seeded) as s:
        fill_owner_teams(session=s)
        s.commit()
    teams = changes.owners(seeded)
    assert (teams["mttr"], teams["cfr" if "cfr" in teams else "change_failure_rate"],
            teams["nps"]) == ("sre", "platform-engineering", "customer-experience")
