"""Vendor performance: outages attributed to a vendor, and the monthly vendor scorecard.

Per (vendor, component, month), with the month a calendar month in UTC:

- measured uptime % = (month minutes − minutes of the union of outages attributed to that vendor
  on that component's service) ÷ month minutes × 100 (REFERENCE §3 with no exclusions);
- contracted % = the target of the vendor's live underpinning contract (uc) for the component;
- credit due from the vendor = credit % of its ladder at the *measured* uptime × its monthly fee;
- credits owed to customers = Σ customer credits that month on the component's service, when the
  vendor caused downtime there (the SLA report's credit amounts);
- dispute = |vendor-reported uptime − measured uptime| > tolerance (percentage points).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import polars as pl

from analytics.contracts.store import Catalogue
from analytics.metrics.sla import CreditBand, credit_for

DEFAULT_TOLERANCE_PP = 0.05
THIRD_PARTY_CAUSES = ("third_party", "third party", "third-party", "vendor")
SCORECARD_SCHEMA = {
    "vendor": pl.String, "component": pl.String, "month": pl.String, "agreement": pl.String,
    "contracted_pct": pl.Float64, "measured_pct": pl.Float64, "reported_pct": pl.Float64,
    "outages": pl.Int64, "downtime_minutes": pl.Float64, "met": pl.Boolean,
    "credit_due_pct": pl.Float64, "credit_due": pl.Float64, "credits_owed_customers": pl.Float64,
    "currency": pl.String, "difference_pp": pl.Float64, "disputed": pl.Boolean}


def month_span(month: str) -> tuple[datetime, datetime]:
    """Naive UTC [start, end) of ``YYYY-MM``.

    >>> month_span("2026-02")
    (datetime.datetime(2026, 2, 1, 0, 0), datetime.datetime(2026, 3, 1, 0, 0))
    """
    year, mon = int(month[:4]), int(month[5:7])
    days = calendar.monthrange(year, mon)[1]
    return datetime(year, mon, 1), datetime(year, mon, days) + timedelta(days=1)


def union_minutes(spans: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    """Minutes of the union of ``spans`` clipped to [lo, hi).

    >>> t = datetime(2026, 1, 1)
    >>> union_minutes([(t.replace(hour=1), t.replace(hour=2)), (t.replace(hour=1, minute=30), t.replace(hour=3))], t, t.replace(hour=23))
    120.0
    """
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted((max(s, lo), min(e, hi)) for s, e in spans if e > lo and s < hi):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += (cur_e - cur_s).total_seconds() / 60
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += (cur_e - cur_s).total_seconds() / 60
    return total


def vendor_candidates(cat: Catalogue) -> dict[str, list[tuple[str, str]]]:
    """Service → [(vendor, component key)] of the vendor-provided components of that service."""
    out: dict[str, list[tuple[str, str]]] = {}
    for c in cat.components:
        if c.vendor:
            out.setdefault(c.service, []).append((c.vendor, c.key))
    return out


def attribute(cat: Catalogue, outages: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split third-party outages (columns id, service, start, end, cause) into (linked,
    unlinked). Linked: the service has exactly one vendor-provided component → that vendor;
    unlinked carries a ``reason`` (no vendor component, or several: ambiguous)."""
    cands = vendor_candidates(cat)
    linked, unlinked = [], []
    for o in outages.filter(pl.col("cause").str.to_lowercase().is_in(THIRD_PARTY_CAUSES)
                            ).iter_rows(named=True):
        options = cands.get(o["service"], [])
        if len(options) == 1:
            linked.append({**o, "vendor": options[0][0], "component": options[0][1]})
        else:
            unlinked.append({**o, "reason": "ambiguous: several vendor components" if options
                             else "no vendor-provided component"})
    return pl.DataFrame(linked), pl.DataFrame(unlinked)


def scorecard(cat: Catalogue, linked: pl.DataFrame, reports: pl.DataFrame, months: list[str], *,
              owed: dict[tuple[str, str], float] | None = None,
              tolerance_pp: float = DEFAULT_TOLERANCE_PP) -> pl.DataFrame:
    """The vendor scorecard (``SCORECARD_SCHEMA``) for every vendor component with a live uc.

    ``linked``: attributed outages (vendor, component, start, end); ``reports``: vendor-reported
    rows (vendor, component, month, uptime_pct); ``owed``: (service, month) → customer credits.
    """
    owed = owed or {}
    ucs = {a.component: a for a in cat.agreements if a.kind == "uc" and a.live and a.component}
    reported = {(r["vendor"], r["component"], r["month"]): r["uptime_pct"]
                for r in reports.iter_rows(named=True)} if reports.height else {}
    rows = []
    for c in cat.components:
        uc = ucs.get(c.key)
        if not c.vendor or uc is None:
            continue
        spans = ([(r["start"], r["end"]) for r in linked.iter_rows(named=True)
                  if r["vendor"] == c.vendor and r["component"] == c.key] if linked.height else [])
        for month in months:
            lo, hi = month_span(month)
            minutes = (hi - lo).total_seconds() / 60
            down = union_minutes(spans, lo, hi)
            n = sum(1 for s, e in spans if e > lo and s < hi)
            measured = (minutes - down) / minutes * 100
            pct = credit_for(measured, tuple(CreditBand(b, p) for b, p in uc.credits), uc.credit_cap_pct)
            rep = reported.get((c.vendor, c.key, month))
            diff = None if rep is None else rep - measured
            rows.append({
                "vendor": c.vendor, "component": c.key, "month": month, "agreement": uc.name,
                "contracted_pct": uc.target_pct, "measured_pct": measured, "reported_pct": rep,
                "outages": n, "downtime_minutes": down,
                "met": round(measured, 9) >= uc.target_pct, "credit_due_pct": float(pct),
                "credit_due": pct / 100 * uc.monthly_fee,
                "credits_owed_customers": owed.get((c.service, month), 0.0) if down > 0 else 0.0,
                "currency": uc.currency, "difference_pp": diff,
                "disputed": diff is not None and abs(diff) > tolerance_pp})
    return pl.DataFrame(rows, schema=SCORECARD_SCHEMA)
