"""UCI "Incident management process enriched event log" (ServiceNow) → incidents.

File: ``incident_event_log.csv`` (``.gz`` or not): 141,712 events of 24,918 incidents, comma
separated, ``?`` for missing, day-first dates ``d/m/yyyy HH:MM``. Source: UCI ML Repository
dataset 498 (doi:10.24432/C57S4H; Amaral et al. 2018), CC BY 4.0.

One incident per ``number``. Its *final record* is its last event in file order (the log is
ordered by incident, then event; ``sys_mod_count`` is not monotonic within 4 incidents, so it
cannot order them). Links are kept once recorded: ``rfc`` and ``problem_id`` are the last
non-missing value over the incident's events (179 and 381 incidents; the final record alone
drops three rfc links).

=================  ===========================================================================
incidents          UCI field
=================  ===========================================================================
id                 ``number``
service            ``category`` (``cmdb_ci`` is missing in 99.7% of events)
severity           ``priority`` of the final record: "1 - Critical" → 1 … "4 - Low" → 4
opened_at          ``opened_at``
resolved_at        ``resolved_at`` (else ``closed_at``; 1,556 closed incidents have no resolve time)
                   of the final record when its ``incident_state`` is Resolved or Closed
problem_id         ``problem_id``
caused_by_change_request  ``rfc``; the log holds no change records, so each rfc becomes a
                   placeholder change request of this source (id only) that keeps the explicit
                   link (REFERENCE §1.1)
made_sla           ``made_sla`` of the final record (true/false)
environment        production
=================  ===========================================================================

The final ``incident_state`` decides whether the incident is resolved (Resolved or Closed sets
``resolved_at``; any other state leaves it open).
"""

from __future__ import annotations

import polars as pl

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile, read_table
from analytics.ingest.validate import FILE, ROW, Checker, InvalidImport, Problem

NEEDED = ("number", "incident_state", "opened_at", "category", "priority", "problem_id", "rfc",
          "resolved_at", "closed_at", "made_sla")
DONE_STATES = ("Resolved", "Closed")
# Every incident_state of the published log ("-100" marks events logged without a state).
STATES = ("New", "Active", "Awaiting User Info", "Awaiting Problem", "Awaiting Vendor",
          "Awaiting Evidence", "Resolved", "Closed", "-100")


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """Collapse the event log to one incident per number."""
    frames = []
    for f in files:
        if f.in_folder and not f.stem.startswith("incident_event_log"):
            continue
        frame = read_table(f)
        missing = [c for c in NEEDED if c not in frame.columns]
        if missing:
            raise InvalidImport([Problem(f.name, None, c, None, "missing column of the UCI event log")
                                 for c in missing])
        frames.append(frame.select(*NEEDED, FILE, ROW).with_columns(
            pl.col(c).replace("?", None) for c in NEEDED))
    if not frames:
        raise InvalidImport([Problem("input", None, None, None, "no incident_event_log file found")])
    events = pl.concat(frames).filter(pl.col("number").is_not_null())
    # An unknown state would silently leave an incident open: refuse it, listing the known ones.
    state_ck = Checker(events)
    state_ck.flag(state_ck.raw("incident_state").is_not_null()
                  & ~state_ck.raw("incident_state").is_in(STATES), "incident_state",
                  f"unknown state (one of {', '.join(STATES)})", state_ck.raw("incident_state"))
    state_ck.raise_if_any()
    last = events.group_by("number", maintain_order=True).agg(
        pl.all().exclude("problem_id", "rfc").last(),
        pl.col("problem_id").drop_nulls().last(), pl.col("rfc").drop_nulls().last())
    ck = Checker(last)
    opened = ck.datetime("opened_at", opts.tz, dayfirst=True, shift_gap=True)
    ck.required("opened_at", ck.raw("opened_at"))
    resolved = ck.datetime("resolved_at", opts.tz, dayfirst=True, shift_gap=True).fill_null(
        ck.datetime("closed_at", opts.tz, dayfirst=True, shift_gap=True))
    done = ck.raw("incident_state").is_in(DONE_STATES)
    prio = ck.raw("priority").str.extract(r"^\s*(\d)", 1).cast(pl.Int64, strict=False)
    ck.flag(prio.is_null() | (prio < 1) | (prio > 4), "priority",
            'not a priority like "3 - Moderate"', ck.raw("priority"))
    incidents = pl.DataFrame([
        ck.text("number", 255).alias("external_id"),
        ck.text("category", 200).alias("service"),  # the same cap as a canonical service name
        prio.alias("severity"), opened.alias("opened_at"),
        pl.select(pl.when(done).then(resolved)).to_series().alias("resolved_at"),
        ck.text("problem_id", 80).alias("problem_id"),
        ck.raw("rfc").alias("caused_by_change_request"), ck.boolean("made_sla"), last[FILE], last[ROW],
    ]).with_columns(environment=pl.lit("production"))
    ck.raise_if_any()
    changes = (incidents.filter(pl.col("caused_by_change_request").is_not_null())
               .unique("caused_by_change_request", keep="first", maintain_order=True)
               .select(external_id="caused_by_change_request", id="caused_by_change_request",
                       **{FILE: FILE, ROW: ROW}))
    tables = {"incidents": incidents}
    if changes.height:
        tables["change_requests"] = changes
    return Parsed(tables=tables, rejected=0, strict_refs=True,
                  warnings=[f"{events.height} events collapsed into {incidents.height} incidents"])
