"""Issue 19: agreement import, coverage gaps, hierarchy, vendor scorecard, lifecycle, finance.
Every expected number is computed by hand in the test (November 2026 = 43,200 minutes)."""

from __future__ import annotations

from datetime import date, datetime, UTC

import polars as pl
import pytest
from sqlmodel import Session, select

from analytics.contracts.gaps import serial_availability
from analytics.contracts.hierarchy import effective_target
from analytics.contracts.store import catalogue, decommission
from analytics.ingest.agreements import import_agreements, parse
from analytics.ingest.contract_csv import import_csv
from analytics.ingest.validate import InvalidImport
from analytics.reports import contracts as rc
from analytics.reports import vendors as rv
from analytics.store.models import MonitoringRule, VendorOutage
from tests.contracts.agreement_store import AGREEMENTS

MONTH = 43200.0


def test_serial_availability_is_the_product_of_targets():
    assert serial_availability([99.9, 99.95]) == pytest.approx(0.999 * 0.9995 * 100)
    assert serial_availability([99.9, 99.95]) == pytest.approx(99.85005)


def test_import_is_idempotent_and_errors_name_file_and_field(store):
    again = import_agreements(store, upload=("agreements.toml", AGREEMENTS))
    assert (again["inserted"], again["updated"]) == (0, 0)
    bad = AGREEMENTS.replace(b'target_pct = 99.95\nwindow = "quarter"', b'target_pct = "high"')
    with pytest.raises(InvalidImport) as exc:
        parse(bad, "mine.toml")
    assert "mine.toml, column 'target_pct', value 'high': agreement 'paygate-uc'" in str(exc.value)
    with pytest.raises(InvalidImport, match="unknown vendor"):
        parse(AGREEMENTS.replace(b'vendor = "PayGate"\ncomponent', b'vendor = "Nobody"\ncomponent'), "x")


def test_coverage_gaps(store):
    g = rc.gaps_frame(catalogue(store))
    tight = g.filter(pl.col("kind") == "tighter_than_underpinning").row(0, named=True)
    # 0.999 (EdgeCDN) × 0.9995 (app OLA) × 0.9995 (PayGate) = 0.998500749875…
    assert tight["subject"] == "acme-checkout"
    assert tight["deliverable_pct"] == pytest.approx(0.999 * 0.9995 * 0.9995 * 100)
    assert g.filter(pl.col("kind") == "component_without_agreement")["subject"].to_list() == ["checkout/dns"]
    mism = g.filter(pl.col("kind") == "window_mismatch")
    assert mism["subject"].to_list() == ["paygate-uc"]
    assert "window quarter vs month" in mism["detail"][0]


def test_effective_target_resolution(store):
    cat = catalogue(store)
    eff = effective_target(cat.agreements, customer="Acme", service="checkout", day=date(2026, 11, 5))
    assert (eff.target_pct, eff.agreement, eff.rule) == (99.9, "acme-checkout", "customer override")
    other = effective_target(cat.agreements, customer="Bob", service="checkout", day=date(2026, 11, 5))
    assert (other.target_pct, other.rule) == (99.5, "corporate")


def test_vendor_scorecard_hand_computed(store):
    import_csv(store, "vendor-data", upload=("v.csv", b"vendor,service,component,month,uptime_pct,"
               b"downtime_minutes,incidents\nEdgeCDN,checkout,cdn,2026-11,99.95,21.6,1\n"))
    card, unlinked = rv.vendor_scorecard(store, month="2026-11")
    assert unlinked.height == 0
    row = card.filter(pl.col("vendor") == "EdgeCDN").row(0, named=True)
    measured = (MONTH - 60) / MONTH * 100  # 99.861111…
    assert row["measured_pct"] == pytest.approx(measured)
    assert row["outages"] == 1 and row["downtime_minutes"] == 60
    assert row["met"] is False
    assert row["credit_due"] == pytest.approx(0.10 * 500)
    # The customer's month: 90 minutes down → 99.7917% < 99.9 → 10% of 1000.
    assert row["credits_owed_customers"] == pytest.approx(100.0)
    assert row["difference_pp"] == pytest.approx(99.95 - measured)
    assert row["disputed"] is True
    pay = card.filter(pl.col("vendor") == "PayGate").row(0, named=True)
    assert (pay["measured_pct"], pay["credit_due"], pay["reported_pct"]) == (100.0, 0.0, None)
    assert rv.store_vendor_links(store, months=["2026-11"], actor="t") == 1
    assert rv.store_vendor_links(store, months=["2026-11"], actor="t") == 0
    with Session(store) as s:
        assert len(s.exec(select(VendorOutage)).all()) == 1


def test_history_trend_and_at_risk_projection(store):
    hist = rc.sla_history(store, month="2026-11", months=2)
    assert hist.sort("month")["uptime_pct"].to_list() == pytest.approx([100.0, (MONTH - 90) / MONTH * 100])
    from analytics.contracts.lifecycle import trend
    t = trend(hist).row(0, named=True)
    assert t["slope_pp_per_month"] == pytest.approx((MONTH - 90) / MONTH * 100 - 100.0)
    risk = rc.at_risk(hist, month="2026-11", now=datetime(2026, 11, 11, tzinfo=UTC)).row(0, named=True)
    # 10 of 30 days elapsed: 90 min so far → 270 min projected → (43200 − 270) / 43200 = 99.375%.
    assert risk["projected_downtime_minutes"] == pytest.approx(270.0)
    assert risk["projected_uptime_pct"] == pytest.approx(99.375)
    assert risk["allowed_downtime_minutes"] == pytest.approx(43.2)
    assert risk["at_risk"] is True


def test_finance_differences(store):
    import_csv(store, "billed-credits", upload=("b.csv", b"contract,customer,month,amount,currency\n"
               b"acme-gold,Acme,2026-11,80,EUR\nghost,Ghost,2026-11,25,EUR\nacme-gold,Acme,2026-10,0,EUR\n"))
    rec = rc.finance_reconciliation(store, months=["2026-10", "2026-11"])
    got = {(r["contract"], r["month"]): (r["computed"], r["billed"], r["difference"], r["status"])
           for r in rec.iter_rows(named=True)}
    assert got == {("acme-gold", "2026-10"): (0.0, 0.0, 0.0, "match"),
                   ("acme-gold", "2026-11"): (100.0, 80.0, -20.0, "differs"),
                   ("ghost", "2026-11"): (0.0, 25.0, 25.0, "billed, none computed")}


def test_review_calendar_and_decommissioning(store):
    due = rc.review_calendar(store, today=date(2026, 12, 10), days=14)
    assert due.select("agreement", "event", "days_left").rows() == [
        ("corporate", "review", 5), ("acme-checkout", "review", 10)]
    with Session(store) as s, s.begin():
        assert decommission(session=s, name="acme-checkout", actor="t", on=date(2026, 12, 1)) == 1
    with Session(store) as s:
        assert [r.active for r in s.exec(select(MonitoringRule))] == [False]
    assert "acme-checkout" not in rc.review_calendar(store, today=date(2026, 12, 10), days=14)["agreement"].to_list()
    assert rc.gaps_frame(catalogue(store)).filter(pl.col("kind") == "tighter_than_underpinning").height == 0
