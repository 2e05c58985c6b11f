"""Typed reads of the event tables into polars, with the global filters pushed into SQL.

Every frame carries the service's name, team, tier and criticality next to the event, so
metrics can slice without another join. Times are naive UTC ``Datetime("us")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine

from analytics.store.db import read_frame
from analytics.store.copyscan import CSAT_COLS, DEPLOYMENT_COLS, INCIDENT_COLS, TICKET_COLS
from analytics.store.copyscan import read as _copy_frame

SERVICE_COLS = "s.name AS service, s.team AS team, s.tier AS tier, s.criticality AS criticality"


@dataclass(frozen=True)
class Filters:
    """The global filters: inclusive whole days in ``timezone``, teams, services, environment.

    Days start at local midnight of ``timezone`` (an IANA name, default UTC; the workbench's
    ``WORKBENCH_TIMEZONE``); :meth:`bounds` turns them into the naive UTC instants the store holds.

    >>> Filters(start=date(2026, 1, 1), end=date(2026, 1, 31)).bounds()[1]
    datetime.datetime(2026, 2, 1, 0, 0)
    >>> Filters(start=date(2026, 11, 1), timezone="Pacific/Kiritimati").bounds()[0]
    datetime.datetime(2026, 10, 31, 10, 0)
    """

    start: date | None = None
    end: date | None = None
    teams: tuple[str, ...] = field(default_factory=tuple)
    services: tuple[str, ...] = field(default_factory=tuple)
    environment: str | None = None
    timezone: str = "UTC"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """Half-open [start, end + 1 day) as naive UTC datetimes, days drawn in ``timezone``."""
        lo = local_midnight_utc(self.start, self.timezone) if self.start else None
        hi = (local_midnight_utc(self.end + timedelta(days=1), self.timezone)
              if self.end else None)
        return lo, hi

    def days(self) -> int | None:
        """Calendar days in the period (inclusive)."""
        if self.start and self.end:
            return (self.end - self.start).days + 1
        return None


def local_midnight_utc(day: date, tz: str = "UTC") -> datetime:
    """The naive UTC instant at which ``day`` begins in zone ``tz``.

    >>> local_midnight_utc(date(2026, 7, 1), "Europe/Berlin")
    datetime.datetime(2026, 6, 30, 22, 0)
    """
    start = datetime.combine(day, time())
    if tz in ("UTC", "Etc/UTC"):
        return start
    aware = start.replace(tzinfo=ZoneInfo(tz))
    return aware.astimezone(UTC).replace(tzinfo=None)


def _where(filters: Filters, ts_col: str, env_col: str | None = None,
           pad_before: timedelta = timedelta(0), pad_after: timedelta = timedelta(0),
           ) -> tuple[str, list[Any]]:
    clauses, params = ["1=1"], []
    lo, hi = filters.bounds()
    if lo is not None:
        clauses.append(f"{ts_col} >= ?")
        params.append(lo - pad_before)
    if hi is not None:
        clauses.append(f"{ts_col} < ?")
        params.append(hi + pad_after)
    if filters.teams:
        clauses.append(f"s.team IN ({', '.join('?' * len(filters.teams))})")
        params.extend(filters.teams)
    if filters.services:
        clauses.append(f"s.name IN ({', '.join('?' * len(filters.services))})")
        params.extend(filters.services)
    if env_col and filters.environment:
        clauses.append(f"{env_col} = ?")
        params.append(filters.environment)
    return " AND ".join(clauses), params


def services(engine: Engine) -> pl.DataFrame:
    """All services with team, tier, criticality, customer-facing flag, zone and confirmation."""
    return read_frame(engine, "SELECT id AS service_id, name AS service, team, tier, criticality, "
                              "customer_facing, timezone, confirmed, source FROM service ORDER BY name")


def deployments(engine: Engine, filters: Filters = Filters(), *, linked: bool = False,
                columns: Sequence[str] | None = None, ordered: bool = True,
                **pad: timedelta) -> pl.DataFrame:
    """Deployments whose ``finished_at`` falls in the period (``pad_before``/``pad_after`` widen
    it); with ``linked``, only those that name a change request (filtered in SQL).

    Rows come in id order, as from every event read here: the order of a float sum must depend
    neither on the query plan nor on the read path (SQL or the copy). ``columns`` and
    ``ordered=False`` (any row order, for a caller that sorts the rows itself) as for
    :func:`tickets`."""
    cols = _wanted(columns, DEPLOYMENT_COLS)
    copied = _copy_frame(engine, "deployments", filters, "finished_at", cols, **pad,
                         where=pl.col("change_request_id").is_not_null() if linked else None,
                         order=("id",) if ordered else ())
    if copied is not None:
        return copied
    return _deployments_sql(engine, filters, linked, **pad).select(cols)


def _deployments_sql(engine: Engine, filters: Filters, linked: bool,
                     **pad: timedelta) -> pl.DataFrame:
    where, params = _where(filters, "d.finished_at", "d.environment", **pad)
    if linked:
        where += " AND d.change_request_id IS NOT NULL"
    return read_frame(engine, f"""
        SELECT d.id, d.source, d.external_id, d.service_id, {SERVICE_COLS}, d.environment,
               d.version, d.started_at, d.finished_at, d.status, d.is_rollback, d.unplanned,
               d.emergency, d.change_request_id, d.lines_changed, d.files_changed, d.test_coverage
        FROM deployment d JOIN service s ON s.id = d.service_id WHERE {where}
        ORDER BY d.id""", params)


CHANGE_COLS = ["id", "commit_id", "committed_at", "deployment_id"]


def changes(engine: Engine, filters: Filters = Filters(), *,
            columns: Sequence[str] | None = None,
            commits: Sequence[str] | None = None) -> pl.DataFrame:
    """Commits with the deployment that shipped them, for deployments finished in the period.

    ``columns`` narrows the read (``id`` always comes): without ``commit_id`` a copy read skips
    millions of commit hashes. ``commits``: only the changes of those commit ids (a root-cause
    lookup), filtered in the scan."""
    cols = _wanted(columns, CHANGE_COLS)
    wanted = None if commits is None else pl.col("commit_id").is_in(list(commits))
    copied = _copy_frame(engine, "changes", filters, "finished_at", cols, where=wanted)
    if copied is not None:
        return copied
    where, params = _where(filters, "d.finished_at", "d.environment")
    frame = read_frame(engine, f"""
        SELECT c.id, c.commit_id, c.committed_at, c.deployment_id
        FROM change c JOIN deployment d ON d.id = c.deployment_id
        JOIN service s ON s.id = d.service_id WHERE {where} ORDER BY c.id""", params)
    return (frame if wanted is None else frame.filter(wanted)).select(cols)


def incidents(engine: Engine, filters: Filters = Filters(), **pad: timedelta) -> pl.DataFrame:
    """Incidents opened in the period (incidents with no service match only unfiltered views)."""
    frame = _copy_frame(engine, "incidents", filters, "opened_at", INCIDENT_COLS, **pad)
    if frame is not None:
        return frame.with_columns(root_cause_specific=root_cause_specific(frame["source"]))
    where, params = _where(filters, "i.opened_at", "i.environment", **pad)
    join = "JOIN" if (filters.teams or filters.services) else "LEFT JOIN"
    frame = read_frame(engine, f"""
        SELECT i.id, i.source, i.external_id, i.service_id, {SERVICE_COLS}, i.environment,
               i.severity, i.title, i.opened_at, i.detected_at, i.acknowledged_at, i.resolved_at,
               i.customer_facing, i.outage, i.caused_by_deployment_id,
               i.caused_by_change_request_id, i.root_cause_commit, i.problem_id, i.root_cause,
               i.postmortem_url, i.made_sla, i.priority, i.closed_at, i.status, i.category
        FROM incident i {join} service s ON s.id = i.service_id WHERE {where}
        ORDER BY i.id""", params)
    return frame.with_columns(root_cause_specific=root_cause_specific(frame["source"]))


# Imports whose root-cause field is a closure code ("Other", "Software", …): too coarse to
# stand in for a problem id in incident recurrence.
CLOSURE_CODE_SOURCES = ("bpic2014",)


def root_cause_specific(sources: pl.Series) -> pl.Series:
    """Per incident, whether its root cause may stand in for a missing problem id in
    recurrence (setting ``WORKBENCH_RECURRENCE_ROOT_CAUSE``: auto / on / off).

    >>> root_cause_specific(pl.Series(["bpic2014", "pagerduty"])).to_list()
    [False, True]
    """
    from analytics.settings import get_settings

    policy = get_settings().recurrence_root_cause
    if policy in ("on", "off"):
        return pl.Series("root_cause_specific", [policy == "on"] * len(sources), pl.Boolean)
    return (~sources.cast(pl.String).is_in(CLOSURE_CODE_SOURCES).fill_null(False)).alias(
        "root_cause_specific")


def _wanted(columns: Sequence[str] | None, every: list[str]) -> list[str]:
    """The columns to read: ``every`` one, or the asked ones in ``every``'s order with ``id``
    (the row order's key). Unknown names are an error, not a silent omission.

    >>> _wanted(["opened_at", "service"], ["id", "service", "opened_at", "severity"])
    ['id', 'service', 'opened_at']
    """
    if columns is None:
        return every
    unknown = sorted(set(columns) - set(every))
    if unknown:
        raise ValueError(f"no such column: {', '.join(unknown)}")
    return [c for c in every if c == "id" or c in columns]


def tickets(engine: Engine, filters: Filters = Filters(), with_text: bool = False,
            columns: Sequence[str] | None = None, ordered: bool = True,
            **pad: timedelta) -> pl.DataFrame:
    """Support tickets opened in the period (text only when asked: it is the bulk of the bytes).

    ``columns`` narrows the read (``id`` always comes): a copy read skips the others on disk,
    which at millions of tickets is most of the cost. ``ordered=False``: rows in any order
    (for counts, whose result cannot depend on it; the copy then skips sorting millions of
    rows by id, and hands them over in time order)."""
    cols = _wanted(columns, TICKET_COLS + (["text"] if with_text else []))
    copied = _copy_frame(engine, "tickets", filters, "opened_at", cols, env=False,
                         order=("id",) if ordered else (), **pad)
    if copied is not None:
        return copied
    return _tickets_sql(engine, filters, with_text, **pad).select(cols)


def _tickets_sql(engine: Engine, filters: Filters, with_text: bool,
                 **pad: timedelta) -> pl.DataFrame:
    where, params = _where(filters, "t.opened_at", **pad)
    join = "JOIN" if (filters.teams or filters.services) else "LEFT JOIN"
    text_col = ", t.text" if with_text else ""
    return read_frame(engine, f"""
        SELECT t.id, t.external_id, t.service_id, {SERVICE_COLS}, t.opened_at, t.closed_at,
               t.first_response_at, t.severity, t.user_role, t.transaction_criticality, t.channel, t.customer_id,
               t.related_incident_id{text_col}
        FROM ticket t {join} service s ON s.id = t.service_id WHERE {where}
        ORDER BY t.id""", params)


def csat(engine: Engine, filters: Filters = Filters(), columns: Sequence[str] | None = None,
         ordered: bool = True, **pad: timedelta) -> pl.DataFrame:
    """CSAT/NPS responses in the period (``columns`` and ``ordered`` as for tickets)."""
    cols = _wanted(columns, CSAT_COLS)
    copied = _copy_frame(engine, "csat", filters, "responded_at", cols, env=False,
                         order=("id",) if ordered else (), **pad)
    if copied is not None:
        return copied
    where, params = _where(filters, "r.responded_at", **pad)
    join = "JOIN" if (filters.teams or filters.services) else "LEFT JOIN"
    return read_frame(engine, f"""
        SELECT r.id, r.service_id, {SERVICE_COLS}, r.responded_at, r.score, r.nps, r.segment,
               r.customer_id, r.comment, r.related_deployment_id
        FROM csat_response r {join} service s ON s.id = r.service_id WHERE {where}
        ORDER BY r.id""", params).select(cols)


def sli_samples(engine: Engine, filters: Filters = Filters(), slo_ids: list[int] | None = None,
                **pad: timedelta) -> pl.DataFrame:
    """SLI samples (good/total per bucket) with their SLO name and service."""
    copied = _copy_frame(engine, "sli_samples", filters, "ts",
                         ["slo_id", "slo", "service", "ts", "good", "total"], env=False,
                         where=pl.col("slo_id").is_in(slo_ids) if slo_ids else None,
                         order=("slo_id", "ts"), **pad)
    if copied is not None:
        return copied
    where, params = _where(filters, "x.ts", **pad)
    if slo_ids:
        where += f" AND x.slo_id IN ({', '.join('?' * len(slo_ids))})"
        params.extend(slo_ids)
    return read_frame(engine, f"""
        SELECT x.slo_id, o.name AS slo, s.name AS service, x.ts, x.good, x.total
        FROM sli_sample x JOIN slo o ON o.id = x.slo_id LEFT JOIN service s ON s.id = o.service_id
        WHERE {where} ORDER BY x.slo_id, x.ts""", params)


def slos(engine: Engine) -> pl.DataFrame:
    """SLO definitions with their service name."""
    return read_frame(engine, """
        SELECT o.id AS slo_id, o.name AS slo, s.name AS service, o.indicator, o.budgeting,
               o.target, o.window_kind, o.window_days, o.calendar_unit, o.timezone,
               o.slice_minutes, o.slice_target, o.description
        FROM slo o LEFT JOIN service s ON s.id = o.service_id ORDER BY o.name""")


EVENT_SOURCES = {
    # kind: (table alias and timestamp, environment column or None)
    "deployments": ("deployment d JOIN service s ON s.id = d.service_id", "d.finished_at",
                    "d.environment", "AND d.is_rollback = ?"),
    "incidents": ("incident i LEFT JOIN service s ON s.id = i.service_id", "i.opened_at",
                  "i.environment", ""),
    "tickets": ("ticket t LEFT JOIN service s ON s.id = t.service_id", "t.opened_at", None, ""),
    "csat_responses": ("csat_response r LEFT JOIN service s ON s.id = r.service_id",
                       "r.responded_at", None, ""),
}


COPY_OF = {"deployments": "deployments", "incidents": "incidents", "tickets": "tickets",
           "csat_responses": "csat"}


def event_times(engine: Engine, kind: str, filters: Filters = Filters()) -> pl.DataFrame:
    """Only the timestamps (column ``at``) of one kind of event in the period, for counting.

    Deployments exclude rollback actions (REFERENCE §1); the environment filter applies to the
    kinds that have one.
    """
    source, ts, env_col, extra = EVENT_SOURCES[kind]
    col = ts.split(".")[1]
    copied = _copy_frame(engine, COPY_OF[kind], filters, col, [col], env=env_col is not None,
                         where=~pl.col("is_rollback") if extra else None, order=())
    if copied is not None:
        return copied.rename({col: "at"})
    where, params = _where(filters, ts, env_col)
    if extra:
        params.append(False)
    return read_frame(engine, f"SELECT {ts} AS at FROM {source} WHERE {where} {extra}", params)


# The default-period rule lives in analytics.store.extent; its names stay importable from here.
from analytics.store.extent import (  # noqa: E402,F401
    BULK_SHARE, EXTENT_TABLES, Bulk, bulk_months, bulk_of, bulks, data_extent)


def outages(engine: Engine, filters: Filters = Filters()) -> pl.DataFrame:
    """Outages that overlap the period (start < period end, end > period start), with service
    columns; an outage is kept whole, the caller clips it to the period it measures."""
    where, params = _where(Filters(teams=filters.teams, services=filters.services), "o.start")
    lo, hi = filters.bounds()
    if hi is not None:
        where += " AND o.start < ?"
        params.append(hi)
    if lo is not None:
        where += ' AND o."end" > ?'
        params.append(lo)
    return read_frame(engine, f"""
        SELECT o.id, o.external_id, o.service_id, {SERVICE_COLS}, o.start, o."end", o.cause
        FROM outage o JOIN service s ON s.id = o.service_id WHERE {where} ORDER BY o.start""",
                      params)


def maintenance_windows(engine: Engine) -> pl.DataFrame:
    """Every exclusion window (service null = all services); recurring ones keep their RRULE, so
    no time filter applies here: expansion into a period happens in the metrics."""
    return read_frame(engine, """
        SELECT m.id, m.external_id, s.name AS service, m.start, m."end", m.kind, m.recurrence,
               m.description
        FROM maintenance_window m LEFT JOIN service s ON s.id = m.service_id
        ORDER BY m.start, m.id""")


def change_requests(engine: Engine, columns: str, linked: pl.Series | None = None) -> pl.DataFrame:
    """Change requests with ``columns`` (SQL select list; ``change_request_id`` is the id).

    With ``linked`` (the ids deployments point to), only ids between its least and greatest are
    read: a join on those ids finds the same rows, and a period's deployments point to a band of
    ids (90 days at scale 30: a quarter of 298k change requests, 0.6 → 0.16 CPU-s).
    """
    where, params = "", []
    if linked is not None:
        ids = linked.drop_nulls()
        lo, hi = (int(ids.min()), int(ids.max())) if ids.len() else (0, -1)
        where, params = " WHERE id BETWEEN ? AND ?", [lo, hi]
    return read_frame(engine, f"SELECT {columns} FROM change_request{where}", params)


def sla_contracts(engine: Engine) -> pl.DataFrame:
    """Every version of every SLA contract (services and credits as JSON text), oldest first."""
    return read_frame(engine, "SELECT * FROM sla_contract ORDER BY name, effective_from")


def newest_sample_ts(engine: Engine) -> datetime | None:
    """Exclusive end of the newest SLI bucket: its start plus the step to the bucket before it
    (one minute when there is only one). SLO status is evaluated at this instant by default."""
    newest = read_frame(engine, "SELECT max(ts) AS ts FROM sli_sample")["ts"][0]
    if newest is None:
        return None
    before = read_frame(engine, "SELECT max(ts) AS ts FROM sli_sample WHERE ts < ?",
                        [newest])["ts"][0]
    return newest + ((newest - before) if before is not None else timedelta(minutes=1))


def sli_totals(engine: Engine, slo_ids: list[int], start: datetime,
               end: datetime) -> pl.DataFrame:
    """Per SLO, Σ good and Σ total over the buckets starting in [start, end) and the first
    bucket's ts (slo_id, ts, good, total): a window's sums without reading its samples."""
    if not slo_ids:
        return pl.DataFrame(schema={"slo_id": pl.Int64, "ts": pl.Datetime("us"),
                                    "good": pl.Float64, "total": pl.Float64})
    return read_frame(engine, f"""
        SELECT slo_id, min(ts) AS ts, sum(good) AS good, sum(total) AS total FROM sli_sample
        WHERE slo_id IN ({', '.join('?' * len(slo_ids))}) AND ts >= ? AND ts < ?
        GROUP BY slo_id ORDER BY slo_id""", [*slo_ids, start, end])
