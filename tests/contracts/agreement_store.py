"""The small store of the contracts tests: one service, one SLA contract, the agreement tree,
two outages in November 2026 (30 days = 43,200 minutes)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from analytics.ingest.agreements import import_agreements
from analytics.ingest.sla_contracts import import_contracts
from analytics.store.models import Outage, Service

SLA = b"""
[[contract]]
name = "acme-gold"
customer = "Acme"
services = ["checkout"]
tier = "gold"
target_pct = 99.9
monthly_fee = 1000.0
credits = [ { below_pct = 99.9, credit_pct = 10 }, { below_pct = 99.0, credit_pct = 30 } ]
effective_from = 2026-01-01
"""

AGREEMENTS = b"""
[[vendor]]
name = "EdgeCDN"
kind = "cdn"

[[vendor]]
name = "PayGate"
kind = "payment-gateway"

[[component]]
service = "checkout"
name = "cdn"
vendor = "EdgeCDN"

[[component]]
service = "checkout"
name = "app"
team = "payments-team"

[[component]]
service = "checkout"
name = "dns"
team = "infra"

[[component]]
service = "billing"
name = "gateway"
vendor = "PayGate"

[[agreement]]
name = "corporate"
kind = "corporate"
target_pct = 99.5
effective_from = 2026-01-01
review_on = 2026-12-15

[[agreement]]
name = "acme-checkout"
kind = "customer_sla"
parent = "corporate"
customer = "Acme"
service = "checkout"
target_pct = 99.9
effective_from = 2026-01-01
review_on = 2026-12-20
renewal_on = 2027-01-01
sla_contract = "acme-gold"
rules = [ { name = "checkout-burn", slo = "checkout-availability" } ]

[[agreement]]
name = "edgecdn-uc"
kind = "uc"
vendor = "EdgeCDN"
component = "checkout/cdn"
target_pct = 99.9
monthly_fee = 500.0
credits = [ { below_pct = 99.9, credit_pct = 10 } ]
effective_from = 2026-01-01
supports = ["acme-checkout"]

[[agreement]]
name = "app-ola"
kind = "ola"
team = "payments-team"
component = "checkout/app"
target_pct = 99.95
effective_from = 2026-01-01
supports = ["acme-checkout"]

[[agreement]]
name = "paygate-uc"
kind = "uc"
vendor = "PayGate"
component = "billing/gateway"
target_pct = 99.95
window = "quarter"
effective_from = 2026-01-01
supports = ["acme-checkout"]
"""


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def build(engine: Engine) -> Engine:
    """checkout with a 60-minute third-party outage (3 Nov) and a 30-minute internal one (10 Nov)."""
    with Session(engine) as s, s.begin():
        svc = Service(external_id="checkout", name="checkout", team="payments-team")
        s.add(svc)
        s.flush()
        s.add(Outage(external_id="o1", service_id=svc.id, start=utc(2026, 11, 3, 10),
                     end=utc(2026, 11, 3, 11), cause="third_party"))
        s.add(Outage(external_id="o2", service_id=svc.id, start=utc(2026, 11, 10, 8),
                     end=utc(2026, 11, 10, 8, 30), cause="internal"))
    import_contracts(engine, upload=("sla.toml", SLA))
    import_agreements(engine, upload=("agreements.toml", AGREEMENTS))
    return engine
