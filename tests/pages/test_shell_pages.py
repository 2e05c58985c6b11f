"""Overview and Data pages, headless, from app.py: real numbers that match plain SQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from analytics import catalogue, ui
from analytics.settings import DEFAULT_PERIOD_DAYS


def _count(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _metric(at, label):
    return next(m for m in at.metric if m.label == label).value


def test_overview_numbers_match_sql_and_follow_filters(demo_engine, app_for):
    at = app_for(demo_engine)
    assert at.title[0].value == "Overview"
    # The default period (analytics.reports.periods): the bulk of the data, at most its last
    # DEFAULT_PERIOD_DAYS days. The demo has no sparse months: its first to last day, by SQL.
    with demo_engine.connect() as conn:
        days = [str(conn.execute(text(f"SELECT {f}({c}) FROM {t}")).scalar_one())[:10]
                for f in ("min", "max") for t, c in (("deployment", "finished_at"),
                                                     ("incident", "opened_at"), ("ticket", "opened_at"))]
    first, end = date.fromisoformat(min(days[:3])), date.fromisoformat(max(days[3:]))
    assert (first, end) == (date(2025, 11, 23), date(2026, 11, 22))
    assert (end - first).days + 1 == DEFAULT_PERIOD_DAYS == 365  # the whole demo year
    lo, hi = first, end + timedelta(days=1)
    deps = _count(demo_engine, "SELECT count(*) FROM deployment WHERE environment = 'production' "
                  "AND is_rollback = false AND finished_at >= :lo AND finished_at < :hi", lo=lo, hi=hi)
    tickets = _count(demo_engine, "SELECT count(*) FROM ticket WHERE opened_at >= :lo AND opened_at < :hi",
                     lo=lo, hi=hi)
    assert _metric(at, "Deployments") == f"{deps:,}"
    assert _metric(at, "Support tickets") == f"{tickets:,}"
    assert at.query_params == {} or "period" not in at.query_params  # defaults keep the URL clean

    at.sidebar.multiselect(key="team").select("payments").run()
    assert not at.exception
    team_deps = _count(demo_engine, "SELECT count(*) FROM deployment d JOIN service s ON s.id = d.service_id "
                       "WHERE s.team = 'payments' AND d.environment = 'production' AND d.is_rollback = false "
                       "AND d.finished_at >= :lo AND d.finished_at < :hi", lo=lo, hi=hi)
    assert _metric(at, "Deployments") == f"{team_deps:,}"
    assert 0 < team_deps < deps
    assert "payments" in at.caption[0].value


def test_overview_empty_period_says_so(engine, app_for):
    at = app_for(engine)
    assert _metric(at, "Deployments") == "0"
    assert any("Nothing happened" in i.value for i in at.info)


def test_data_page_lists_tables_and_quality_flags(demo_engine, app_for):
    at = app_for(demo_engine, "pages/data.py")
    assert at.title[0].value == "Data"
    tables = at.dataframe[0].value
    row = tables[tables["table"] == "tickets"].iloc[0]
    assert row["rows"] == _count(demo_engine, "SELECT count(*) FROM ticket")
    flags = at.dataframe[1].value
    no_service = flags[flags["check"] == "incidents with no service"].iloc[0]
    assert no_service["rows"] == 10


RECON = ("SELECT count(*) FROM deployment d JOIN change_request c ON c.id = d.change_request_id "
         "WHERE {}")
# The demo's change outcomes are these two; the page maps them to deployment statuses.
STATUS_MISMATCH = ("(CASE c.outcome WHEN 'successful' THEN 'success' WHEN 'unsuccessful' "
                   "THEN 'failed' END) <> d.status")


def test_data_page_reconciles_deployments_with_their_change_requests(demo_engine, app_for):
    assert _count(demo_engine, "SELECT count(DISTINCT outcome) FROM change_request "
                               "WHERE outcome NOT IN ('successful', 'unsuccessful')") == 0
    at = app_for(demo_engine, "pages/data.py")
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["linked deployments"] == f"{_count(demo_engine, RECON.format('1 = 1')):,}"
    # Plain SQL on the stored text: any difference at tolerance 0.
    start = _count(demo_engine, RECON.format("d.started_at <> c.actual_start"))
    end = _count(demo_engine, RECON.format("d.finished_at <> c.actual_end"))
    status = _count(demo_engine, RECON.format(STATUS_MISMATCH))
    assert (tiles["start differs"], tiles["end differs"], tiles["status differs"]) == (
        f"{start:,}", f"{end:,}", f"{status:,}")
    assert end > 0 and status > 0
    table = at.dataframe[2].value
    assert len(table) == min(500, _count(demo_engine, RECON.format(
        f"d.started_at <> c.actual_start OR d.finished_at <> c.actual_end OR {STATUS_MISMATCH}")))
    size = table[["start_diff_min", "end_diff_min"]].abs().max(axis=1).fillna(0)
    assert list(size) == sorted(size, reverse=True)  # largest discrepancy first
    at.number_input(key="data_recon_tolerance").set_value(60.0).run()
    late = _count(demo_engine, RECON.format(
        "abs(julianday(d.finished_at) - julianday(c.actual_end)) * 1440 > 60.0001"))
    assert {m.label: m.value for m in at.metric}["end differs"] == f"{late:,}"
    assert 0 < late < end


def _scorecard_json(engine, capsys):
    import json

    from analytics.cli import main

    url = engine.url.render_as_string(hide_password=False)
    # No dates: the CLI's default period is the page's (one rule, analytics.reports.periods).
    assert main(["--db", url, "report", "scorecard", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_overview_scorecard_matches_report_scorecard(demo_engine, app_for, capsys):
    at = app_for(demo_engine)
    rows = {r["service"]: r for r in _scorecard_json(demo_engine, capsys) if r["level"] == "service"}
    cfr_heading = catalogue.get("change_failure_rate").label  # headings come from the catalogue
    tables = [d.value for d in at.dataframe if "service" in d.value.columns
              and cfr_heading in d.value.columns]
    shown = {r["service"].removesuffix(" *"): r for t in tables for r in t.to_dict("records")}
    # Incidents with no service are a note under the tables, not a row with a band.
    assert set(shown) == {s for s in rows if s}
    for name, r in rows.items():
        if name is None:
            continue
        s = shown[name]
        assert s["Deploys"] == r["deployments"]
        assert s["Incidents caused"] == r["attributed_incidents"]
        assert s["Tickets after releases"] == r["tickets_after_releases"]
        if r["cfr"] is not None:
            worse = " ▲" if "cfr" in r["escalated_kpis"] else ""  # an escalating KPI is marked
            assert s[cfr_heading] == f"{r['cfr']:.1%} · {r['change_failure_rate_band']}{worse}"
        assert bool(s["Escalation"]) == r["escalate"]
        assert s["service"].endswith(" *") == r["small_sample"]
    # Grouped by criticality: one table per level, in order, each holding one criticality.
    crits = sorted({r["criticality"] for r in rows.values() if r["criticality"] is not None})
    labels = [m.value for m in at.markdown if m.value.startswith("**Criticality")]
    assert labels[:len(crits)] == [f"**Criticality {c}**" for c in crits]
    escalated = [n for n, r in rows.items() if r["escalate"]]
    assert escalated and all(f"**{ui.plain(n)}**" in at.error[0].value for n in escalated)


def test_overview_drill_down_lists_a_services_failed_deployments(demo_engine, app_for, capsys):
    at = app_for(demo_engine)
    rows = {r["service"]: r for r in _scorecard_json(demo_engine, capsys) if r["level"] == "service"}
    at.query_params["drill"] = "checkout"  # what a click on checkout's scorecard row sets
    at.run()
    assert not at.exception
    drill = next(d.value for d in at.dataframe if "failed" in d.value.columns)
    assert len(drill) == rows["checkout"]["cfr_failed"] > 0
    assert set(drill["service"]) == {"checkout"} and drill["failed"].all()


@pytest.mark.parametrize(("kind", "count"), [("tickets after releases", "tickets_after_releases"),
                                             ("CSAT after releases", "csat_after_releases_n")])
def test_overview_drill_down_lists_customer_events_after_releases(demo_engine, app_for, capsys,
                                                                  kind, count):
    at = app_for(demo_engine)
    rows = {r["service"]: r for r in _scorecard_json(demo_engine, capsys) if r["level"] == "service"}
    service = max((s for s in rows if s), key=lambda s: rows[s][count])
    expected = rows[service][count]
    at.query_params["drill"] = service
    at.run()
    at.selectbox(key="records").set_value(kind).run()
    assert not at.exception
    assert any(f"**{ui.plain(service)}**" in c.value and f": {expected:,} {kind};" in c.value
               for c in at.caption)
    csv = next(b for b in at.get("download_button") if b.proto.label.startswith("Download all"))
    assert csv.proto.label == f"Download all {expected:,} as CSV"
    drill = next(d.value for d in at.dataframe if "release_at" in d.value.columns)
    assert expected > 0 and len(drill) == min(expected, 500)
    assert set(drill["service"]) == {service}
    # Each row followed one of the service's releases by at most the 48 h window, or (CSAT)
    # is linked to a release.
    ts = "opened_at" if kind.startswith("tickets") else "responded_at"
    gap = (drill[ts] - drill["release_at"]).dt.total_seconds() / 3600
    linked = drill["related_deployment_id"].notna() if "related_deployment_id" in drill else False
    assert ((gap.between(0, 48)) | linked).all()


HOSTILE = "[x](https://evil.example) ![i](http://127.0.0.1:9/t.png)"


def _hostile_store(engine):
    """Three deployments (one failed) and an incident it caused, of a service whose name is a
    Markdown link and image."""
    from analytics.ingest.importer import import_files

    deps = ("id,service,environment,finished_at,status,team\n"
            f'd1,"{HOSTILE}",production,2026-11-02T10:00:00Z,success,web\n'
            f'd2,"{HOSTILE}",production,2026-11-03T10:00:00Z,failed,web\n'
            f'd3,"{HOSTILE}",production,2026-11-04T10:00:00Z,success,web\n')
    incs = ("id,service,severity,opened_at,environment,resolved_at,customer_facing,"
            "caused_by_deployment\n"
            f'i1,"{HOSTILE}",2,2026-11-03T11:00:00Z,production,2026-11-03T12:00:00Z,yes,d2\n')
    import_files(engine, "deployments", uploads=[("d.csv", deps.encode())])
    import_files(engine, "incidents", uploads=[("i.csv", incs.encode())])


def _texts(at) -> list[str]:
    """Every element body Streamlit renders as Markdown."""
    return [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success")
            for e in getattr(at, kind)]


def _inert(at) -> None:
    texts = _texts(at)
    assert not at.exception, at.exception
    assert not any("](https://evil" in t or "![i]" in t for t in texts), texts
    assert any(ui.plain(HOSTILE) in t for t in texts), texts


def test_a_service_named_like_markdown_is_shown_as_text(engine, app_for):
    _hostile_store(engine)
    at = app_for(engine)
    at.sidebar.multiselect(key="service").select(HOSTILE).run()
    _inert(at)  # the filter caption and the drill-down caption name it, escaped
    assert ui.plain(HOSTILE) in at.caption[0].value
    at.switch_page("pages/delivery.py").run()
    at.selectbox(key="delivery_group").set_value("service").run()
    at.selectbox(key="delivery_drill_slice").set_value(HOSTILE).run()
    _inert(at)
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert not any("](https://evil" in t for t in _texts(at))
