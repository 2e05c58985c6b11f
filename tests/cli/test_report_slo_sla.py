"""`report slo` and `report sla` on a small store whose numbers are computed by hand."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.cli import main
from analytics.store.bulk import bulk_insert

T0 = datetime(2026, 3, 1)


def _services() -> pl.DataFrame:
    return pl.DataFrame({
        "id": [1, 2], "name": ["checkout", "search"], "team": ["payments", "storefront"],
        "tier": ["gold", "silver"], "criticality": [1, 2], "customer_facing": [True, True],
        "timezone": ["Europe/Amsterdam", "UTC"], "confirmed": [True, True],
        "source": ["test", "test"], "external_id": ["checkout", "search"]})


def _fill_slo(engine: Engine) -> None:
    # checkout: 1,440 one-minute buckets × 100 events; the last 5 buckets have 20 bad each.
    # search: 144 ten-minute buckets × 50 events, nothing bad.
    n = 1440
    checkout = pl.DataFrame({"slo_id": 1, "ts": [T0 + timedelta(minutes=k) for k in range(n)],
                             "good": [100.0 - (20.0 if k >= n - 5 else 0.0) for k in range(n)],
                             "total": 100.0})
    search = pl.DataFrame({"slo_id": 2, "ts": [T0 + timedelta(minutes=10 * k) for k in range(144)],
                           "good": 50.0, "total": 50.0})
    slo = pl.DataFrame({
        "id": [1, 2], "name": ["checkout-availability", "search-availability"],
        "service_id": [1, 2], "indicator": "availability", "budgeting": "occurrences",
        "target": [0.999, 0.99], "window_kind": "rolling", "window_days": [30, 7],
        "timezone": "UTC", "source": "test", "external_id": ["c", "s"]})
    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
        bulk_insert(conn, "slo", slo)
        bulk_insert(conn, "sli_sample", pl.concat([checkout, search]))


def _run(engine: Engine, capsys: pytest.CaptureFixture, *argv: str) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_report_slo_by_hand(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill_slo(engine)
    out = _run(engine, capsys, "slo", "--at", "2026-03-02T00:00")
    checkout, search = out
    # 100 bad of 144,000 → SLI 1 − 100/144,000; consumed (100/144,000)/0.001 = 0.69444;
    # remaining 0.30556; burn over the last hour (100/6,000)/0.001 = 16.667;
    # exhaustion = 0.30556 × 720 h / 16.667 = 13.2 h.
    assert checkout["slo"] == "checkout-availability" and checkout["window"] == "rolling 30d"
    assert checkout["sli"] == pytest.approx(1 - 100 / 144_000, abs=1e-6)
    assert checkout["budget_consumed"] == pytest.approx(100 / 144_000 / 0.001, abs=1e-6)
    assert checkout["budget_remaining"] == pytest.approx(1 - 100 / 144_000 / 0.001, abs=1e-6)
    assert checkout["exhaustion_hours"] == pytest.approx(13.2, abs=1e-5)
    alerts = {a["name"]: a for a in checkout["alerts"]}
    # page 1h: long 16.67 > 14.4 and short (100/500)/0.001 = 200 > 14.4 → firing.
    page = alerts["page 2% in 1h"]
    assert (page["long_window"], page["short_window"], page["factor"]) == ("1h", "5m", 14.4)
    assert (page["long_burn"], page["short_burn"], page["firing"]) == \
        (pytest.approx(100 / 6 / 1, abs=1e-5), pytest.approx(200.0), True)
    # page 6h: long (100/36,000)/0.001 = 2.78 < 6 → not firing; the others burn 0.694.
    assert alerts["page 5% in 6h"]["long_burn"] == pytest.approx(2.777778, abs=1e-6)
    assert [a["firing"] for a in checkout["alerts"]] == [True, False, False, False]
    assert [a["factor"] for a in checkout["alerts"]] == [14.4, 6.0, 3.0, 1.0]
    # search: nothing bad → consumed 0, nothing burns → no exhaustion; 10-minute data is
    # coarser than the 5-minute short window; 7-day factors: 0.02×168/1 = 3.36.
    assert (search["sli"], search["budget_consumed"], search["exhaustion_hours"]) == (1.0, 0.0, None)
    assert search["alerts"][0]["factor"] == pytest.approx(3.36)
    assert search["warnings"] == [
        "page 2% in 1h: short window 5m is finer than the data resolution 10m"]


def test_report_slo_defaults_to_the_newest_sample_and_filters(engine: Engine,
                                                              capsys: pytest.CaptureFixture) -> None:
    _fill_slo(engine)
    out = _run(engine, capsys, "slo", "--service", "checkout")
    assert [r["slo"] for r in out] == ["checkout-availability"]
    assert out[0]["at"] == "2026-03-02T00:00:00"  # newest bucket 23:59 + its 1-minute width
    assert out[0]["alerts"][0]["firing"] is True


def test_report_slo_unknown_service_is_one_line(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill_slo(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "slo", "--service", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown service nope" in err and len(err.strip().splitlines()) == 1


GOLD = [{"below_pct": 99.95, "credit_pct": 10}, {"below_pct": 99.0, "credit_pct": 30},
        {"below_pct": 95.0, "credit_pct": 100}]
SILVER = [{"below_pct": 99.9, "credit_pct": 10}, {"below_pct": 99.0, "credit_pct": 30}]


def _fill_sla(engine: Engine) -> None:
    u = lambda d, h, m=0: datetime(2026, 3, d) + timedelta(hours=h, minutes=m)  # noqa: E731
    contracts = pl.DataFrame({
        "name": ["acme-gold", "acme-gold", "globex-silver"], "customer": ["ACME", "ACME", "Globex"],
        "services": ['["checkout"]', '["checkout"]', '["search"]'],
        "tier": ["gold", "silver", "silver"], "target_pct": [99.95, 99.9, 99.9],
        "timezone": ["Europe/Amsterdam", "Europe/Amsterdam", "UTC"], "period": "month",
        "exclusion_mode": ["exclude", "exclude", "count_as_up"],
        "exclude_third_party": [True, True, False], "monthly_fee": [2000.0, 1000.0, 500.0],
        "currency": "EUR", "credit_cap_pct": 100.0,
        "credits": [json.dumps(GOLD), json.dumps(GOLD), json.dumps(SILVER)],
        "escalation": ["account-manager", "account-manager", "service-owner"],
        "effective_from": [datetime(2026, 1, 1), datetime(2026, 4, 1), datetime(2026, 1, 1)]})
    outages = pl.DataFrame({
        "service_id": [1, 1, 1, 1, 2, 2],
        "start": [u(10, 2, 30), u(20, 10), u(25, 12), datetime(2026, 2, 28, 22), u(5, 0), u(8, 0)],
        "end": [u(10, 3, 30), u(20, 10, 45), u(25, 12, 20), datetime(2026, 2, 28, 23, 30),
                u(5, 1), u(8, 0, 20)],
        "cause": ["internal", "internal", "third_party", "internal", "internal", "internal"],
        "source": "test", "external_id": [f"o{i}" for i in range(6)]})
    windows = pl.DataFrame({
        "service_id": [1, 2], "start": [u(10, 1), u(1, 0)], "end": [u(10, 3), u(1, 0, 30)],
        "kind": "scheduled", "recurrence": [None, "FREQ=WEEKLY;BYDAY=SU"],
        "description": ["db upgrade", "weekly"], "source": "test", "external_id": ["m1", "m2"]})
    incident = pl.DataFrame({
        "service_id": [1, 1], "environment": "production", "severity": 1,
        "opened_at": [u(20, 10, 30), u(21, 0)], "resolved_at": [u(20, 11), u(21, 5)],
        "customer_facing": True, "outage": [True, False], "source": "test",
        "external_id": ["i1", "i2"]})
    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
        bulk_insert(conn, "sla_contract", contracts)
        bulk_insert(conn, "outage", outages)
        bulk_insert(conn, "maintenance_window", windows)
        bulk_insert(conn, "incident", incident)


def test_report_sla_by_hand(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill_sla(engine)
    acme, globex = _run(engine, capsys, "sla", "--month", "2026-03")
    # acme-gold (v1, Amsterdam): March = 44,580 min (DST). Excluded: maintenance 01:00-03:00
    # UTC on the 10th (120) + the third-party outage (20) = 140. Downtime outside exclusions:
    # 03:00-03:30 on the 10th (30) + 10:00-11:00 on the 20th (outage 10:00-10:45 ∪ incident
    # 10:30-11:00 = 60) + 23:00-23:30 UTC on 28 Feb, which is 00:00-00:30 on 1 March in
    # Amsterdam (30) = 120; the non-outage incident does not count.
    # Uptime = (44,580 − 140 − 120) / (44,580 − 140) = 44,320 / 44,440 = 99.72997…%
    # → below 99.95 (10%) but not 99.0 → 10% of 2,000 = 200.
    assert {k: acme[k] for k in ("contract", "service", "period_minutes", "excluded_minutes",
                                 "downtime_minutes", "target_pct", "breached", "credit_pct",
                                 "credit_amount", "escalation")} == {
        "contract": "acme-gold", "service": "checkout", "period_minutes": 44_580.0,
        "excluded_minutes": 140.0, "downtime_minutes": 120.0, "target_pct": 99.95,
        "breached": True, "credit_pct": 10.0, "credit_amount": 200.0,
        "escalation": "account-manager"}
    assert acme["uptime_pct"] == pytest.approx(44_320 / 44_440 * 100, abs=1e-6)
    # globex-silver (UTC, count_as_up): 44,640 min; weekly Sunday 00:00-00:30 on 1, 8, 15,
    # 22, 29 March = 150 excluded; the 20-minute outage on the 8th lies inside it; the 60
    # minutes on the 5th count. Uptime = (44,640 − 60) / 44,640 = 99.8656% < 99.9 → 10% of 500.
    assert (globex["period_minutes"], globex["excluded_minutes"], globex["downtime_minutes"]) == \
        (44_640.0, 150.0, 60.0)
    assert globex["uptime_pct"] == pytest.approx((44_640 - 60) / 44_640 * 100, abs=1e-6)
    assert (globex["breached"], globex["credit_pct"], globex["credit_amount"]) == (True, 10.0, 50.0)


def test_report_sla_table_prints_minutes_as_plain_numbers(engine: Engine,
                                                         capsys: pytest.CaptureFixture) -> None:
    # The table format: 44,580 period minutes (March in Amsterdam, see test_report_sla_by_hand)
    # print as "44,580", never "4.458e+04"; uptime keeps four significant digits; JSON is unchanged.
    _fill_sla(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "sla", "--month", "2026-03"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cols = lines[0].split()
    acme = dict(zip(cols, lines[2].split(), strict=True))
    assert "e+" not in "\n".join(lines)
    assert (acme["period_minutes"], acme["excluded_minutes"], acme["downtime_minutes"],
            acme["uptime_pct"], acme["credit_amount"]) == ("44,580", "140", "120", "99.73", "200")
    assert _run(engine, capsys, "sla", "--month", "2026-03")[0]["period_minutes"] == 44_580.0


@pytest.mark.parametrize(("value", "shown"), [
    (44_700.0, "44,700"), (44_700.5, "44,700.5"), (1_234.567, "1,234.57"), (999.94, "999.9"),
    (0.5, "0.5"), (-43_200.25, "-43,200.25"), (2_500_000.4, "2,500,000"), (12, "12"),
    (True, "True"), (None, "")])
def test_table_cells(value: object, shown: str) -> None:
    from analytics.cli.common import _show

    assert _show(value) == shown


def test_report_sla_picks_the_version_in_force(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill_sla(engine)
    out = _run(engine, capsys, "sla", "--month", "2026-04", "--contract", "acme-gold")
    # April: v2 (target 99.9, fee 1,000); no outage → 100%, no credit. April in Amsterdam has
    # 30 × 1,440 = 43,200 minutes.
    assert [(r["tier"], r["target_pct"], r["uptime_pct"], r["credit_amount"], r["period_minutes"])
            for r in out] == [("silver", 99.9, 100.0, 0.0, 43_200.0)]


@pytest.mark.parametrize(("argv", "needle"), [
    (["--month", "2026-03", "--contract", "nobody"], "unknown contract nobody"),
    (["--month", "2026-03", "--service", "ghost"], "unknown service ghost"),
])
def test_report_sla_bad_input(engine: Engine, capsys: pytest.CaptureFixture, argv: list[str],
                              needle: str) -> None:
    _fill_sla(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "sla", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_report_sla_totals(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    # The page's totals, now in the report: March breaches acme-gold/checkout (200 EUR) and
    # globex-silver/search (50 EUR), both in EUR (see test_report_sla_by_hand).
    _fill_sla(engine)
    assert _run(engine, capsys, "sla", "--month", "2026-03", "--totals") == [
        {"currency": "EUR", "contracts": 2, "service_months": 2, "breaches": 2,
         "credit_amount": 250.0}]
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "sla", "--month", "2026-03", "--totals"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["currency", "contracts", "service_months", "breaches",
                                "credit_amount"]
    assert table[2].split() == ["EUR", "2", "2", "2", "250"]


def test_report_ticket_sla(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    # Mon–Fri 09:00–17:00 in the workbench zone (UTC). 6 March 2026 is a Friday.
    # P1 (8 h): Fri 16:00 → Mon 16:30 = 1 + 7.5 = 8.5 h → breached.
    # P2 (16 h): Fri 20:00 (evening: starts Mon 09:00) → Tue 16:00 = 8 + 7 = 15 h → met.
    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
        bulk_insert(conn, "ticket", pl.DataFrame({
            "service_id": [1, 2], "severity": [1, 2],
            "opened_at": [datetime(2026, 3, 6, 16), datetime(2026, 3, 6, 20)],
            "closed_at": [datetime(2026, 3, 9, 16, 30), datetime(2026, 3, 10, 16)],
            # Response targets P1 1 h, P2 4 h. P1 answered Fri 16:45: 0.75 h → met. P2 answered
            # Mon 15:00: 09-15 = 6 h > 4 → late (due Mon 13:00).
            "first_response_at": [datetime(2026, 3, 6, 16, 45), datetime(2026, 3, 9, 15)],
            "source": "test", "external_id": ["a", "b"]}))
    rows = {r["priority"]: r for r in _run(engine, capsys, "ticket-sla", "--from", "2026-03-01")}
    assert [(rows[p]["response_met"], rows[p]["response_breached"], rows[p]["response_median_hours"])
            for p in ("P1", "P2")] == [(1, 0, 0.75), (0, 1, 6.0)]
    months = _run(engine, capsys, "ticket-sla", "--by", "month")
    assert [(m["month"], m["priority"], m["response_met_pct"], m["resolution_met_pct"])
            for m in months] == [("2026-03", "P1", 100.0, 0.0), ("2026-03", "P2", 0.0, 100.0)]
    assert (rows["P1"]["resolution_breached"], rows["P1"]["resolution_met"]) == (1, 0)
    assert (rows["P2"]["resolution_breached"], rows["P2"]["resolution_met"]) == (0, 1)
    assert (rows["P3"]["tickets"], rows["P4"]["tickets"]) == (0, 0)
    only = _run(engine, capsys, "ticket-sla", "--service", "search")
    assert [r["tickets"] for r in only] == [0, 1, 0, 0]
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "ticket-sla", "--service", "ghost"]) == 2
    assert "unknown service ghost" in capsys.readouterr().err


def test_report_uci_sla_timers(engine: Engine, capsys: pytest.CaptureFixture,
                               tmp_path) -> None:  # noqa: ANN001
    from tests.studies.test_uci_sla_timers import HEAD, ROWS

    # The study's hand-made log: incident 2 breaches the 4 h timer but the log says met,
    # incident 3 meets it (paused while waiting) but the log says breached; 1 and 4 agree.
    path = tmp_path / "incident_event_log.csv"
    path.write_text("\n".join([HEAD, *ROWS]) + "\n")
    out = _run(engine, capsys, "uci-sla-timers", str(path))
    assert (out["incidents"], out["timed"], out["agreement"]) == (5, 4, 0.5)
    assert out["confusion"] == {"timer_breach_log_breach": 0, "timer_breach_log_met": 1,
                                "timer_met_log_breach": 1, "timer_met_log_met": 2}
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "uci-sla-timers", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
