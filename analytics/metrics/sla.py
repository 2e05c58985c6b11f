"""SLA compliance: contract-period uptime with exclusions, breaches and service credits (REFERENCE §3).

Contracts are data (versions by effective date, credit ladders, caps); outages, outage-flagged
incidents and exclusion windows are frames. Every interval is unioned before it is measured,
so overlapping outages count once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import polars as pl
from dateutil.rrule import rrulestr

from analytics.metrics.slo import zone

MODES = ("exclude", "count_as_up", "none")
TIERS = ("gold", "silver", "bronze")
# Exclusion kinds that always apply; "third_party" only when the contract says so (REFERENCE §3).
ALWAYS_EXCLUDED = ("scheduled", "force_majeure", "customer")
# Float noise must never push an uptime that is exactly on a limit below it (REFERENCE §3).
PCT_DECIMALS = 9


@dataclass(frozen=True)
class CreditBand:
    """Uptime strictly below ``below_pct`` → ``credit_pct`` of the monthly fee."""

    below_pct: float
    credit_pct: float


def credit_for(uptime_pct: float | None, ladder: tuple[CreditBand, ...], cap_pct: float = 100.0) -> float:
    """Credit % for an uptime: the lowest band whose limit the uptime is below, capped.

    Exactly on a limit is NOT below it.

    >>> ladder = (CreditBand(99.99, 10), CreditBand(99.0, 30), CreditBand(95.0, 100))
    >>> credit_for(99.0, ladder), credit_for(98.999, ladder), credit_for(99.99, ladder)
    (10, 30, 0.0)
    """
    if uptime_pct is None:
        return 0.0
    value = round(uptime_pct, PCT_DECIMALS)
    for band in sorted(ladder, key=lambda b: b.below_pct):
        if value < band.below_pct:
            return min(band.credit_pct, cap_pct)
    return 0.0


def _ladder(*pairs: tuple[float, float]) -> tuple[CreditBand, ...]:
    return tuple(CreditBand(b, c) for b, c in pairs)


# Presets modelled on public cloud SLAs (REFERENCE §3); tiers reuse the ladder shape with the
# tier's target as the first limit (as the acme-gold example does).
PRESETS: dict[str, dict] = {
    "cloud-region": {"target_pct": 99.99, "credits": _ladder((99.99, 10), (99.0, 30), (95.0, 100))},
    "gold": {"target_pct": 99.95, "credits": _ladder((99.95, 10), (99.0, 30), (95.0, 100))},
    "silver": {"target_pct": 99.9, "credits": _ladder((99.9, 10), (99.0, 30), (95.0, 100))},
    "bronze": {"target_pct": 99.5, "credits": _ladder((99.5, 10), (99.0, 30), (95.0, 100))},
}


@dataclass(frozen=True)
class Contract:
    """One version of an SLA contract (the ``sla_contract`` row, with JSON decoded)."""

    name: str
    customer: str
    services: tuple[str, ...]
    tier: str
    target_pct: float
    effective_from: date
    timezone: str = "UTC"
    period: str = "month"
    exclusion_mode: str = "exclude"
    exclude_third_party: bool = False
    monthly_fee: float = 0.0
    currency: str = "EUR"
    credit_cap_pct: float = 100.0
    credits: tuple[CreditBand, ...] = field(default_factory=tuple)
    escalation: str | None = None

    @classmethod
    def from_record(cls, row: dict) -> Contract:
        """From a store row or a TOML table (services/credits as JSON text or lists)."""
        services = row.get("services") or []
        credits = row.get("credits") or []
        services = json.loads(services) if isinstance(services, str) else services
        credits = json.loads(credits) if isinstance(credits, str) else credits
        eff = row["effective_from"]
        eff = eff.date() if isinstance(eff, datetime) else eff
        eff = date.fromisoformat(eff[:10]) if isinstance(eff, str) else eff
        fields = {k: row[k] for k in ("timezone", "period", "exclusion_mode", "exclude_third_party",
                                      "monthly_fee", "currency", "credit_cap_pct", "escalation")
                  if row.get(k) is not None}
        return cls(name=row["name"], customer=row["customer"], services=tuple(services),
                   tier=row["tier"], target_pct=float(row["target_pct"]), effective_from=eff,
                   credits=tuple(CreditBand(float(c["below_pct"]), float(c["credit_pct"]))
                                 for c in credits), **fields)


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """Calendar month in zone ``tz`` as naive UTC [start, end).

    >>> s, e = month_bounds(2026, 3, "Europe/Amsterdam")
    >>> s, (e - s) / timedelta(minutes=1)
    (datetime.datetime(2026, 2, 28, 23, 0), 44580.0)
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month!r}")
    z = zone(tz)
    start = datetime(year, month, 1, tzinfo=z)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=z)
    # Subtract in UTC: two aware datetimes in one zone subtract wall-clock time (REFERENCE §3).
    return _utc(start), _utc(end)


def _utc(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def contract_in_force(versions: list[Contract], first_day: date, last_day: date) -> Contract | None:
    """The version in force on ``first_day`` (latest ``effective_from`` on or before it); when the
    contract only starts inside [first_day, last_day], its first version (a partial period)."""
    ordered = sorted(versions, key=lambda c: c.effective_from)
    live = [c for c in ordered if c.effective_from <= first_day]
    if live:
        return live[-1]
    later = [c for c in ordered if c.effective_from <= last_day]
    return later[0] if later else None


def expand_exclusions(windows: pl.DataFrame, lo: datetime, hi: datetime, tz: str) -> pl.DataFrame:
    """Exclusion windows overlapping [lo, hi), with RRULE recurrences expanded.

    ``start``/``end`` give the first occurrence (naive UTC); recurrences repeat on wall-clock
    time in ``tz`` (a 02:00 Sunday window stays at 02:00 local across DST) and keep the first
    occurrence's duration. Returns columns service, kind, start, end, description.
    """
    z = zone(tz)
    rows = []
    for w in windows.iter_rows(named=True):
        dur = w["end"] - w["start"]
        if dur <= timedelta(0):
            raise ValueError(f"maintenance {w.get('external_id') or w.get('description')!r}: "
                             "end must be after start")
        starts = [w["start"]]
        rule = w.get("recurrence")
        if rule:
            try:
                starts = list(_recurrences(rule, w["start"], z.key, lo - dur, hi))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"maintenance {w.get('external_id') or w.get('description')!r}: "
                                 f"recurrence: invalid RRULE {rule!r} ({exc})") from None
        for s in starts:
            if s < hi and s + dur > lo:
                rows.append({"service": w.get("service"), "kind": w.get("kind") or "scheduled",
                             "start": s, "end": s + dur, "description": w.get("description")})
    return pl.DataFrame(rows, schema={"service": pl.String, "kind": pl.String,
                                      "start": pl.Datetime("us"), "end": pl.Datetime("us"),
                                      "description": pl.String})


@lru_cache(maxsize=4096)
def _recurrences(rule: str, start: datetime, tz: str, lo: datetime, hi: datetime,
                 ) -> tuple[datetime, ...]:
    """Starts (naive UTC) of the occurrences of ``rule`` from the first one at ``start`` (naive
    UTC) that begin in [lo, hi], repeating on wall-clock time in ``tz``. Cached: a report
    expands the same windows over the same months for every contract and service."""
    z = zone(tz)
    rr = rrulestr(rule, dtstart=start.replace(tzinfo=ZoneInfo("UTC")).astimezone(z))
    utc = ZoneInfo("UTC")
    occ = rr.between(lo.replace(tzinfo=utc), hi.replace(tzinfo=utc), inc=True)
    # dateutil keeps wall-clock fields; re-attach the zone so each occurrence gets its own UTC
    # offset.
    return tuple(_utc(o.replace(tzinfo=None).replace(tzinfo=z)) for o in occ)


def uptime_pct(period_minutes: float, excluded_minutes: float, downtime_outside: float,
               downtime_all: float | None = None, mode: str = "exclude") -> float | None:
    """Uptime % in one accounting mode (REFERENCE §3).

    exclude: (P − E − D) ÷ (P − E); count_as_up: (P − D) ÷ P; none: (P − D_all) ÷ P,
    where D is downtime outside exclusions. None when nothing is left to measure.

    >>> round(uptime_pct(43200, 240, 60, mode="exclude"), 4)
    99.8603
    """
    if mode not in MODES:
        raise ValueError(f"exclusion_mode must be one of {MODES}, got {mode!r}")
    if mode == "exclude":
        den = period_minutes - excluded_minutes
        return None if den <= 0 else (den - downtime_outside) / den * 100.0
    if period_minutes <= 0:
        return None
    down = downtime_outside if mode == "count_as_up" else (
        downtime_all if downtime_all is not None else downtime_outside)
    return (period_minutes - down) / period_minutes * 100.0


def outage_spans(outages: pl.DataFrame, incidents: pl.DataFrame | None, hi: datetime) -> pl.DataFrame:
    """Outages plus outage-flagged incidents as (service, start, end, cause).

    An unresolved incident is down until ``hi`` (the end of the period being measured).
    """
    parts = [outages.select("service", "start", "end",
                            pl.col("cause").cast(pl.String).fill_null("internal")
                            if "cause" in outages.columns
                            else pl.lit("internal").alias("cause"))
             .with_columns(pl.col("start", "end").cast(pl.Datetime("us")))]
    if incidents is not None and incidents.height:
        flagged = incidents.filter(pl.col("outage").fill_null(False))
        parts.append(flagged.select(
            "service", pl.col("opened_at").cast(pl.Datetime("us")).alias("start"),
            pl.col("resolved_at").cast(pl.Datetime("us")).fill_null(hi).alias("end"),
            pl.lit("internal").alias("cause")))
    return pl.concat(parts, how="vertical_relaxed")


def escalation_for(contract: Contract, breached: bool) -> str | None:
    """Who a breach goes to: the contract's escalation path (``unassigned`` when it names none)."""
    if not breached:
        return None
    return contract.escalation or "unassigned"


def sla_report(contracts: list[Contract], outages: pl.DataFrame, maintenance: pl.DataFrame,
               year: int, month: int, incidents: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (contract in force, service) for a calendar month in each contract's zone.

    The credit total of a contract is capped at ``credit_cap_pct`` of its monthly fee; when its
    services' credits add up to more, each is scaled down in proportion.
    """
    from analytics.metrics.sla_uptime import services_uptime  # it builds on this module

    if not isinstance(year, int) or not isinstance(month, int):
        raise TypeError("year and month must be integers")
    outages = _typed(outages, "outages", {"service": pl.String, "start": pl.Datetime("us"),
                                          "end": pl.Datetime("us")})
    maintenance = _typed(maintenance, "maintenance", {"start": pl.Datetime("us"),
                                                      "end": pl.Datetime("us")})
    maintenance = maintenance.with_columns(
        pl.col(c).cast(pl.String) for c in ("service", "kind", "recurrence", "description",
                                             "external_id") if c in maintenance.columns)
    if incidents is not None:
        incidents = _typed(incidents, "incidents", {
            "service": pl.String, "opened_at": pl.Datetime("us"),
            "resolved_at": pl.Datetime("us"), "outage": pl.Boolean})
    by_name: dict[str, list[Contract]] = {}
    for c in contracts:
        by_name.setdefault(c.name, []).append(c)
    rows = []
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    for name in sorted(by_name):
        c = contract_in_force(by_name[name], first, last)
        if c is None:
            continue
        lo, hi = month_bounds(year, month, c.timezone)
        if c.effective_from > first:  # a contract starting mid-month counts from its start
            lo = _utc(datetime(c.effective_from.year, c.effective_from.month,
                               c.effective_from.day, tzinfo=zone(c.timezone)))
        down = outage_spans(outages, incidents, hi)
        excl = expand_exclusions(maintenance, lo, hi, c.timezone)
        measured = services_uptime(c, down, excl, [(lo, hi)])
        part = [measured[s][0] for s in c.services]
        total = sum(p["credit_pct"] for p in part)
        scale = 1.0 if total <= c.credit_cap_pct else c.credit_cap_pct / total
        for p in part:
            p["credit_pct"] *= scale
            p["credit_amount"] = p["credit_pct"] / 100.0 * c.monthly_fee
            p["currency"] = c.currency
            p["escalation"] = escalation_for(c, p["breached"])
            p["exclusion_mode"] = c.exclusion_mode
        rows.extend(part)
    return pl.DataFrame(rows, schema=REPORT_SCHEMA)


def _typed(frame: pl.DataFrame, what: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Check the columns and cast them (an empty store read may come back untyped)."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}")
    return frame.with_columns(pl.col(c).cast(t) for c, t in schema.items())


REPORT_SCHEMA = {"contract": pl.String, "customer": pl.String, "service": pl.String,
                 "tier": pl.String, "period_start": pl.Datetime("us"),
                 "period_end": pl.Datetime("us"), "period_minutes": pl.Float64,
                 "excluded_minutes": pl.Float64, "downtime_minutes": pl.Float64,
                 "uptime_pct": pl.Float64, "target_pct": pl.Float64, "breached": pl.Boolean,
                 "credit_pct": pl.Float64, "credit_amount": pl.Float64, "currency": pl.String,
                 "escalation": pl.String, "exclusion_mode": pl.String}

