"""SLA compliance report for one contract month (REFERENCE §3): uptime, exclusions, breaches,
service credits and their totals, with the intervals behind every number.

One read rule for the SLAs page, ``report sla`` and notebooks: a contract month is a calendar
month in each contract's own zone, so the UTC read is the month widened by ``ZONE_PAD`` on
each side; outages overlapping that span; every exclusion window (recurrences are expanded in
the metrics); and production incidents flagged ``outage`` that overlap it — however long ago
they were opened (an unresolved outage runs to the period end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.sla import Contract, sla_report
from analytics.metrics.sla_report import DOWNTIME_SCHEMA, EXCLUSION_SCHEMA, sla_details
from analytics.reports import BadRequest, NoData
from analytics.store import queries
from analytics.store.db import read_frame
from analytics.store.queries import Filters

# IANA zones are at most 14 h from UTC: a UTC day on each side covers every contract's month.
ZONE_PAD = timedelta(days=1)
INCIDENT_ENVIRONMENT = "production"
ROW_COLUMNS = ("contract", "service", "period_minutes", "excluded_minutes", "downtime_minutes",
               "uptime_pct", "target_pct", "breached", "credit_pct", "credit_amount", "currency",
               "customer", "tier", "escalation", "exclusion_mode", "period_start", "period_end")


def read_span(year: int, month: int) -> tuple[datetime, datetime]:
    """The naive UTC span read for a contract month: the month ± ``ZONE_PAD``.

    >>> read_span(2026, 12)
    (datetime.datetime(2026, 11, 30, 0, 0), datetime.datetime(2027, 1, 2, 0, 0))
    """
    if not 1 <= month <= 12:
        raise BadRequest(f"month must be 1-12, got {month}")
    lo = datetime(year, month, 1) - ZONE_PAD
    hi = datetime(year + month // 12, month % 12 + 1, 1) + ZONE_PAD
    return lo, hi


def contracts(engine: Engine) -> list[Contract]:
    """Every version of every contract in the store."""
    return [Contract.from_record(r) for r in queries.sla_contracts(engine).iter_rows(named=True)]


def outage_incidents(engine: Engine, lo: datetime, hi: datetime) -> pl.DataFrame:
    """Production incidents flagged ``outage`` that overlap [lo, hi): opened before ``hi`` and
    resolved after ``lo`` or not yet (no lookback guess: an old open outage still counts)."""
    return read_frame(engine, """
        SELECT i.id, s.name AS service, i.opened_at, i.resolved_at, i.outage
        FROM incident i JOIN service s ON s.id = i.service_id
        WHERE i.outage = ? AND i.environment = ? AND i.opened_at < ?
          AND (i.resolved_at IS NULL OR i.resolved_at > ?)
        ORDER BY i.opened_at, i.id""", [True, INCIDENT_ENVIRONMENT, hi, lo])


@dataclass(frozen=True)
class SlaReport:
    """One contract month.

    ``rows``: one row per (contract in force, covered service) with ``ROW_COLUMNS``;
    ``exclusions`` and ``downtime``: the intervals behind them (``metrics.sla_report``);
    ``totals``: per currency — contracts, service_months, breaches, credit_amount;
    ``per_contract``: contract, customer, currency, credit_pct_of_fee, credit_amount,
    services, breached, cap_pct.
    """

    year: int
    month: int
    rows: pl.DataFrame
    exclusions: pl.DataFrame
    downtime: pl.DataFrame
    totals: pl.DataFrame
    per_contract: pl.DataFrame

    @property
    def label(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def breaches(self) -> int:
        """Service-months below their contract target."""
        return int(self.rows["breached"].sum())

    def credits_owed(self) -> dict[str, float]:
        """Σ credit amount per currency."""
        return dict(zip(self.totals["currency"].to_list(), self.totals["credit_amount"].to_list(),
                        strict=True))

    def records(self) -> list[dict]:
        """The rows as dicts (the ``report sla --format json`` list)."""
        return [{k: r[k] for k in ROW_COLUMNS} for r in self.rows.rows(named=True)]


def sla_compliance(engine: Engine, *, year: int, month: int, contract_names: Sequence[str] = (),
                   filters: Filters = Filters(), details: bool = True) -> SlaReport:
    """The SLA compliance report for ``year``-``month``.

    ``contract_names`` narrows to those contracts; ``filters.services`` / ``filters.teams``
    narrow to those services (a contract's service with no row in the service table is kept
    unless a filter excludes it). Unknown names are a :class:`BadRequest`; no contract in the
    store is :class:`NoData`. The sidebar period does not apply: the month does. Without
    ``details`` the exclusion and downtime intervals are left empty (the rows are the same; a
    history of months needs only them).
    """
    versions = contracts(engine)
    if not versions:
        raise NoData("No SLA contract in the store. Import one with "
                     "`python -m analytics import sla-contracts FILE`.")
    for what, wanted, known in (("contract", contract_names, {c.name for c in versions}),
                                ("service", filters.services,
                                 {s for c in versions for s in c.services})):
        missing = sorted(set(wanted) - known)
        if missing:
            raise BadRequest(f"unknown {what} {', '.join(missing)}: no contract names it")
    if contract_names:
        versions = [c for c in versions if c.name in contract_names]
    lo, hi = read_span(year, month)
    outages = queries.outages(engine, Filters(start=lo.date(), end=(hi - timedelta(days=1)).date()))
    windows = queries.maintenance_windows(engine)
    flagged = outage_incidents(engine, lo, hi)
    try:
        rows = sla_report(versions, outages, windows, year, month, incidents=flagged)
        excl, down = (sla_details(rows, versions, outages, windows, flagged) if details else
                      (pl.DataFrame(schema=EXCLUSION_SCHEMA), pl.DataFrame(schema=DOWNTIME_SCHEMA)))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    keep = pl.lit(True)
    if filters.services:
        keep = keep & pl.col("service").is_in(list(filters.services))
    if filters.teams:
        team = queries.services(engine).filter(pl.col("team").is_in(list(filters.teams)))
        keep = keep & pl.col("service").is_in(team["service"].implode())
    rows, excl, down = rows.filter(keep), excl.filter(keep), down.filter(keep)
    return SlaReport(year=year, month=month, rows=rows, exclusions=excl, downtime=down,
                     totals=_totals(rows), per_contract=_per_contract(rows, versions))


def _totals(rows: pl.DataFrame) -> pl.DataFrame:
    return (rows.group_by("currency")
            .agg(pl.col("contract").n_unique().alias("contracts"),
                 pl.len().alias("service_months"),
                 pl.col("breached").sum().cast(pl.Int64).alias("breaches"),
                 pl.col("credit_amount").sum())
            .sort("currency"))


def _per_contract(rows: pl.DataFrame, versions: list[Contract]) -> pl.DataFrame:
    caps = {c.name: c.credit_cap_pct for c in versions}
    return (rows.group_by("contract", "customer", "currency")
            .agg(pl.col("credit_pct").sum().alias("credit_pct_of_fee"),
                 pl.col("credit_amount").sum(), pl.len().alias("services"),
                 pl.col("breached").sum().alias("breached"))
            .with_columns(cap_pct=pl.col("contract").replace_strict(caps, default=None,
                                                                    return_dtype=pl.Float64))
            .sort(["credit_amount", "contract"], descending=[True, False]))
