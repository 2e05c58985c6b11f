"""The ticket SLA summary the SLAs page and `report ticket-sla` show, without a row per ticket:
equal to :func:`analytics.reports.ticket_sla.ticket_sla`'s ``summary`` and counts, from four
columns and timers as arrays (``metrics.business_hours.timer_outcomes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from sqlalchemy import Engine

from analytics.metrics.business_hours import HOUR_US, timer_outcomes
from analytics.reports import BadRequest, NoData, periods
from analytics.reports.ticket_sla import (RESPONSE_NOTE, Policy, _check_names, _waits,
                                          default_policy, newest_ticket_instant, summarise,
                                          ticket_sla)
from analytics.store import queries
from analytics.store.queries import Filters


@dataclass(frozen=True)
class TicketSlaSummary:
    """:class:`TicketSla` without the per-ticket rows: what the SLAs page shows."""

    at: datetime
    policy: Policy
    summary: pl.DataFrame
    unprioritised: int
    closed_before_opened: int
    response_measured: bool = True

    @property
    def note(self) -> str | None:
        """``RESPONSE_NOTE`` when no first response is recorded, else None."""
        return None if self.response_measured else RESPONSE_NOTE


def ticket_sla_summary(engine: Engine, *, filters: Filters = Filters(), at: datetime | None = None,
                       policy: Policy | None = None) -> TicketSlaSummary:
    """:func:`ticket_sla`'s summary and counts, equal to its ``summary``, computed without a
    row per ticket: four columns read, timers as arrays (``timer_outcomes``), grouped on the
    severity. At 5.8M tickets a third of ``ticket_sla``'s CPU. Tickets waiting on the customer
    in the period take :func:`ticket_sla` itself (their pauses need the per-ticket walk)."""
    policy = policy or default_policy(filters.timezone)
    _check_names(engine, filters)
    filled, _note = periods.fill(engine, filters)

    def full(when: datetime | None) -> TicketSlaSummary:
        got = ticket_sla(engine, filters=filters, at=when, policy=policy)
        return TicketSlaSummary(at=got.at, policy=policy, summary=got.summary,
                                unprioritised=got.unprioritised,
                                closed_before_opened=got.closed_before_opened,
                                response_measured=got.response_measured)

    if _waits(engine, filled).height:
        return full(at)
    raw = _summary_rows(engine, filled)
    at = at or newest_ticket_instant(engine)
    if raw.height == 0 or at is None:
        raise NoData("No ticket was opened in this period for these filters.")
    fr, opened, closed = pl.col("first_response_at"), pl.col("opened_at"), pl.col("closed_at")
    kept = (raw.filter(pl.col("severity").is_not_null()
                       & (closed.is_null() | (closed >= opened)) & (opened <= at))
            .with_columns(first_response_at=pl.when(fr <= at).then(fr)))
    if kept.height == 0:
        return full(at)
    severities = kept["severity"].unique()
    names = dict(zip(severities.to_list(), ("P" + severities.cast(pl.String)).to_list(),
                     strict=True))
    unknown = sorted(set(names.values()) - set(policy.targets))
    if unknown:
        raise BadRequest(f"ticket SLA: no target for priority {', '.join(unknown)}")
    sev = kept["severity"]
    hours = {kind: _per_ticket(sev, {s: getattr(policy.targets[n], f"{kind}_hours")
                                     for s, n in names.items()})
             for kind in ("response", "resolution")}
    target = {kind: h * HOUR_US for kind, h in hours.items()}  # as ticket_timers: float µs
    answered = kept["first_response_at"].is_not_null()
    try:
        (resp_used, resp_late), (res_used, res_late) = timer_outcomes(
            _us(kept["opened_at"]),
            [(_us(kept.select(pl.when(fr.is_not_null()).then(pl.max_horizontal(opened, fr)))
                  .to_series()), target["response"].astype(np.int64)),
             (_us(kept["closed_at"]), target["resolution"].astype(np.int64))],
            policy.calendar, at, max(max(t.response_hours, t.resolution_hours)
                                     for t in policy.targets.values()))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    remaining = (target["response"] - resp_used) / HOUR_US
    lean = pl.DataFrame({
        "severity": sev, "closed_at": kept["closed_at"],
        "first_response_at": kept["first_response_at"], "resolution_breached": res_late,
        "response_breached": resp_late, "answered": answered,
        "response_hours": pl.Series(hours["response"] - remaining).scatter(
            (~answered).arg_true(), None)})
    lean = lean.with_columns(response_decided=pl.col("answered") | (
        closed.is_null() & pl.col("response_breached")))
    measured = kept.height > kept["first_response_at"].null_count()
    return TicketSlaSummary(at=at, policy=policy, summary=summarise(lean, policy, measured,
                                                                    by="severity"),
                            unprioritised=raw["severity"].null_count(),
                            closed_before_opened=raw.filter(closed < opened).height,
                            response_measured=measured)


def _summary_rows(engine: Engine, filters: Filters) -> pl.DataFrame:
    """The period's tickets with the four columns a summary needs, in any order (the copy
    skips the ids, the service names and the sort: half the read)."""
    from analytics.store.copyscan import read

    cols = ["opened_at", "closed_at", "first_response_at", "severity"]
    found = read(engine, "tickets", filters, "opened_at", cols, env=False, order=())
    return found if found is not None else queries.tickets(engine, filters, columns=cols)


def _us(values: pl.Series) -> np.ndarray:
    """µs since the epoch, int64 min where null (as ``business_hours`` reads NaT)."""
    return (values.cast(pl.Datetime("us")).to_physical()
            .fill_null(np.iinfo(np.int64).min).to_numpy())


def _per_ticket(severity: pl.Series, value: dict[int, float]) -> np.ndarray:
    """Each ticket's ``value`` of its severity: a table look-up when severities are small
    integers (a hash per row else)."""
    if severity.dtype.is_integer() and 0 <= min(value) and max(value) < 1024:
        table = np.zeros(max(value) + 1)
        table[list(value)] = list(value.values())
        return np.take(table, severity.to_numpy())
    return severity.replace_strict(value, return_dtype=pl.Float64).to_numpy()
