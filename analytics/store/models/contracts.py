"""Contracts and vendors (issue 19): vendors, the components of each service they provide, the
hierarchy of agreements (corporate, customer SLA, service SLA, OLA, underpinning contract), which
agreements support which SLA, monitoring rules, vendor-reported availability, outage → vendor
links and the credits finance actually billed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

AGREEMENT_KINDS = ("corporate", "customer_sla", "service_sla", "ola", "uc")
AGREEMENT_STATUSES = ("draft", "active", "under_review", "expired", "decommissioned")
# Kinds that underpin a customer or service SLA (their targets multiply in series).
UNDERPINNING = ("ola", "uc")


class Vendor(SQLModel, table=True):
    """A third party: CDN, payment gateway, cloud region, managed service."""

    __tablename__ = "vendor"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    kind: str = Field(default="other", max_length=40)
    contact: str | None = Field(default=None, max_length=200)


class ServiceComponent(SQLModel, table=True):
    """A component of a service, provided by a vendor or by an internal team."""

    __tablename__ = "service_component"
    __table_args__ = (UniqueConstraint("service", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=200, index=True)
    name: str = Field(max_length=120)
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id")
    team: str | None = Field(default=None, max_length=120)


class Agreement(SQLModel, table=True):
    """One agreement of the hierarchy; ``target_pct`` is availability over ``window``."""

    __tablename__ = "agreement"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    kind: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="agreement.id")
    customer: str | None = Field(default=None, max_length=120)
    segment: str | None = Field(default=None, max_length=60)
    service: str | None = Field(default=None, max_length=200)
    component_id: int | None = Field(default=None, foreign_key="service_component.id")
    vendor_id: int | None = Field(default=None, foreign_key="vendor.id")
    team: str | None = Field(default=None, max_length=120)
    sli: str = Field(default="availability", max_length=40)  # availability | outages | response | resolution
    target_pct: float
    window: str = Field(default="month", max_length=16)
    calendar: str = Field(default="24x7", max_length=60)
    timezone: str = Field(default="UTC", max_length=64)
    credits: str = "[]"  # JSON list of {"below_pct", "credit_pct"}
    credit_cap_pct: float = 100.0
    monthly_fee: float = 0.0
    currency: str = Field(default="EUR", max_length=8)
    effective_from: date
    review_on: date | None = None
    renewal_on: date | None = None
    end_on: date | None = None
    data_source: str | None = Field(default=None, max_length=120)
    audit_rights: bool = False
    liability_cap: float | None = None
    status: str = Field(default="active", max_length=16)
    sla_contract: str | None = Field(default=None, max_length=120)  # name in sla_contract


class AgreementSupport(SQLModel, table=True):
    """``agreement`` (an OLA or UC) underpins ``supports`` (a customer or service SLA)."""

    __tablename__ = "agreement_support"
    __table_args__ = (UniqueConstraint("agreement_id", "supports_id"),)
    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id")
    supports_id: int = Field(foreign_key="agreement.id")


class MonitoringRule(SQLModel, table=True):
    """A rule watching an agreement (an SLO or alert name); decommissioning retires it."""

    __tablename__ = "monitoring_rule"
    __table_args__ = (UniqueConstraint("agreement_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id")
    name: str = Field(max_length=120)
    slo: str | None = Field(default=None, max_length=200)
    active: bool = True


class VendorReport(SQLModel, table=True):
    """What a vendor reported for one component and month (their raw availability data)."""

    __tablename__ = "vendor_report"
    __table_args__ = (UniqueConstraint("vendor_id", "component_id", "month"),)
    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id")
    component_id: int = Field(foreign_key="service_component.id")
    month: str = Field(max_length=7)
    uptime_pct: float
    downtime_minutes: float = 0.0
    incidents: int = 0


class VendorOutage(SQLModel, table=True):
    """An outage (or incident) attributed to a vendor through the component it provides."""

    __tablename__ = "vendor_outage"
    __table_args__ = (UniqueConstraint("outage_id", "vendor_id"),
                      UniqueConstraint("incident_id", "vendor_id"))
    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id")
    component_id: int = Field(foreign_key="service_component.id")
    outage_id: int | None = Field(default=None, foreign_key="outage.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    rule: str = Field(default="third_party_component", max_length=40)


class BilledCredit(SQLModel, table=True):
    """A service credit finance actually billed for one contract month."""

    __tablename__ = "billed_credit"
    __table_args__ = (UniqueConstraint("contract", "month"),)
    id: int | None = Field(default=None, primary_key=True)
    customer: str = Field(max_length=120)
    contract: str = Field(max_length=120)
    month: str = Field(max_length=7)
    amount: float
    currency: str = Field(default="EUR", max_length=8)
