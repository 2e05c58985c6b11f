"""SLOs and SLAs pages, headless from app.py: the numbers shown are the pure functions' numbers."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta

import polars as pl
import pytest

from analytics.cli import report_sla
from analytics.metrics.slo import slo_status
from analytics.metrics.slo_alerts import alert_history, alert_status, deployments_during_burn
from analytics.store import queries
from analytics.store.queries import Filters

AT = datetime(2026, 11, 23)  # the demo's newest 5-minute bucket starts 2026-11-22 23:55
PERIOD = (datetime(2026, 8, 25), AT)  # the sidebar's default 90 days


def _metric(at, label):
    return next(m for m in at.metric if m.label == label).value


@pytest.fixture(scope="module")
def truth(demo_engine):
    """SLO status and alert history computed straight from the store (no page code)."""
    defs = queries.slos(demo_engine)
    samples = queries.sli_samples(demo_engine)
    status = slo_status(samples, defs, AT)
    fired = alert_history(samples.filter(pl.col("ts") < PERIOD[1]), defs)
    firing = alert_status(samples, defs, AT).filter(pl.col("firing"))
    return defs, status, firing, fired.filter(pl.col("end") > PERIOD[0])


def test_slos_page_status_selection_history_and_deployments(demo_engine, app_for, truth):
    defs, status, firing, fired = truth
    at = app_for(demo_engine, "pages/slos.py")
    assert at.title[0].value == "SLOs"
    assert _metric(at, "SLOs") == "40"
    assert _metric(at, "Budget spent") == str(status.filter(pl.col("budget_remaining") <= 0).height)
    table = at.dataframe[0].value
    assert len(table) == 40
    for row in status.iter_rows(named=True):
        shown = table[table["slo"] == row["slo"]].iloc[0]
        assert shown["budget_remaining"] == pytest.approx(row["budget_remaining"] * 100)
        assert shown["sli"] == pytest.approx(row["sli"] * 100)
        assert shown["window"] == "rolling 30d"
        names = firing.filter(pl.col("slo") == row["slo"])["name"].to_list()
        assert shown["firing"] == (", ".join(names) or "none")

    # The SLO whose alerts fired most often in the period (chosen from the data, not by name).
    name = fired["slo"].mode().sort()[0]
    at.selectbox(key="slos_slo").select(name).run()
    assert not at.exception
    row = status.filter(pl.col("slo") == name).row(0, named=True)
    assert _metric(at, "SLI") == f"{row['sli'] * 100:.4f}%"
    assert _metric(at, "Budget remaining") == f"{row['budget_remaining'] * 100:.1f}%"
    # 99.9% over 30 days = 43.2 minutes (REFERENCE §2); gold SLOs (99.95%) get 21.6.
    target = defs.filter(pl.col("slo") == name)["target"][0]
    assert _metric(at, "Error budget") == f"{(1 - target) * 30 * 1440:,.1f} min"
    history = next(d.value for d in at.dataframe if "peak_long_burn" in d.value.columns)
    mine = fired.filter(pl.col("slo") == name)
    assert len(history) == mine.height > 0
    assert sorted(history["alert"].unique()) == sorted(mine["alert"].unique().to_list())

    deps = queries.deployments(demo_engine, Filters(start=PERIOD[0].date(),
                                                    end=(AT - timedelta(days=1)).date(),
                                                    environment="production"))
    cand = deployments_during_burn(deps, fired, severity="page")
    assert _metric(at, "Candidate deployments") == f"{cand['deployment_id'].n_unique():,}"
    assert len(at.dataframe[-1].value) == cand.height


def test_slos_page_follows_the_team_filter(demo_engine, app_for):
    at = app_for(demo_engine, "pages/slos.py")
    at.sidebar.multiselect(key="team").select("payments").run()
    assert not at.exception
    team = queries.services(demo_engine).filter(pl.col("team") == "payments")["service"]
    assert _metric(at, "SLOs") == str(len(team))
    assert set(at.dataframe[0].value["service"]) == set(team.to_list())


def _cli(engine, month: str) -> pl.DataFrame:
    args = argparse.Namespace(month=report_sla.parse_month(month), contract=[], service=[])
    return pl.DataFrame(report_sla.compute(engine, args))


def test_slas_page_matches_the_cli_and_switches_months(demo_engine, app_for):
    at = app_for(demo_engine, "pages/slas.py")
    assert at.title[0].value == "SLAs"
    month = at.selectbox(key="slas_month")
    assert month.value == "2026-10"  # the last complete month by default
    assert month.options[0] == "2026-11 (in progress)"
    for label in ("2026-10", "2026-09"):
        if label != "2026-10":
            at.selectbox(key="slas_month").select(label).run()
            assert not at.exception
        cli = _cli(demo_engine, label)
        assert _metric(at, "Breaches") == str(cli["breached"].sum())
        assert _metric(at, "Credits owed") == f"{cli['credit_amount'].sum():,.2f} EUR"
        shown = pl.from_pandas(at.dataframe[0].value)
        both = shown.join(cli, on=["contract", "service"], suffix="_cli")
        assert both.height == cli.height == 40
        for col in ("uptime_pct", "excluded_minutes", "downtime_minutes", "credit_amount"):
            assert (both[col] - both[f"{col}_cli"]).abs().max() < 1e-9, col
        breaches = next(d.value for d in at.dataframe if "escalation" in d.value.columns)
        assert len(breaches) == cli["breached"].sum()
        assert set(breaches["escalation"]) <= {"account-manager", "service-director"}
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download HTML"]


def test_pages_on_an_empty_store_say_what_is_missing(engine, app_for):
    at = app_for(engine, "pages/slos.py")
    assert any("No SLO with SLI samples" in i.value for i in at.info)
    at.switch_page("pages/slas.py").run()
    assert not at.exception
    assert any("No SLA contract" in i.value for i in at.info)
