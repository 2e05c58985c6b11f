"""Evidence pack: sections, manifest, a seeded sample that repeats byte for byte, figures equal to
the reports' own, hostile text escaped, the audited export, the CLI, and Chromium rendering."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.governance import evidence
from analytics.store.queries import Filters
from analytics.store.bypasses import record_bypass
from analytics.store.validations import sign_off_source
from tests.governance import builders as b

OCT, NOV_END = date(2026, 10, 1), date(2026, 11, 30)  # the demo ends 2026-11-22 (tests/conftest)


@pytest.fixture(autouse=True)
def audit_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Keep the suite's audit key (the shared demo store was keyed with it); checkpoints in tmp."""
    path = tmp_path / "audit.checkpoints"
    monkeypatch.setenv("WORKBENCH_AUDIT_CHECKPOINT_FILE", str(path))
    return {"checkpoints": path}


@pytest.fixture(scope="module")
def demo_pack(demo_engine, tmp_path_factory) -> tuple[evidence.Pack, dict[str, bytes]]:  # noqa: ANN001
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_AUDIT_CHECKPOINT_FILE", str(tmp_path_factory.mktemp("cp") / "cp"))
    try:
        pack = evidence.build(demo_engine, OCT, NOV_END, actor="auditor-ann", seed=11,
                              at=datetime(2026, 12, 1))
    finally:
        mp.undo()
    with zipfile.ZipFile(io.BytesIO(pack.content)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    return pack, files


def _json(files: dict[str, bytes], key: str) -> dict:
    return json.loads(files[f"data/{key}.json"])


def test_sections_and_manifest(demo_pack) -> None:  # noqa: ANN001
    pack, files = demo_pack
    assert [s.key for s in pack.sections] == list(evidence.SECTIONS)
    page = files["index.html"].decode()
    for key, title in evidence.SECTIONS.items():
        assert f'<section id="{key}">' in page and title in page
        assert f"data/{key}.json" in files
    assert "@media print" in page and "<svg" in page
    # Self-contained: no script, no external stylesheet, font or image.
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<link" not in page
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    for name, info in manifest["files"].items():
        assert info["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert info["bytes"] == len(files[name])


def test_release_success_equals_the_delivery_report_and_plain_sql(demo_pack, demo_engine) -> None:  # noqa: ANN001
    from analytics.reports import delivery

    _, files = demo_pack
    rows = {r["criticality"]: r for r in _json(files, "release_success")["tables"]["by_criticality"]}
    f = Filters(start=OCT, end=NOV_END, environment="production")
    report = delivery.summary(delivery.facts(demo_engine, f), by=("criticality",))
    with demo_engine.connect() as conn:
        sql = dict(conn.execute(text(
            "SELECT s.criticality, count(*) FROM deployment d JOIN service s ON s.id = d.service_id "
            "WHERE d.environment = 'production' AND NOT d.is_rollback AND d.status IN "
            "('success', 'failed', 'rolled_back') AND d.finished_at >= '2026-10-01' "
            "AND d.finished_at < '2026-12-01' GROUP BY s.criticality")).all())
    assert set(rows) == set(sql) == {1, 2, 3, 4}
    for r in report.iter_rows(named=True):
        got = rows[r["criticality"]]
        assert got["deployments"] == r["deployments"] == sql[r["criticality"]]
        assert got["failed"] == r["cfr_failed"]
        assert got["succeeded"] == r["deployments"] - r["cfr_failed"]
        assert got["success_rate"] == pytest.approx(got["succeeded"] / got["deployments"])
        assert got["ci_low"] < got["success_rate"] < got["ci_high"]
    # The HTML shows the same figure the JSON holds.
    one = rows[1]
    assert f"{one['success_rate']:.1%} of {one['deployments']}" in files["index.html"].decode()


def test_monthly_kpis_and_compliance_equal_their_reports(demo_pack, demo_engine) -> None:  # noqa: ANN001
    from analytics.reports.compliance import compliance

    _, files = demo_pack
    monthly = _json(files, "kpi_by_criticality")["tables"]["monthly"]
    assert {(r["criticality"], r["period"]) for r in monthly} == {
        (c, m) for c in (1, 2, 3, 4) for m in ("2026-10", "2026-11")}
    oct_total = sum(r["deployments"] for r in monthly if r["period"] == "2026-10")
    with demo_engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM deployment WHERE environment = 'production' AND NOT is_rollback "
            "AND finished_at >= '2026-10-01' AND finished_at < '2026-11-01'")).scalar_one()
    assert oct_total == n
    got = _json(files, "compliance")
    want = compliance(demo_engine, Filters(start=OCT, end=NOV_END, environment="production"),
                      at=datetime(2026, 12, 1))
    assert got["counts"] == want.counts() and got["counts"]["outages_without_postmortem"] > 0
    assert [r["id"] for r in got["tables"]["outages_without_postmortem"]] == \
        want.outages_without_postmortem["id"].to_list()
    audit = _json(files, "audit")["verification"]
    assert audit["ok"] is True and audit["problem"] is None


def test_sample_is_seeded_and_repeats_byte_for_byte(demo_pack, demo_engine) -> None:  # noqa: ANN001
    _, files = demo_pack
    again = evidence.sections(demo_engine, OCT, NOV_END, seed=11, at=datetime(2026, 12, 1))
    other = evidence.sections(demo_engine, OCT, NOV_END, seed=12, at=datetime(2026, 12, 1))
    sample = {s.key: s for s in again}["release_sample"]
    assert evidence.dumps(sample.as_json()).encode() == files["data/release_sample.json"]
    ids = [r["id"] for r in json.loads(files["data/release_sample.json"])["tables"]["releases"]]
    assert len(ids) == evidence.SAMPLE_SIZE == len(set(ids))
    assert ids != [r["id"] for r in {s.key: s for s in other}["release_sample"].tables["releases"].to_dicts()]
    # Every sampled release is a production deployment of the period, not a rollback.
    with demo_engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT environment, is_rollback, finished_at FROM deployment WHERE id IN "
            f"({','.join(map(str, ids))})")).all()
    assert all(env == "production" and not rb and "2026-10-01" <= str(at)[:10] <= "2026-11-30"
               for env, rb, at in rows)


def test_building_is_an_audited_export(demo_pack, demo_engine) -> None:  # noqa: ANN001
    pack, _ = demo_pack
    with demo_engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, entity_id, detail FROM audit_log WHERE action = "
                                 "'export'")).all()
    details = [json.loads(d) for _, _, d in rows]
    assert any(d.get("sha256") == pack.sha256 and d["from"] == "2026-10-01" and d["seed"] == 11
               for d in details)
    assert ("auditor-ann", "evidence.zip") in [(a, e) for a, e, _ in rows]


def test_hostile_text_is_escaped_and_sign_off_shown(engine) -> None:  # noqa: ANN001
    hostile = "<script>alert('x')</script>"
    b.services(engine)
    t0 = datetime(2026, 10, 5, 10)
    b.deployment(engine, 1, 1, t0)
    b.deployment(engine, 2, 2, t0 + timedelta(days=1), status="failed")
    b.incident(engine, 1, 1, t0 + timedelta(hours=2), t0 + timedelta(hours=5), customer_facing=True,
               outage=True, severity=1, title=hostile, caused_by_deployment_id=1)
    with Session(engine) as s:
        sign_off_source(session=s, source="demo", quarter="2026Q3", by="ana <b>",
                        findings=f"all fine {hostile}", checklist={"items": [
                            {"item": "deployment rows", "value": 2, "status": "ok", "detail": hostile}]})
        record_bypass(session=s, service="gold-1", actor="ops", at=t0, detail={"risk": 0.4})
        s.commit()
    pack = evidence.build(engine, OCT, NOV_END, actor="ann", seed=1, at=datetime(2026, 12, 1))
    with zipfile.ZipFile(io.BytesIO(pack.content)) as z:
        page = z.read("index.html").decode()
        tables = json.loads(z.read("data/compliance.json"))["tables"]
        outages = tables["outages_without_postmortem"]
        sample = json.loads(z.read("data/release_sample.json"))["tables"]
    assert "<script" not in page and "<b>" not in page
    # The audit section is audit.verify's verdict: the head is the last entry before the export.
    with engine.connect() as conn:
        head = conn.execute(text("SELECT id, hash FROM audit_log WHERE action = "
                                 "'gate.bypass'")).one()
    verdict = json.loads(zipfile.ZipFile(io.BytesIO(pack.content)).read("data/audit.json"))
    assert (verdict["verification"]["head"], verdict["verification"]["head_hash"]) == tuple(head)
    assert verdict["verification"]["ok"] is True and f"head #{head[0]} {head[1]}" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert outages[0]["title"] == hostile  # the data file keeps the text as it is
    # The gate's emergency bypass is in the pack's compliance section, overdue (no validation).
    assert [(r["service"], r["status"]) for r in tables["gate_bypasses"]] == [("gold-1", "overdue")]
    assert "Findings: all fine" in page and "signed off by ana &lt;b&gt;" in page
    assert [r["id"] for r in sample["releases"]] == [1, 2]
    assert [r["deployment_id"] for r in sample["incidents"]] == [1]


def test_cli_writes_the_pack_and_refuses_bad_periods(engine, cli, tmp_path, capsys) -> None:  # noqa: ANN001
    b.services(engine)
    b.deployment(engine, 1, 1, datetime(2026, 10, 5, 10))
    out = tmp_path / "pack.zip"
    assert cli(engine, "evidence", "--from", "2026-10-01", "--to", "2026-11-30", "--out", str(out),
               "--format", "json") == 0
    body = json.loads(capsys.readouterr().out)
    assert body["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert "index.html" in body["files"]
    assert cli(engine, "evidence", "--from", "2026-11-30", "--to", "2026-10-01", "--out", str(out)) == 2
    assert "after --to" in capsys.readouterr().err


def test_index_opens_in_chromium(demo_pack, tmp_path) -> None:  # noqa: ANN001
    playwright = pytest.importorskip("playwright.sync_api")
    assert Path("/usr/bin/chromium").exists(), "Debian chromium is required: `make test` installs it"
    _, files = demo_pack
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    shot = Path("/tmp/evidence-pack.png")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((tmp_path / "index.html").as_uri())
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1280, "height": height})
        page.screenshot(path=str(shot), full_page=True)
        headings = page.locator("h2").all_inner_texts()
        browser.close()
    assert headings == list(evidence.SECTIONS.values())
    assert height > 3000 and shot.stat().st_size > 50_000
