"""Vendor performance (issue 19): third-party outages attributed to vendors, the monthly vendor
scorecard (``analytics.contracts.vendors`` has the definitions), and storing the links."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics.contracts import vendors
from analytics.contracts.store import Catalogue
from analytics.governance.events import VendorAttributeEvent
from analytics.reports.contracts import agreements, months_back, sla_history
from analytics.store import audit, queries
from analytics.store.db import read_frame
from analytics.store.models import ServiceComponent, Vendor, VendorOutage
from analytics.store.queries import Filters

DEFAULT_TOLERANCE_PP = vendors.DEFAULT_TOLERANCE_PP


def third_party_outages(engine: Engine, months: list[str]) -> pl.DataFrame:
    """Outages overlapping the months (UTC) plus production incidents whose root cause says third
    party; columns id, kind (outage | incident), service, start, end, cause."""
    lo, _ = vendors.month_span(months[0])
    _, hi = vendors.month_span(months[-1])
    out = queries.outages(engine, Filters(start=lo.date(), end=(hi - timedelta(days=1)).date()))
    out = out.select("id", pl.lit("outage").alias("kind"), "service", "start", "end", "cause")
    inc = read_frame(engine, """
        SELECT i.id, s.name AS service, i.opened_at AS start, i.resolved_at AS "end", i.root_cause AS cause
        FROM incident i JOIN service s ON s.id = i.service_id
        WHERE i.environment = 'production' AND i.resolved_at IS NOT NULL
          AND i.opened_at < ? AND i.resolved_at > ? AND lower(i.root_cause) IN (?, ?, ?, ?)""",
                     [hi, lo, *vendors.THIRD_PARTY_CAUSES])
    inc = inc.select("id", pl.lit("incident").alias("kind"), "service", "start", "end", "cause")
    return pl.concat([out, inc], how="vertical_relaxed") if inc.height else out


def vendor_reports(engine: Engine) -> pl.DataFrame:
    """Vendor-reported rows: vendor, component (service/name), month, uptime_pct, incidents."""
    return read_frame(engine, """
        SELECT v.name AS vendor, c.service || '/' || c.name AS component, r.month, r.uptime_pct,
               r.downtime_minutes, r.incidents
        FROM vendor_report r JOIN vendor v ON v.id = r.vendor_id
        JOIN service_component c ON c.id = r.component_id ORDER BY r.month, v.name""")


def vendor_scorecard(engine: Engine, *, month: str, months: int = 1,
                     tolerance_pp: float = DEFAULT_TOLERANCE_PP, cat: Catalogue | None = None,
                     history: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(scorecard, unlinked third-party outages) for the ``months`` ending ``month``."""
    cat = cat or agreements(engine)
    span = months_back(month, months)
    linked, unlinked = vendors.attribute(cat, third_party_outages(engine, span))
    if history is None:
        history = sla_history(engine, month=month, months=months)
    owed = {(r["service"], r["month"]): r["credit_amount"] for r in
            history.group_by("service", "month").agg(pl.col("credit_amount").sum())
            .iter_rows(named=True)}
    card = vendors.scorecard(cat, linked, vendor_reports(engine), span, owed=owed,
                             tolerance_pp=tolerance_pp)
    return card, unlinked


def store_vendor_links(engine: Engine, *, months: list[str], actor: str) -> int:
    """Write the vendor links of the months' third-party outages (``vendor_outage``); returns
    how many new links were stored. Existing links are kept."""
    cat = agreements(engine)
    linked, _ = vendors.attribute(cat, third_party_outages(engine, months))
    new = 0
    with Session(engine) as s, s.begin():
        vids = {v.name: v.id for v in s.exec(select(Vendor))}
        cids = {f"{c.service}/{c.name}": c.id for c in s.exec(select(ServiceComponent))}
        for r in linked.iter_rows(named=True) if linked.height else []:
            key = "outage_id" if r["kind"] == "outage" else "incident_id"
            exists = s.exec(select(VendorOutage).where(
                getattr(VendorOutage, key) == r["id"], VendorOutage.vendor_id == vids[r["vendor"]])).first()
            if exists is None:
                s.add(VendorOutage(vendor_id=vids[r["vendor"]], component_id=cids[r["component"]],
                                   **{key: r["id"]}))
                new += 1
        s.flush()
        audit.record(s, VendorAttributeEvent(actor=actor, detail={"months": months, "new_links": new}))
    return new
