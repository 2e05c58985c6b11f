"""Governance page, headless from app.py: counts first (matching plain SQL), the validation and
sign-off forms writing through the store functions (audited), user text shown as text."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import text

from tests.governance import builders as b

PAGE = "pages/governance.py"


def _count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _metric(at, label):
    return next(m for m in at.metric if m.label == label).value


def test_counts_match_plain_sql_on_the_demo(demo_engine, app_for):
    end = date(2026, 11, 22)
    lo, hi = end - timedelta(days=89), end + timedelta(days=1)  # the last 90 days, picked
    at = app_for(demo_engine, PAGE, period=(lo.isoformat(), end.isoformat()))
    assert at.title[0].value == "Governance"
    pm = _count(demo_engine, "SELECT count(*) FROM incident WHERE customer_facing AND outage AND "
                "postmortem_url IS NULL AND opened_at >= :lo AND opened_at < :hi", lo=lo, hi=hi)
    # The demo ends 2026-11-22, weeks before today: every emergency fix in it is past its 72 h.
    em = _count(demo_engine, "SELECT count(*) FROM deployment WHERE emergency AND environment = "
                "'production' AND finished_at >= :lo AND finished_at < :hi", lo=lo, hi=hi)
    assert _metric(at, "Outages without a post-mortem") == f"{pm:,}" != "0"
    assert _metric(at, "Emergency fixes not validated in 72 h") == f"{em:,}"
    assert _metric(at, "Changes without an approved request") == "0"
    headers = [h.value for h in at.header]
    assert headers == ["Compliance", "Data-source validation", "Metric gaming"]
    subs = [s.value for s in at.subheader]
    assert "Incidents with no service" in subs and "Reopened tickets" in subs
    assert any("no reopen data" in i.value for i in at.info)


def test_forms_record_validation_and_sign_off(engine, app_for, monkeypatch):
    b.services(engine)
    t0 = datetime(2026, 3, 2, 10)
    b.deployment(engine, 1, 2, t0, emergency=True)
    b.deployment(engine, 2, 2, t0 + timedelta(days=1), emergency=True)
    b.incident(engine, 1, None, t0, t0 + timedelta(hours=3), customer_facing=True, outage=True,
               severity=1, title="**bold** <b>x</b>")
    at = app_for(engine, PAGE)
    assert _metric(at, "Emergency fixes not validated in 72 h") == "2"
    at.selectbox(key="gov_validate_dep").select(1)
    monkeypatch.setenv("WORKBENCH_USER", "ana")  # the local user is the actor, not a typed name
    at.text_input(key="gov_validate_note").input("reviewed the diff")
    next(x for x in at.button if x.label == "Record validation").click().run()
    assert not at.exception
    assert any("recorded in the audit log" in s.value for s in at.success)
    assert _count(engine, "SELECT count(*) FROM emergency_validation WHERE deployment_id = 1 "
                  "AND validated_by = 'ana'") == 1
    # Validated today, long after 72 h: still listed (as late), the other one overdue.
    assert _metric(at, "Emergency fixes not validated in 72 h") == "2"

    at.selectbox(key="gov_source").select("manual")
    at.selectbox(key="gov_quarter").select("2026Q1")
    monkeypatch.setenv("WORKBENCH_USER", "bo")
    at.text_area(key="gov_sign_findings").input("<script>x</script> two gaps")
    next(x for x in at.button if x.label == "Sign off").click().run()
    assert not at.exception
    assert _count(engine, "SELECT count(*) FROM source_validation WHERE source = 'manual' AND "
                  "quarter = '2026Q1' AND signed_by = 'bo'") == 1
    assert [a for (a,) in _rows(engine, "SELECT action FROM audit_log ORDER BY id")] == [
        "validate_emergency", "sign_off_source"]
    # User text reaches only data frames (text cells), never Markdown.
    shown = " ".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning])
    assert "**bold**" not in shown and "<script>" not in shown
    titles = at.dataframe[0].value["title"].tolist()
    assert titles == ["**bold** <b>x</b>"]


def test_empty_fields_are_refused(engine, app_for):
    b.services(engine)
    b.deployment(engine, 1, 2, datetime(2026, 3, 2, 10), emergency=True)
    at = app_for(engine, PAGE)
    next(x for x in at.button if x.label == "Record validation").click().run()
    assert any("note" in e.value for e in at.error)
    assert _count(engine, "SELECT count(*) FROM emergency_validation") == 0


def _rows(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


def test_evidence_pack_button_builds_a_download(engine, app_for, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_AUDIT_CHECKPOINT_FILE", str(tmp_path / "cp"))
    b.services(engine)
    b.deployment(engine, 1, 1, datetime(2026, 10, 5, 10))
    at = app_for(engine, PAGE)
    assert not any(d.label == "Download evidence pack" for d in at.get("download_button"))
    next(x for x in at.button if x.label == "Build evidence pack").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Built evidence-") for s in at.success)
    assert any(d.label == "Download evidence pack" for d in at.get("download_button"))
    # Building it is an audited export.
    assert _count(engine, "SELECT count(*) FROM audit_log WHERE action = 'export'") == 1


def test_validation_form_lists_the_oldest_overdue_and_takes_any_typed(engine, app_for):
    """More overdue emergency fixes than the list offers: the oldest 100 are the options (the
    others are typed)."""
    b.services(engine)
    t0 = datetime(2026, 3, 2, 10)
    for i in range(1, 103):
        b.deployment(engine, i, 2, t0 + timedelta(hours=i), emergency=True)
    at = app_for(engine, PAGE)
    box = at.selectbox(key="gov_validate_dep")
    assert box.options == [f"d{i} (id {i})" for i in range(1, 101)]
    # Typing into the list is not something AppTest can do: the typed value's lookup is
    # analytics.reports.compliance.picked_deployment (tests/governance).
    assert "type another one's id or external id" in box.help
