"""SLOs and SLAs pages, headless from app.py: the numbers shown are the pure functions' numbers."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from analytics.cli import main, report_sla, report_ticket_sla
from analytics.metrics.slo import slo_status
from analytics.metrics.slo_alerts import alert_history, alert_status, deployments_during_burn
from analytics.store import queries
from analytics.store.bulk import bulk_insert
from analytics.store.db import read_frame
from analytics.store.queries import Filters

AT = datetime(2026, 11, 23)  # the demo's newest 5-minute bucket starts 2026-11-22 23:55
PERIOD = (datetime(2026, 8, 25), AT)  # the SLIs' 90 days (the demo's monitoring data)


def _metric(at, label):
    """A tile's value by its label (tile labels may carry a colour and a state mark)."""
    return next(m for m in at.metric if m.label == label or m.label.endswith(f" {label}]")).value


def _states(status, firing):
    """SLO states computed here from the truth: exhausted ≤ 0 left, at risk < 25 % left or an
    alert pair firing, else healthy."""
    rem = dict(zip(status["slo"].to_list(), status["budget_remaining"].to_list(), strict=True))
    hot = set(firing["slo"].to_list())
    return {s: "exhausted" if r <= 0 else "at risk" if r < 0.25 or s in hot else "healthy"
            for s, r in rem.items()}


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
    states = _states(status, firing)
    for state, label in (("healthy", "Healthy"), ("at risk", "At risk"),
                         ("exhausted", "Exhausted")):
        assert _metric(at, label) == str(list(states.values()).count(state))
    assert _metric(at, "Alerts firing now") == str(firing.height)
    table = at.dataframe[0].value
    assert len(table) == 40
    # worst first: exhausted, then at risk, then healthy
    rank = {"exhausted": 0, "at risk": 1, "healthy": 2}
    shown_states = [s.split(" ", 1)[1] for s in table["state"]]
    assert shown_states == sorted(shown_states, key=rank.__getitem__)
    for row in status.iter_rows(named=True):
        shown = table[table["slo"] == row["slo"]].iloc[0]
        assert shown["state"].endswith(states[row["slo"]])
        assert shown["budget_remaining"] == pytest.approx(row["budget_remaining"] * 100)
        assert shown["sli"] == pytest.approx(row["sli"] * 100)
        n = firing.filter(pl.col("slo") == row["slo"]).height
        assert shown["firing"] == (f"{n} of 4" if n else "none")
        # the daily burn-down ends at the budget remaining now
        assert shown["burn_down"][-1] == pytest.approx(row["budget_remaining"])

    # The SLO whose alerts fired most often in the period (chosen from the data, not by name).
    name = fired["slo"].mode().sort()[0]
    at.selectbox(key="slo").select(name).run()
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
    at.toggle(key="slos_candidates").set_value(True).run()
    assert not at.exception
    assert _metric(at, "Candidate deployments") == f"{cand['deployment_id'].n_unique():,}"
    assert len(at.dataframe[-1].value) == cand.height


def test_slos_page_follows_the_team_filter(demo_engine, app_for):
    at = app_for(demo_engine, "pages/slos.py")
    at.sidebar.multiselect(key="team").select("payments").run()
    assert not at.exception
    team = queries.services(demo_engine).filter(pl.col("team") == "payments")["service"]
    assert sum(int(_metric(at, k)) for k in ("Healthy", "At risk", "Exhausted")) == len(team)
    assert set(at.dataframe[0].value["service"]) == set(team.to_list())


def _cli(engine, month: str) -> pl.DataFrame:
    args = argparse.Namespace(month=report_sla.parse_month(month), contract=[], service=[])
    return pl.DataFrame(report_sla.compute(engine, args))


def test_slas_page_matches_the_cli_and_switches_months(demo_engine, app_for):
    at = app_for(demo_engine, "pages/slas.py")
    assert at.title[0].value == "SLAs"
    month = at.selectbox(key="sla_month")
    assert month.value == "2026-10"  # the last complete month by default
    assert month.options[0] == "2026-11 (in progress)"
    for label in ("2026-10", "2026-09"):
        if label != "2026-10":
            at.selectbox(key="sla_month").select(label).run()
            assert not at.exception
        cli = _cli(demo_engine, label)
        hit = cli.filter(pl.col("breached"))["contract"].n_unique()
        assert _metric(at, "Contracts breached") == f"{hit} of {cli['contract'].n_unique()}"
        worst = cli.sort("uptime_pct").row(0, named=True)
        assert _metric(at, "Worst uptime") == f"{worst['uptime_pct']:.3f}%"
        assert _metric(at, "Credits owed") == f"{cli['credit_amount'].sum():,.2f} EUR"
        shown = pl.from_pandas(next(d.value for d in at.dataframe
                                    if "downtime_minutes" in d.value.columns))
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


def _two_resolution_store(engine) -> datetime:
    """A rolling 7-day SLO whose older samples are 1-minute buckets and whose last 7 days are
    10-minute buckets; returns the evaluation instant (the end of the newest bucket)."""
    t0, cut, end = datetime(2026, 3, 1), datetime(2026, 3, 8), datetime(2026, 3, 15)
    fine = pl.DataFrame({"slo_id": 1, "ts": pl.datetime_range(t0, cut, "1m", closed="left",
                                                               eager=True),
                         "good": 100.0, "total": 100.0})
    coarse_ts = pl.datetime_range(cut, end, "10m", closed="left", eager=True)
    bad = {cut + timedelta(days=d, hours=12) for d in (1, 3, 5)}
    coarse = pl.DataFrame({"slo_id": 1, "ts": coarse_ts,
                           "good": [990.0 if t in bad else 1000.0 for t in coarse_ts],
                           "total": 1000.0})
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "id": [1], "name": ["api"], "team": ["core"], "tier": ["gold"], "criticality": [1],
            "customer_facing": [True], "timezone": ["UTC"], "confirmed": [True],
            "source": ["test"], "external_id": ["api"]}))
        bulk_insert(conn, "slo", pl.DataFrame({
            "id": [1], "name": ["api-availability"], "service_id": [1], "target": [0.999],
            "window_kind": ["rolling"], "window_days": [7], "timezone": ["UTC"],
            "source": ["test"], "external_id": ["a"]}))
        bulk_insert(conn, "sli_sample", pl.concat([fine, coarse]))
    return end


def test_slos_page_and_cli_read_the_same_samples(engine, app_for, capsys):
    # Regression: the page read from (window start or period start) − 3 days and the CLI from
    # the window start, so the page saw the older 1-minute buckets and the CLI did not: the
    # page said nothing about resolution, the CLI warned. The status reads [at − 7 d, at) for
    # both now. By hand: the window holds 1,008 ten-minute buckets of 1,000 events, 30 bad →
    # SLI 1 − 30 / 1,008,000; the data resolution is 10 minutes, so the 5-minute short window
    # of "page 2% in 1h" is finer than the data.
    end = _two_resolution_store(engine)
    hand_sli = 1 - 30 / 1_008_000
    hand_warnings = ["page 2% in 1h: short window 5m is finer than the data resolution 10m"]
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "slo", "--format", "json"]) == 0
    (cli,) = json.loads(capsys.readouterr().out)
    assert cli["at"] == end.isoformat()
    assert cli["sli"] == pytest.approx(hand_sli)
    assert cli["warnings"] == hand_warnings

    at = app_for(engine, "pages/slos.py")
    assert _metric(at, "SLI") == f"{hand_sli * 100:.4f}%"
    shown = [w.value for w in at.warning] + [t.value for t in at.text]
    assert [line.removeprefix("⚠ ") for v in shown for line in v.splitlines()
            if "short window" in line] == hand_warnings


def _sla_store(engine) -> None:
    """One UTC contract over checkout and ledger (ledger has no row in the service table) and a
    production outage incident of checkout open from 1 Nov 2025 to 2 Mar 2026 00:00."""
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "id": [1], "name": ["checkout"], "team": ["payments"], "tier": ["gold"],
            "criticality": [1], "customer_facing": [True], "timezone": ["UTC"],
            "confirmed": [True], "source": ["test"], "external_id": ["checkout"]}))
        bulk_insert(conn, "sla_contract", pl.DataFrame({
            "name": ["acme"], "customer": ["ACME"], "services": ['["checkout", "ledger"]'],
            "tier": ["silver"], "target_pct": [99.9], "timezone": ["UTC"], "period": ["month"],
            "exclusion_mode": ["exclude"], "exclude_third_party": [False],
            "monthly_fee": [1000.0], "currency": ["EUR"], "credit_cap_pct": [100.0],
            "credits": [json.dumps([{"below_pct": 99.9, "credit_pct": 10},
                                    {"below_pct": 99.0, "credit_pct": 30}])],
            "escalation": ["account-manager"], "effective_from": [datetime(2026, 1, 1)]}))
        bulk_insert(conn, "incident", pl.DataFrame({
            "service_id": [1], "environment": ["production"], "severity": [1],
            "opened_at": [datetime(2025, 11, 1)], "resolved_at": [datetime(2026, 3, 2)],
            "customer_facing": [True], "outage": [True], "source": ["test"],
            "external_id": ["i1"]}))
        # A ticket in late March so the page offers March (months run to the newest data).
        bulk_insert(conn, "ticket", pl.DataFrame({
            "service_id": [1], "opened_at": [datetime(2026, 3, 31, 9)],
            "closed_at": [datetime(2026, 3, 31, 10)], "severity": [3], "source": ["test"],
            "external_id": ["t1"]}))


def _by_service(frame: pl.DataFrame) -> dict:
    return {(r["service"], k): r[c] for r in frame.iter_rows(named=True)
            for k, c in (("uptime", "uptime_pct"), ("down", "downtime_minutes"),
                         ("credit", "credit_amount"))}


def test_slas_page_and_cli_agree_on_services_and_old_outages(engine, app_for):
    # Regression: the page kept only services with a row in the service table (the CLI kept
    # every service the contract names), and both read outage incidents opened at most 92
    # days before the month, so an outage open since 1 Nov 2025 never counted. By hand, March
    # (UTC, 44,640 min): checkout was down 1 March 00:00 – 2 March 00:00 = 1,440 min →
    # (44,640 − 1,440) ÷ 44,640 = 96.7742% < 99.0 → 30% of 1,000 EUR = 300; ledger has no
    # outage → 100%, no credit.
    _sla_store(engine)
    hand = {("checkout", "uptime"): (44_640 - 1_440) / 44_640 * 100,
            ("checkout", "down"): 1_440.0, ("checkout", "credit"): 300.0,
            ("ledger", "uptime"): 100.0, ("ledger", "down"): 0.0, ("ledger", "credit"): 0.0}
    cli = _cli(engine, "2026-03")
    assert _by_service(cli) == pytest.approx(hand)

    at = app_for(engine, "pages/slas.py")
    at.selectbox(key="sla_month").select("2026-03").run()
    assert not at.exception
    shown = pl.from_pandas(next(d.value for d in at.dataframe
                                if "downtime_minutes" in d.value.columns))
    assert _by_service(shown) == pytest.approx(hand)
    assert _metric(at, "Contracts breached") == "1 of 1"
    assert _metric(at, "Credits owed") == "300.00 EUR"


def test_slos_page_composite_section(demo_engine, app_for, truth):
    _defs, status, _firing, _fired = truth
    at = app_for(demo_engine, "pages/slos.py")
    svc = at.selectbox(key="slos_composite_service").value
    own = status.filter(pl.col("service") == svc)
    # Default: every SLO of the service, equal weights, target = their mean target.
    assert _metric(at, "Composite SLI") == f"{own['sli'].mean() * 100:.4f}%"
    assert _metric(at, "Composite target") == f"{own['target'].mean() * 100:.3f}%"
    other = status.filter(pl.col("service") != svc).sort("slo").row(0, named=True)
    at.multiselect(key=f"slos_composite_{svc}").select(other["slo"]).run()
    assert not at.exception
    both = pl.concat([own.select("sli", "target"),
                      pl.DataFrame({"sli": [other["sli"]], "target": [other["target"]]})])
    assert _metric(at, "Composite SLI") == f"{both['sli'].mean() * 100:.4f}%"


def test_slas_page_ticket_section_matches_plain_sql(demo_engine, app_for):
    at = app_for(demo_engine, "pages/slas.py")
    start, end = at.sidebar.date_input(key="period").value
    counts = read_frame(demo_engine, """
        SELECT count(*) AS n, sum(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END) AS closed
        FROM ticket WHERE severity IS NOT NULL AND opened_at >= ? AND opened_at < ?""",
                        [datetime.combine(start, datetime.min.time()),
                         datetime.combine(end + timedelta(days=1), datetime.min.time())]).row(0)
    assert _metric(at, "Tickets") == f"{counts[0]:,}"
    args = argparse.Namespace(start=start, end=end, service=[], team=[], at=None, holidays=None)
    cli = pl.DataFrame(report_ticket_sla.compute(demo_engine, args))
    assert cli["resolved"].sum() == counts[1]
    met = cli["resolution_met"].sum() / cli["resolved"].sum()
    assert _metric(at, "Resolved within target") == f"{met:.1%}"
    table = next(d.value for d in at.dataframe if "resolution_met" in d.value.columns)
    assert table["resolution_breached"].tolist() == cli["resolution_breached"].to_list()
    # The demo records first responses: the response timer is measured, tile = CLI share.
    answered = cli["response_met"].sum() / (cli["response_met"].sum() + cli["response_breached"].sum())
    assert _metric(at, "Answered within target") == f"{answered:.1%}"
    assert table["response_met"].tolist() == cli["response_met"].to_list()
    assert cli["responded"].sum() > 0 and cli["response_median_hours"].null_count() == 0


EVIL = "[x](https://evil.example)"


def _hostile_store(engine) -> None:
    """A service, an SLO, a contract and a customer all named like a Markdown link."""
    t0 = datetime(2026, 3, 1)
    ts = pl.datetime_range(t0, t0 + timedelta(days=10), "5m", closed="left", eager=True)
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "id": [1], "name": [EVIL], "team": ["core"], "tier": ["gold"], "criticality": [1],
            "customer_facing": [True], "timezone": ["UTC"], "confirmed": [True],
            "source": ["test"], "external_id": ["evil"]}))
        bulk_insert(conn, "slo", pl.DataFrame({
            "id": [1], "name": [f"{EVIL}-availability"], "service_id": [1], "target": [0.999],
            "window_kind": ["rolling"], "window_days": [7], "timezone": ["UTC"],
            "source": ["test"], "external_id": ["a"]}))
        bulk_insert(conn, "sli_sample", pl.DataFrame({
            "slo_id": 1, "ts": ts, "good": [90.0 if k % 50 == 0 else 100.0
                                            for k in range(ts.len())], "total": 100.0}))
        bulk_insert(conn, "sla_contract", pl.DataFrame({
            "name": [EVIL], "customer": [EVIL], "services": [json.dumps([EVIL])],
            "tier": ["silver"], "target_pct": [99.9], "timezone": ["UTC"], "period": ["month"],
            "exclusion_mode": ["exclude"], "exclude_third_party": [False],
            "monthly_fee": [1000.0], "currency": ["EUR"], "credit_cap_pct": [100.0],
            "credits": [json.dumps([{"below_pct": 99.9, "credit_pct": 10}])],
            "escalation": ["account-manager"], "effective_from": [datetime(2026, 1, 1)]}))
        bulk_insert(conn, "incident", pl.DataFrame({
            "service_id": [1], "environment": ["production"], "severity": [1],
            "opened_at": [datetime(2026, 3, 2)], "resolved_at": [datetime(2026, 3, 2, 2)],
            "customer_facing": [True], "outage": [True], "source": ["test"],
            "external_id": ["i1"]}))


def _markdown_bodies(at) -> list[str]:
    """Everything the page rendered as Markdown (markdown, captions, metric labels, alerts)."""
    return ([m.value for m in at.markdown] + [c.value for c in at.caption]
            + [m.label for m in at.metric] + [m.value for m in at.metric]
            + [x.value for x in (*at.info, *at.warning, *at.success, *at.error)]
            + [s.value for s in at.subheader] + [t.value for t in at.title])


@pytest.mark.parametrize("page", ["pages/slos.py", "pages/slas.py"])
def test_user_names_are_never_rendered_as_markdown(engine, app_for, page):
    _hostile_store(engine)
    at = app_for(engine, page)
    if page == "pages/slas.py":
        at.selectbox(key="sla_month").select("2026-03").run()
    assert not at.exception
    assert not [b for b in _markdown_bodies(at) if "evil.example" in b]
    # …but they are shown, as text or in tables.
    texts = [t.value for t in at.text]
    tables = [str(v) for d in at.dataframe for v in d.value.astype(str).to_numpy().ravel()]
    assert any(EVIL in t for t in texts) and any(EVIL in v for v in tables)


def test_slas_page_without_contracts_still_shows_ticket_and_resolution_sections(engine, app_for):
    """A store without SLA contracts (an imported real log) says so and goes on: the ticket and
    resolution sections below do not depend on a contract."""
    at = app_for(engine, "pages/slas.py")
    assert any("No SLA contract" in i.value for i in at.info)
    headings = [h.value for h in at.subheader]
    assert "Ticket SLA (business hours)" in headings
    assert "Resolution SLA by priority" in headings
