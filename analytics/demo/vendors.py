"""Demo vendors (issue 19): three vendors whose components carry the demo's third-party outages,
the agreement tree over the demo's SLA contracts, monitoring rules, and what the vendors
reported each month — with one planted dispute.

Only rows of the contract tables are added (and one ``demo_truth`` row): the third-party
outages the demo already has become the vendors' planted outages, so every existing demo number
stays as it was. Draws come from this module's own ``random.Random(SEED)`` stream.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

import polars as pl

from analytics.contracts.vendors import DEFAULT_TOLERANCE_PP, month_span, union_minutes

SEED = 1919
VENDORS = (("EdgeCDN", "cdn", "cdn"), ("PayGate", "payment-gateway", "payments"),
           ("CloudRegion-EU", "cloud-region", "region"))
UNDER_REPORTER = "PayGate"  # claims 100% every month: each month it caused downtime is a dispute
UC_TARGET, UC_FEE = 99.9, 800.0
OUTAGES_TARGET, RESOLUTION_TARGET = 2, 80.0  # at most 2 outages a month; 80% resolved in time
DATE_COLUMNS = ("effective_from", "review_on", "renewal_on", "end_on")


def _months(first: date, end: date) -> list[str]:
    """Whole calendar months inside [first, end]."""
    out, y, m = [], first.year, first.month
    if first.day != 1:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    while True:
        lo, hi = month_span(f"{y:04d}-{m:02d}")
        if hi.date() - timedelta(days=1) > end:
            return out
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def frames(svc: pl.DataFrame, outages: pl.DataFrame, contracts: pl.DataFrame, first: date,
           end: date) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """The contract tables' frames and the truth (vendor → component, outages, minutes by month,
    disputed months)."""
    rng = random.Random(SEED)
    names = dict(zip(svc["id"].to_list(), svc["name"].to_list(), strict=True))
    teams = dict(zip(svc["name"].to_list(), svc["team"].to_list(), strict=True))
    third = outages.filter(pl.col("cause") == "third_party").sort("start")
    services = list(dict.fromkeys(names[s] for s in third["service_id"].to_list()))
    vendor_rows = [{"id": i + 1, "name": n, "kind": k, "contact": f"noc@{n.lower()}.example"}
                   for i, (n, k, _) in enumerate(VENDORS)]
    comps, owner = [], {}
    for j, service in enumerate(services):  # each affected service gets one vendor component
        v = j % len(VENDORS)
        comps.append({"id": len(comps) + 1, "service": service, "name": VENDORS[v][2],
                      "vendor_id": v + 1, "team": None})
        owner[service] = (VENDORS[v][0], len(comps))
        comps.append({"id": len(comps) + 1, "service": service, "name": "app", "vendor_id": None,
                      "team": teams[service]})
    tiers = {r["name"]: r for r in contracts.sort("effective_from").iter_rows(named=True)}
    agr: list[dict[str, Any]] = [_agreement(1, "corporate", "corporate", 99.5, end,
                                            review_on=end + timedelta(days=25))]
    sla_of: dict[str, int] = {}
    for name, c in sorted(tiers.items()):
        aid = len(agr) + 1
        agr.append(_agreement(aid, f"{name}-sla", "customer_sla", c["target_pct"], end, parent_id=1,
                              customer=c["customer"], segment=c["tier"], sla_contract=name,
                              monthly_fee=c["monthly_fee"], credits=c["credits"],
                              timezone=c["timezone"], data_source="outage table + exclusions",
                              audit_rights=True, liability_cap=12 * c["monthly_fee"],
                              review_on=end + timedelta(days=rng.randint(5, 40)),
                              renewal_on=end + timedelta(days=rng.randint(60, 200))))
        for s in json.loads(c["services"]):
            sla_of[s] = aid
    supports, rules = [], []
    for service, (vendor, comp_id) in owner.items():
        aid = len(agr) + 1
        # The EdgeCDN contract is measured per quarter: a planted window-mismatch gap.
        window = "quarter" if vendor == "EdgeCDN" else "month"
        agr.append(_agreement(aid, f"{vendor.lower()}-{service}-uc", "uc", UC_TARGET, end,
                              vendor_id=[v[0] for v in VENDORS].index(vendor) + 1,
                              component_id=comp_id, monthly_fee=UC_FEE, window=window,
                              credits=json.dumps([{"below_pct": 99.9, "credit_pct": 10},
                                                  {"below_pct": 99.0, "credit_pct": 25}]),
                              timezone="Europe/Amsterdam", data_source=f"{vendor} status API"))
        if service in sla_of:
            supports.append({"id": len(supports) + 1, "agreement_id": aid,
                             "supports_id": sla_of[service]})
    # Point 3 of the issue: SLAs on other SLIs, appended after every other agreement (their ids
    # come last) on the service with the most outages — no draw, so the stream is unchanged.
    busiest = (outages.group_by("service_id").len().sort(["len", "service_id"],
                                                         descending=[True, False])["service_id"][0]
               if outages.height else None)
    if busiest is not None:
        for name, sli, target, segment in (
                (f"{names[busiest]}-outages-sla", "outages", OUTAGES_TARGET, None),
                (f"{names[busiest]}-resolution-sla", "resolution", RESOLUTION_TARGET, None),
                (f"enterprise-{names[busiest]}-resolution-sla", "resolution", RESOLUTION_TARGET,
                 "enterprise")):
            agr.append(_agreement(len(agr) + 1, name, "service_sla", target, end, parent_id=1,
                                  service=names[busiest], sli=sli, segment=segment,
                                  data_source="outage table" if sli == "outages" else
                                  "tickets, business-hours timers"))
    for a in agr:
        if a["kind"] == "customer_sla":
            rules.append({"id": len(rules) + 1, "agreement_id": a["id"],
                          "name": f"{a['name']}-burn", "slo": None, "active": True})
    months = _months(first, end)
    spans: dict[str, list] = {}
    for r in third.iter_rows(named=True):
        spans.setdefault(names[r["service_id"]], []).append((r["start"], r["end"]))
    reports, truth_minutes, disputes = [], {}, []
    for service, (vendor, comp_id) in owner.items():
        for m in months:
            lo, hi = month_span(m)
            down = union_minutes(spans[service], lo, hi)
            minutes = (hi - lo).total_seconds() / 60
            measured = (minutes - down) / minutes * 100
            reported = 100.0 if vendor == UNDER_REPORTER else round(measured, 3)
            if down:
                truth_minutes.setdefault(f"{vendor}|{service}", {})[m] = down
                if vendor == UNDER_REPORTER and 100.0 - measured > DEFAULT_TOLERANCE_PP:
                    disputes.append([vendor, service, m])
            reports.append({"id": len(reports) + 1, "vendor_id": [v[0] for v in VENDORS].index(vendor) + 1,
                            "component_id": comp_id, "month": m, "uptime_pct": reported,
                            "downtime_minutes": 0.0 if vendor == UNDER_REPORTER else down,
                            "incidents": 0 if vendor == UNDER_REPORTER or not down else 1})
    out = {"vendor": pl.DataFrame(vendor_rows), "service_component": pl.DataFrame(comps),
           # The bulk writer stores Date columns as timestamps; an ISO date string is what the
           # ORM's Date type reads back on SQLite and what PostgreSQL's COPY parses as a date.
           "agreement": pl.DataFrame(agr).with_columns(
               pl.col(c).cast(pl.Date).cast(pl.String) for c in DATE_COLUMNS), "agreement_support": pl.DataFrame(supports),
           "monitoring_rule": pl.DataFrame(rules), "vendor_report": pl.DataFrame(reports)}
    truth = {"vendors": {v: [s for s, (o, _) in owner.items() if o == v] for v, _, _ in VENDORS},
             "downtime_minutes": truth_minutes, "disputed": disputes,
             "uc_target_pct": UC_TARGET, "window_mismatch": "EdgeCDN contracts are quarterly"}
    return out, truth


def _agreement(aid: int, name: str, kind: str, target: float, end: date, **kw: Any) -> dict[str, Any]:
    row = {"id": aid, "name": name, "kind": kind, "parent_id": None, "customer": None,
           "segment": None, "service": None, "component_id": None, "vendor_id": None, "team": None,
           "sli": "availability", "target_pct": target, "window": "month", "calendar": "24x7",
           "timezone": "UTC", "credits": "[]", "credit_cap_pct": 100.0, "monthly_fee": 0.0,
           "currency": "EUR", "effective_from": end - timedelta(days=364), "review_on": None,
           "renewal_on": None, "end_on": None, "data_source": None, "audit_rights": False,
           "liability_cap": None, "status": "active", "sla_contract": None}
    row.update(kw)
    return row


def truth_entry(truth: dict[str, Any]) -> dict[str, Any]:
    """The ``vendor_outages`` entry of the demo truth."""
    return {"value": truth,
            "description": "The demo's third-party outages are carried by three vendors' "
                           "components (one per affected service); downtime minutes per vendor|"
                           "service and month, and the months PayGate (which reports 100% every "
                           "month) is disputed (beyond the 0.05 pp tolerance)."}
