"""Delivery page, headless from app.py: its numbers equal `report delivery` for the same
filters and window, the window drives attribution, and the drill-down shows the rows."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta

import pytest

from analytics import catalogue
from analytics.cli import main

END = date(2026, 11, 22)
START = date(2025, 11, 23)  # the default period: the whole demo year (tests/pages/test_shell_pages.py)
PAGE = "pages/delivery.py"


def _report(engine, capsys, *extra: str) -> dict:
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "delivery", "--from", START.isoformat(), "--to",
                 END.isoformat(), *extra, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _cfr_caption(at) -> dict[str, int]:
    """The CFR tile's caption: failed ÷ deployments and the attribution counts."""
    cap = next(c.value for c in at.caption if "failed ÷" in c.value)
    m = re.search(r"([\d,]+) failed ÷ ([\d,]+) deployments.*explicit ([\d,]+) · window "
                  r"([\d,]+) · unattributed ([\d,]+)", cap)
    assert m, cap
    keys = ("failed", "deployments", "explicit", "window", "unattributed")
    return {k: int(v.replace(",", "")) for k, v in zip(keys, m.groups(), strict=True)}


def _metric(at, key):
    """A tile's value: tiles are headed by the catalogue's short name (full label in help)."""
    k = catalogue.get(key)
    tile = next(m for m in at.metric if m.label == k.short)
    assert k.label in tile.help
    return tile.value


def test_page_cfr_and_deployments_equal_report(demo_engine, app_for, capsys):
    at = app_for(demo_engine, PAGE)
    assert at.title[0].value == "Delivery"
    report = _report(demo_engine, capsys)
    shown = _cfr_caption(at)
    cfr = report["change_failure_rate"]
    assert (shown["failed"], shown["deployments"]) == (cfr["failed"], cfr["deployments"])
    assert shown["deployments"] == report["deployments"] > 1000
    assert _metric(at, "change_failure_rate") == f"{cfr['value']:.1%}"
    assert _metric(at, "deployment_frequency") == f"{report['deploys_per_day']:.2f}/day"
    assert {k: shown[k] for k in report["attribution"]} == report["attribution"]
    # Window and filters are said once above the tiles, not under each of the nine.
    assert sum("all teams" in c.value for c in at.caption) == 2  # above the tiles + drill-down

    at.sidebar.multiselect(key="team").select("payments").run()
    assert not at.exception
    team = _report(demo_engine, capsys, "--team", "payments")
    shown = _cfr_caption(at)
    assert (shown["failed"], shown["deployments"]) == (
        team["change_failure_rate"]["failed"], team["change_failure_rate"]["deployments"])
    assert 0 < shown["deployments"] < report["deployments"]


def test_window_slider_drives_attribution(demo_engine, app_for, capsys):
    at = app_for(demo_engine, PAGE)
    wide = _cfr_caption(at)
    at.slider(key="delivery_window").set_value(6).run()
    assert not at.exception
    narrow = _cfr_caption(at)
    assert {k: narrow[k] for k in ("explicit", "window", "unattributed")} == \
        _report(demo_engine, capsys, "--window-hours", "6")["attribution"]
    # Explicit links do not depend on the window; a shorter window moves incidents from
    # "window" to "unattributed" and never loses one.
    assert narrow["explicit"] == wide["explicit"]
    assert narrow["window"] < wide["window"]
    assert narrow["unattributed"] > wide["unattributed"]
    assert sum(narrow[k] for k in ("explicit", "window", "unattributed")) == \
        sum(wide[k] for k in ("explicit", "window", "unattributed"))
    assert narrow["failed"] <= wide["failed"]  # fewer attributed incidents, fewer failures


def test_drill_down_shows_the_records_behind_cfr(demo_engine, app_for, capsys):
    at = app_for(demo_engine, PAGE)
    assert at.selectbox(key="delivery_drill").value == "failed deployments"
    failed = _cfr_caption(at)["failed"]
    drill = at.dataframe[-1].value
    assert len(drill) == min(failed, 500)
    assert drill["failed"].all()
    assert any(c.value.startswith(f"{failed:,} rows (failed deployments") for c in at.caption)

    at.selectbox(key="delivery_group").set_value("service").run()
    at.selectbox(key="delivery_drill_slice").set_value("checkout").run()
    assert not at.exception
    drill = at.dataframe[-1].value
    per_service = {s["service"]: s for s in _report(demo_engine, capsys)["by_service"]}
    assert len(drill) == per_service["checkout"]["change_failure_rate"]["failed"] > 0
    assert set(drill["service"]) == {"checkout"}
    sliced = next(d.value for d in at.dataframe if "service" in d.value.columns
                  and "Failed" in d.value.columns)
    row = sliced[sliced["service"] == "checkout"].iloc[0]
    assert row["Failed"] == len(drill)
    # Values formatted as the catalogue says (the report's CFR, as a percentage).
    cfr = per_service["checkout"]["change_failure_rate"]["value"]
    assert row["cfr"] == catalogue.get("change_failure_rate").show(cfr)


@pytest.mark.parametrize("kind", ["lead-time pairs", "unattributed"])
def test_drill_down_other_kinds_match_tile_counts(demo_engine, app_for, capsys, kind):
    at = app_for(demo_engine, PAGE)
    at.selectbox(key="delivery_drill").set_value(kind).run()
    assert not at.exception
    report = _report(demo_engine, capsys)
    expected = (report["lead_time_hours"]["n"] if kind == "lead-time pairs"
                else report["attribution"]["unattributed"])
    assert any(c.value.startswith(f"{expected:,} rows ({kind}") for c in at.caption)
    assert len(at.dataframe[-1].value) == min(expected, 500)


def test_empty_store_shows_no_error(engine, app_for):
    at = app_for(engine, PAGE)
    assert _metric(at, "change_failure_rate") == "—"
    assert any("Small sample" in w.value for w in at.warning)


def test_band_year_and_environment_grouping(demo_engine, app_for, capsys):
    from analytics.metrics.bands import band

    at = app_for(demo_engine, PAGE)
    at.selectbox(key="delivery_band_year").set_value(2021).run()
    at.selectbox(key="delivery_group").set_value("environment (all environments)").run()
    assert not at.exception
    bands = next(d.value for d in at.dataframe if "band" in d.value.columns)
    report = _report(demo_engine, capsys, "--band-year", "2021")
    cfr = report["change_failure_rate"]["value"]
    row = bands[bands["KPI"] == catalogue.get("change_failure_rate").label].iloc[0]
    assert row["value"] == pytest.approx(cfr) and row["band"] == band("change_failure_rate", cfr, 2021)
    assert row["band"] == report["bands"]["change_failure_rate"]
    assert any("Gap-filling rule" in c.value for c in at.caption)
    by_env = next(d.value for d in at.dataframe if "environment" in d.value.columns
                  and "Failed" in d.value.columns)
    staging = _report(demo_engine, capsys, "--env", "staging")
    assert set(by_env["environment"]) == {"production", "staging"}
    got = by_env.set_index("environment")["Deployments"].to_dict()
    assert got == {"production": report["deployments"], "staging": staging["deployments"]}


def _sql_restore_hours(engine) -> dict[int, list[float]]:
    """Second method: production incidents opened in the period, restore hours per severity,
    straight from the table (open or negative ones left out)."""
    import pandas as pd
    from sqlalchemy import text

    lo, hi = datetime.combine(START, time()), datetime.combine(END + timedelta(days=1), time())
    with engine.connect() as conn:
        rows = pd.read_sql(text("SELECT severity, opened_at, resolved_at FROM incident WHERE "
                                "environment = 'production' AND opened_at >= :lo AND "
                                "opened_at < :hi AND resolved_at IS NOT NULL"),
                           conn, params={"lo": lo, "hi": hi})
    hours = (pd.to_datetime(rows["resolved_at"]) - pd.to_datetime(rows["opened_at"])) \
        .dt.total_seconds() / 3600
    rows = rows.assign(hours=hours)[hours >= 0]
    return {int(s): g["hours"].tolist() for s, g in rows.groupby("severity")}


def test_median_intervals_and_mttr_by_severity(demo_engine, app_for, capsys):
    import numpy as np

    at = app_for(demo_engine, PAGE)
    report = _report(demo_engine, capsys)
    ci = next(d.value for d in at.dataframe if "kpi" in d.value.columns).set_index("kpi")
    expected = {catalogue.get("lead_time").label: report["lead_time_hours"],
                catalogue.get("recovery_time").label: report["recovery_time_hours"],
                catalogue.get("mttr").label: report["mttr_hours"]}
    assert list(ci.index) == list(expected)
    for name, fig in expected.items():
        row = ci.loc[name]
        assert (row["median"], row["n"]) == (pytest.approx(fig["median"]), fig["n"])
        assert fig["n"] > 100 and row["ci_low"] < fig["median"] < row["ci_high"]

    sev = next(d.value for d in at.dataframe if "severity" in d.value.columns
               and "incidents" in d.value.columns)
    by_hand = _sql_restore_hours(demo_engine)
    assert sev["severity"].tolist() == sorted(by_hand)
    for r in sev.to_dict("records"):
        x = np.array(by_hand[r["severity"]])
        assert r["n"] == len(x)
        assert (r["median"], r["mean"]) == (pytest.approx(np.median(x)), pytest.approx(x.mean()))
        assert r["ci_low"] <= r["median"] <= r["ci_high"]
    assert sev["n"].sum() == report["mttr_hours"]["n"]
    assert sev["incidents"].sum() == report["incidents"]
    assert any("bootstrap" in c.value and "2,000 resamples" in c.value for c in at.caption)


def test_comparison_says_when_there_is_no_earlier_data(demo_engine, app_for, capsys):
    """The default period is the demo's whole year: the same length before it holds nothing, so
    no tile shows a change and the table says "no earlier data" (not "improved" against 0/day).
    Half a year inside the data has a previous half: verdicts and previous values, the latter
    equal to `report delivery` over that earlier half."""
    at = app_for(demo_engine, PAGE)
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert set(table["verdict"]) == {"no earlier data"} and set(table["previous"]) == {"—"}
    assert all(not m.delta for m in at.metric)
    assert any("holds no deployment or incident: no comparison" in c.value for c in at.caption)

    at = app_for(demo_engine, PAGE, period=("2026-06-01", "2026-11-22"))
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert set(table["verdict"]) <= {"improved", "degraded", "unchanged", "—"}
    assert "improved" in set(table["verdict"]) or "degraded" in set(table["verdict"])
    cap = next(c.value for c in at.caption if c.value.startswith("Deltas compare"))
    first, last = re.search(r"same length, (\d{4}-\d\d-\d\d) – (\d{4}-\d\d-\d\d)", cap).groups()
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "delivery", "--from", first, "--to", last,
                 "--format", "json"]) == 0
    before = json.loads(capsys.readouterr().out)
    row = table[table["KPI"] == catalogue.get("change_failure_rate").label].iloc[0]
    assert row["previous"] == f"{before['change_failure_rate']['value']:.1%}"
    assert row["change %"].endswith("%") and "None" not in " ".join(table["change %"])
