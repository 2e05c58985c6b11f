"""Customer ids are pseudonymised at import with a keyed hash (issue 16.8): the imported ids never
reach any table, the same id gives the same pseudonym, another key gives another one."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from analytics.ingest import pseudonym
from analytics.ingest.importer import import_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
RAW = ("c-8841", "cust-0001", "cust-0002", "5b10ac8d82e05b22cc7d4ef5")


def _expected(raw: str, key: str) -> str:
    """The pseudonym computed a second way: HMAC-SHA256 by hand, first 16 hex digits."""
    return "c_" + hmac.new(key.encode(), raw.encode(), hashlib.sha256).hexdigest()[:16]


def _every_text(engine: Engine) -> str:
    """Every value of every table as one string (the 'grep all tables' of the issue)."""
    out = []
    with engine.connect() as conn:
        for name in sorted(SQLModel.metadata.tables):
            out += [repr(r) for r in conn.execute(text(f'SELECT * FROM "{name}"')).all()]
    return "\n".join(out)


def _import(engine: Engine, tmp_path: Path) -> None:
    for kind, name in (("services", "services.csv"), ("deployments", "deployments.csv"),
                       ("incidents", "incidents.csv")):
        import_files(engine, kind, [EXAMPLES / name], actor="tester")
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(
        (EXAMPLES / "tickets.csv").read_text()
        + "T-502,2024-05-04T09:00:00Z,checkout,,,3,merchant,low,email,cust-0001,Refund slow,\n"
        + "T-503,2024-05-04T10:00:00Z,checkout,,,3,merchant,low,email,cust-0002,Where is it,\n")
    import_files(engine, "tickets", [tickets], actor="tester")
    import_files(engine, "csat", [EXAMPLES / "csat.jsonl"], actor="tester")
    import_files(engine, "jira", [FIXTURES / "jira-search-page1.json",
                                  FIXTURES / "jira-search-jql-page2.json"], actor="tester")


def _ids(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t: [r[0] for r in conn.execute(text(
            f"SELECT customer_id FROM {t} WHERE customer_id IS NOT NULL ORDER BY external_id"))]
            for t in ("ticket", "csat_response")}


@pytest.mark.store
def test_imported_customer_ids_appear_in_no_table(engine: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", "k1")
    _import(engine, tmp_path)
    stored = _every_text(engine)
    assert [raw for raw in RAW if raw in stored] == []
    ids = _ids(engine)
    # Jira's ticket 20001 (the reporter's accountId), then T-501…T-503; the survey answer R-9001.
    assert ids["ticket"] == [_expected("5b10ac8d82e05b22cc7d4ef5", "k1"), _expected("c-8841", "k1"),
                             _expected("cust-0001", "k1"), _expected("cust-0002", "k1")]
    # Same customer in the ticket and the survey answer: the join still works.
    assert ids["csat_response"] == [_expected("c-8841", "k1")]


@pytest.mark.store
def test_same_input_twice_same_pseudonyms_and_nothing_new(engine: Engine, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", "k1")
    _import(engine, tmp_path)
    before = _ids(engine)
    again = import_files(engine, "tickets", [tmp_path / "tickets.csv"], actor="tester").summary()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    csat = import_files(engine, "csat", [EXAMPLES / "csat.jsonl"], actor="tester").summary()
    assert (csat["inserted"], csat["updated"], csat["unchanged"]) == (0, 0, 1)
    assert _ids(engine) == before


@pytest.mark.store
def test_another_key_gives_other_pseudonyms(engine: Engine, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", "k2")
    _import(engine, tmp_path)
    assert _ids(engine)["csat_response"] == [_expected("c-8841", "k2")]
    assert _expected("c-8841", "k2") != _expected("c-8841", "k1")


def test_key_file_is_created_0600_beside_the_audit_key(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.store.db import get_engine

    monkeypatch.delenv("WORKBENCH_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("WORKBENCH_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.delenv("WORKBENCH_AUDIT_KEY_FILE", raising=False)
    eng = get_engine(f"sqlite:///{tmp_path / 'w.db'}")
    path = pseudonym.ensure_key(eng)
    assert path == tmp_path / "w.db.pseudonym-key"
    assert path.stat().st_mode & 0o777 == 0o600
    key = pseudonym.load_key(eng)
    assert key == path.read_text().strip().encode() and len(key) == 64
    assert pseudonym.load_key(eng) == key  # created once, then read


@pytest.mark.store
def test_demo_customer_ids_are_pseudonyms(engine: Engine) -> None:
    from datetime import date

    from analytics import demo

    frames = demo.generate(seed=7, end=date(2026, 11, 22), sli=False)
    demo.load(engine, frames)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text(
            "SELECT customer_id FROM ticket UNION SELECT customer_id FROM csat_response"))]
    assert ids and all(pseudonym.PATTERN.fullmatch(i) for i in ids)
    raw = set(frames["ticket"]["customer_id"]) | set(frames["csat_response"]["customer_id"])
    key = "test-suite-pseudonym-key"  # tests/conftest.py
    assert set(ids) == {_expected(r, key) for r in raw}
    assert not any(i.startswith("cust-") for i in ids)
