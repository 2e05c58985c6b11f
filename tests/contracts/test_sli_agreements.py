"""Issue 19 point 3: agreements on outages and on business-hours ticket timers, resolved through
the hierarchy and evaluated per month against hand-computed figures.

Store (tests/contracts/agreement_store.py plus the agreements and tickets below), calendar
Mon–Fri 09:00–17:00 UTC, P1 resolution target 8 business hours (reports/ticket_sla.toml):
- outages on checkout in November: 60 min (3 Nov) + 30 min (10 Nov) = 2 outages, 90 minutes;
- tickets on checkout (P1), evaluated at the newest ticket event (1 Dec 10:00):
  t1 c1 Mon 2 Nov 09:00 → 12:00: 3 h, met; t2 c1 Tue 3 Nov 09:00 → Wed 4 Nov 13:00: 8 + 4 = 12 h,
  breached; t3 c2 Thu 5 Nov 09:00 → 10:00: met; t4 c2 Fri 6 Nov 09:00, still open on 1 Dec:
  overdue, breached; t6 c3 Mon 9 Nov 09:00 → 09:30: met; t5 c1 Tue 1 Dec 09:00 → 10:00: met;
  tb on billing (another service) is never counted for checkout.
  November, every segment: met 3 of 5 decided = 60% < 80% target → missed.
  November, enterprise (c1's latest answer; its earlier one said smb): t1 met, t2 breached =
  50% ≥ 50% → met. December: t5 alone, 100%.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlmodel import Session

from analytics.cli import main
from analytics.contracts import hierarchy
from analytics.contracts.store import catalogue
from analytics.ingest.agreements import import_agreements
from analytics.ingest.sla_contracts import import_contracts
from analytics.reports import contracts as rc
from analytics.store.models import CsatResponse, Outage, Service, Ticket
from tests.contracts.agreement_store import AGREEMENTS, SLA

EXTRA = b"""
[[agreement]]
name = "acme-outages"
kind = "customer_sla"
parent = "corporate"
customer = "Acme"
service = "checkout"
sli = "outages"
target_pct = 1
effective_from = 2026-01-01

[[agreement]]
name = "checkout-fix"
kind = "service_sla"
parent = "corporate"
service = "checkout"
sli = "resolution"
target_pct = 80
effective_from = 2026-01-01

[[agreement]]
name = "enterprise-fix"
kind = "service_sla"
parent = "corporate"
service = "checkout"
segment = "enterprise"
sli = "resolution"
target_pct = 50
effective_from = 2026-01-01

[[agreement]]
name = "checkout-answer"
kind = "service_sla"
service = "checkout"
sli = "response"
target_pct = 90
effective_from = 2026-01-01
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def sli_store(engine):
    with Session(engine) as s, s.begin():
        svc = Service(external_id="checkout", name="checkout", team="payments-team")
        other = Service(external_id="billing", name="billing", team="payments-team")
        s.add_all([svc, other])
        s.flush()
        s.add(Outage(external_id="o1", service_id=svc.id, start=utc(2026, 11, 3, 10),
                     end=utc(2026, 11, 3, 11), cause="third_party"))
        s.add(Outage(external_id="o2", service_id=svc.id, start=utc(2026, 11, 10, 8),
                     end=utc(2026, 11, 10, 8, 30), cause="internal"))
        tickets = [("t1", svc, "c1", utc(2026, 11, 2, 9), utc(2026, 11, 2, 12)),
                   ("t2", svc, "c1", utc(2026, 11, 3, 9), utc(2026, 11, 4, 13)),
                   ("t3", svc, "c2", utc(2026, 11, 5, 9), utc(2026, 11, 5, 10)),
                   ("t4", svc, "c2", utc(2026, 11, 6, 9), None),
                   ("t6", svc, "c3", utc(2026, 11, 9, 9), utc(2026, 11, 9, 9, 30)),
                   ("t5", svc, "c1", utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)),
                   ("tb", other, "c1", utc(2026, 11, 2, 9), utc(2026, 11, 20, 9))]
        # First responses (P1: 1 business hour, Mon–Fri 09–17 UTC): t1 after 0.5 h and t6
        # after 10 min → met; t2 after 1.5 h → breached; t4 (Fri 09:00, open, unanswered) is
        # past due from 10:00 → breached; t3 closed with no recorded response → left out.
        # November: 2 met of 4 decided = 50.0 % < 90 → not met. December: t5 after 45 min → 100 %.
        answered = {"t1": utc(2026, 11, 2, 9, 30), "t2": utc(2026, 11, 3, 10, 30),
                    "t6": utc(2026, 11, 9, 9, 10), "t5": utc(2026, 12, 1, 9, 45)}
        for ext, service, who, opened, closed in tickets:
            s.add(Ticket(external_id=ext, service_id=service.id, customer_id=who, severity=1,
                         opened_at=opened, closed_at=closed, first_response_at=answered.get(ext)))
        for ext, who, seg, day in (("a1", "c1", "smb", 1), ("a2", "c1", "enterprise", 20),
                                   ("a3", "c2", "smb", 5)):
            s.add(CsatResponse(external_id=ext, customer_id=who, segment=seg, score=4,
                               responded_at=utc(2026, 10, day)))
    import_contracts(engine, upload=("sla.toml", SLA))
    import_agreements(engine, upload=("agreements.toml", AGREEMENTS + EXTRA))
    return engine


def test_each_sli_resolves_on_its_own():
    from analytics.contracts.store import Terms

    corp = Terms("corp", "corporate", 99.5)
    fix = Terms("fix", "service_sla", 80, service="api", sli="resolution")
    assert hierarchy.effective_target([corp, fix], customer="A", service="api").agreement == "corp"
    eff = hierarchy.effective_target([corp, fix], customer="A", service="api", sli="resolution")
    assert (eff.agreement, eff.rule, eff.sli, eff.target_pct) == ("fix", "service", "resolution", 80)
    assert hierarchy.effective_target([corp, fix], customer="A", service="api", sli="outages") is None


def test_targets_list_every_sli(sli_store):
    t = rc.effective_targets(catalogue(sli_store), date(2026, 11, 30), rc.contract_services(sli_store))
    assert sorted(t.select("customer", "sli", "agreement", "rule", "target").rows(),
                  key=lambda r: (r[0] or "", r[1], r[2])) == [
        (None, "resolution", "checkout-fix", "service", 80.0),
        (None, "resolution", "enterprise-fix", "segment", 50.0),
        (None, "response", "checkout-answer", "service", 90.0),
        ("Acme", "availability", "acme-checkout", "customer override", 99.9),
        ("Acme", "outages", "acme-outages", "customer override", 1.0),
        ("Acme", "resolution", "checkout-fix", "service", 80.0),
        ("Acme", "response", "checkout-answer", "service", 90.0)]


def test_outage_and_ticket_agreements_hand_computed(sli_store):
    h = rc.sli_history(sli_store, month="2026-12", months=3)
    row = {(r["agreement"], r["month"]): r for r in h.iter_rows(named=True)}
    nov = row[("acme-outages", "2026-11")]
    assert (nov["measured"], nov["outage_minutes"], nov["met"]) == (2.0, 90.0, False)
    assert (row[("acme-outages", "2026-10")]["events"], row[("acme-outages", "2026-10")]["met"]) == (0, True)
    fix = row[("checkout-fix", "2026-11")]
    assert (fix["events"], fix["measured"], fix["met"]) == (5, pytest.approx(60.0), False)
    assert (row[("checkout-fix", "2026-12")]["measured"], row[("checkout-fix", "2026-12")]["met"]) == (100.0, True)
    ent = row[("enterprise-fix", "2026-11")]
    assert (ent["segment"], ent["events"], ent["measured"], ent["met"]) == ("enterprise", 2, 50.0, True)
    assert row[("checkout-fix", "2026-10")]["measured"] is None  # no ticket opened
    ans = row[("checkout-answer", "2026-11")]
    assert (ans["events"], ans["measured"], ans["met"], ans["note"]) == (5, 50.0, False, None)
    dec = row[("checkout-answer", "2026-12")]
    assert (dec["events"], dec["measured"], dec["met"]) == (1, 100.0, True)
    assert row[("checkout-answer", "2026-10")]["note"] == "no ticket decided"


def test_cli_history_by_sli(sli_store, capsys):
    import json

    url = sli_store.url.render_as_string(hide_password=False)
    assert main(["--db", url, "contracts", "history", "--sli", "outages", "--month", "2026-11",
                 "--months", "2", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["month"], r["events"], r["outage_minutes"], r["met"]) for r in rows] == [
        ("2026-10", 0, 0.0, True), ("2026-11", 2, 90.0, False)]
    assert main(["--db", url, "contracts", "targets", "--today", "2026-11-30", "--format", "json"]) == 0
    assert {r["sli"] for r in json.loads(capsys.readouterr().out)} == {
        "availability", "outages", "resolution", "response"}


def test_response_not_measured_without_any_first_response(sli_store):
    with sli_store.begin() as conn:
        conn.exec_driver_sql("UPDATE ticket SET first_response_at = NULL")
    h = rc.sli_history(sli_store, month="2026-11", months=1)
    ans = h.filter(pl.col("agreement") == "checkout-answer").row(0, named=True)
    assert ans["measured"] is None and ans["met"] is None and "first-response" in ans["note"]


def test_review_pack_shows_them(sli_store):
    from analytics.contracts.review_html import render
    from analytics.reports.review import review_pack

    pack = review_pack(sli_store, month="2026-11", months=2, today=date(2026, 11, 30))
    got = pack.other_slis.filter(pl.col("month") == "2026-11").sort("agreement")
    assert got.select("agreement", "measured", "met").rows() == [
        ("acme-outages", 2.0, False), ("checkout-answer", 50.0, False),
        ("checkout-fix", pytest.approx(60.0), False), ("enterprise-fix", 50.0, True)]
    page = render(pack)
    assert '>enterprise-fix<br><span class="note">resolution · checkout · enterprise</span>' in page and '<td class="bad">60.0</td>' in page
    assert '<td class="bad">2</td>' in page and '<td class="bad">50.0</td>' in page
