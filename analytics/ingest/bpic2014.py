"""BPI Challenge 2014 (Rabobank Group ICT) → change requests, deployments, changes, incidents, tickets.

Files (any subset; a folder contributes the ones named like these, ``.gz`` or not):
``Detail_Change.csv``, ``Detail_Incident.csv``, ``Detail_Interaction.csv`` — ``;``-separated, day-first
dates (``d-m-yyyy H:MM``; incidents ``dd/mm/yyyy HH:MM:SS``), ``#MULTIVALUE`` where a link names
several records, 50 trailing empty columns and 203 empty rows in the incident file (dropped: no
Incident ID). ``Handle Time (Hours)`` (decimal comma) has no column in the store and is not read.
Times are Dutch wall-clock times: pass ``--tz Europe/Amsterdam`` to store true UTC (times inside
the spring-forward gap are moved to its end). Source: van Dongen, B.F. (2014) BPI Challenge 2014,
4TU.ResearchData, doi:10.4121/uuid:c3e5d162-0cfd-4bb0-bd82-af5268819c35.

Decisions:

- **services are the Service Component WBS** (286 components), not CI names (10,193 items, many
  of them laptops and desktops): a service is what customers use, a CI is a part of it;
- **one change request per Change ID** (18,000); its service is the component most of its rows
  touch; planned/actual/record times are the earliest start and latest end over its rows;
- **one deployment per change per service component** with an Actual End (a change touching
  three components is three deployments); status success (the log records no outcome);
  changes without an Actual End never went live: skipped, counted as rejected;
- **one change per deployment**, committed when the change record was opened, so lead time is
  the ITIL lead time from change record to go-live;
- **incidents belong to the caused-by component** (``ServiceComp WBS (CBy)``): that is where the
  change that broke it was made, and attribution matches incidents to deployments per service;
  ``Related Change`` (a single id; ``#MULTIVALUE`` is dropped) is the explicit link to the change
  request, and to the change's deployment on that component (else its only deployment);
- **tickets are the interactions**, on their affected component, linked to ``Related Incident``.

=================  ===========================================================================
store column       BPIC 2014 field
=================  ===========================================================================
change_request     Change ID, Change Type, Risk Assessment, Emergency Change (Y/N),
                   CAB-approval needed, Planned Start/End, Actual Start/End,
                   Change record Open/Close Time
deployment         Change ID + Service Component WBS (aff); Actual Start/End; Emergency Change
change             Change ID; Change record Open Time
incident           Incident ID; ServiceComp WBS (CBy); Priority 1–5 as given (priority) and as
                   severity 1–4 (5 → 4); Category (category, and title); Status (status);
                   Open Time; Resolved Time (resolved_at, null when the source has none);
                   Close Time (closed_at); Closure Code (root_cause: a closure code, too coarse
                   for recurrence); Related Change
ticket             Interaction ID; Service Comp WBS (aff); Open Time (First Touch); Close Time;
                   Priority (5 → 4); Related Incident
=================  ===========================================================================
"""

from __future__ import annotations

import polars as pl

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile, read_table
from analytics.ingest.validate import FILE, ROW, Checker, InvalidImport, Problem

FILES = {"detail_change": "change", "detail_incident": "incident", "detail_interaction": "interaction"}
MULTI = "#MULTIVALUE"


def _which(f: SourceFile) -> str | None:
    stem = f.stem.replace(" ", "_")
    return next((v for k, v in FILES.items() if stem.startswith(k)), None)


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """Read the BPIC 2014 detail files and build every table (see the module docstring)."""
    found: dict[str, pl.DataFrame] = {}
    for f in files:
        which = _which(f)
        if which is None:
            if f.in_folder:
                continue
            raise InvalidImport([Problem(f.name, None, None, None, "not a BPIC 2014 detail file "
                                         "(expected Detail_Change, Detail_Incident or Detail_Interaction)")])
        found[which] = read_table(f, separator=";")
    if not found:
        raise InvalidImport([Problem("input", None, None, None, "no BPIC 2014 detail file found")])
    opts = Options(tz=opts.tz, dayfirst=True, shift_gap=True)
    checks: list[Checker] = []
    out = Parsed(strict_refs=False)
    deployments = None
    if "change" in found:
        deployments = _changes(found["change"], opts, checks, out)
    if "incident" in found:
        out.tables["incidents"] = _incidents(found["incident"], opts, checks, deployments, out)
    if "interaction" in found:
        out.tables["tickets"] = _tickets(found["interaction"], opts, checks, out)
    total = sum(c.total for c in checks)
    if total:
        raise InvalidImport([p for c in checks for p in c.problems], total)
    return out


def _checker(frame: pl.DataFrame, id_col: str, checks: list[Checker], needed: list[str]) -> Checker:
    missing = [c for c in [id_col, *needed] if c not in frame.columns]
    if missing:
        raise InvalidImport([Problem(frame[FILE][0] if frame.height else "input", None, c, None,
                                     "missing column") for c in missing])
    ck = Checker(frame.filter(pl.col(id_col).is_not_null()))
    checks.append(ck)
    return ck


def _single(ck: Checker, column: str, out: Parsed) -> pl.Series:
    """A link column with ``#MULTIVALUE`` (several linked records, not named) dropped."""
    raw = ck.raw(column)
    multi = raw == MULTI
    if multi.any():
        out.warnings.append(f"{int(multi.sum())} row(s) have {MULTI} in {column!r}: no link kept")
    return raw.set(multi, None)


def _changes(raw: pl.DataFrame, opts: Options, checks: list[Checker], out: Parsed) -> pl.DataFrame:
    times = ["Planned Start", "Planned End", "Actual Start", "Actual End",
             "Change record Open Time", "Change record Close Time"]
    ck = _checker(raw, "Change ID", checks, ["Service Component WBS (aff)", "Change Type",
                                            "Risk Assessment", "Emergency Change",
                                            "CAB-approval needed", *times])
    rows = pl.DataFrame([
        ck.raw("Change ID").alias("id"), ck.raw("Service Component WBS (aff)").alias("service"),
        ck.text("Change Type", 40).alias("change_type"), ck.text("Risk Assessment", 40).alias("risk"),
        ck.boolean("Emergency Change").alias("emergency"),
        ck.boolean("CAB-approval needed").alias("cab_required"),
        *[ck.datetime(t, opts.tz, dayfirst=True, shift_gap=True).alias(t) for t in times],
        ck.frame[FILE], ck.frame[ROW]])
    main_service = (rows.group_by("id", "service").len().sort(["id", "len", "service"],
                                                             descending=[False, True, False])
                    .unique("id", keep="first").select("id", "service"))
    requests = rows.group_by("id").agg(
        pl.col("change_type", "risk", "emergency", "cab_required", FILE, ROW).first(),
        planned_start=pl.col("Planned Start").min(), planned_end=pl.col("Planned End").max(),
        actual_start=pl.col("Actual Start").min(), actual_end=pl.col("Actual End").max(),
        opened_at=pl.col("Change record Open Time").min(),
        closed_at=pl.col("Change record Close Time").max(),
    ).join(main_service, on="id").with_columns(external_id=pl.col("id"))
    per_service = rows.group_by("id", "service").agg(
        pl.col("emergency", FILE, ROW).first(), started_at=pl.col("Actual Start").min(),
        finished_at=pl.col("Actual End").max(), committed_at=pl.col("Change record Open Time").min())
    live = per_service.filter(pl.col("finished_at").is_not_null())
    out.rejected += per_service.height - live.height
    if per_service.height > live.height:
        out.warnings.append(f"{per_service.height - live.height} change × component pair(s) have no "
                            "Actual End (never went live): no deployment")
    deployments = live.with_columns(
        external_id=pl.format("{}/{}", "id", "service"), change_request=pl.col("id"),
        environment=pl.lit("production"), status=pl.lit("success"))
    out.tables["change_requests"] = requests.sort("id")
    out.tables["deployments"] = deployments.drop("committed_at", "id").sort("external_id")
    out.tables["changes"] = deployments.select(
        deployment_id=pl.col("external_id"), change_id=pl.col("id"), committed_at="committed_at",
        external_id=pl.format("{}|{}", "external_id", "id"), **{FILE: FILE, ROW: ROW}).sort("external_id")
    return deployments.select("external_id", "id", "service")


def _priority(ck: Checker, column: str) -> pl.Series:
    # BPIC priorities run 1–5; the workbench's severity scale has four steps, so 5 joins 4 there
    # (the incident's own priority is kept as given beside it).
    return ck.integer(column, 1, 5).clip(upper_bound=4)


def _incidents(raw: pl.DataFrame, opts: Options, checks: list[Checker],
               deployments: pl.DataFrame | None, out: Parsed) -> pl.DataFrame:
    ck = _checker(raw, "Incident ID", checks, ["ServiceComp WBS (CBy)", "Priority", "Category",
                                              "Open Time", "Resolved Time", "Close Time",
                                              "Closure Code", "Related Change"])
    ck.unique(ck.raw("Incident ID"), "Incident ID")
    for required in ("Open Time", "Priority"):
        ck.required(required, ck.raw(required))
    # Resolved and closed stay apart: a definition decides which to use (resolution SLAs fall
    # back to the close time and say so); Status and Category are kept as given.
    extra = [ck.text(c, 80).alias(name) for c, name in (("Status", "status"),
                                                         ("Category", "category"))
             if c in ck.frame.columns]
    priority = ck.integer("Priority", 1, 5)
    frame = pl.DataFrame([
        ck.raw("Incident ID").alias("external_id"), ck.raw("ServiceComp WBS (CBy)").alias("service"),
        priority.clip(upper_bound=4).alias("severity"), priority.alias("priority"),
        ck.text("Category").alias("title"), *extra,
        ck.datetime("Open Time", opts.tz, dayfirst=True, shift_gap=True).alias("opened_at"),
        ck.datetime("Resolved Time", opts.tz, dayfirst=True, shift_gap=True).alias("resolved_at"),
        ck.datetime("Close Time", opts.tz, dayfirst=True, shift_gap=True).alias("closed_at"),
        ck.text("Closure Code", 80).alias("root_cause"),
        _single(ck, "Related Change", out).alias("caused_by_change_request"),
        ck.frame[FILE], ck.frame[ROW]]).with_columns(environment=pl.lit("production"))
    if deployments is not None:
        frame = frame.with_columns(caused_by_deployment=_deployment_of(frame, deployments))
    return frame


def _deployment_of(incidents: pl.DataFrame, deployments: pl.DataFrame) -> pl.Series:
    """The linked change's deployment on the incident's component, else the change's only one."""
    same = incidents.join(deployments.rename({"id": "caused_by_change_request"}),
                          on=["caused_by_change_request", "service"], how="left")["external_id_right"]
    only = (deployments.group_by("id").agg(pl.col("external_id").first(), n=pl.len())
            .filter(pl.col("n") == 1).rename({"id": "caused_by_change_request", "external_id": "dep"}))
    single = incidents.join(only, on="caused_by_change_request", how="left")["dep"]
    return same.fill_null(single).alias("caused_by_deployment")


def _tickets(raw: pl.DataFrame, opts: Options, checks: list[Checker], out: Parsed) -> pl.DataFrame:
    ck = _checker(raw, "Interaction ID", checks, ["Service Comp WBS (aff)", "Priority",
                                                 "Open Time (First Touch)", "Close Time",
                                                 "Related Incident"])
    ck.unique(ck.raw("Interaction ID"), "Interaction ID")
    ck.required("Open Time (First Touch)", ck.raw("Open Time (First Touch)"))
    return pl.DataFrame([
        ck.raw("Interaction ID").alias("external_id"), ck.raw("Service Comp WBS (aff)").alias("service"),
        ck.datetime("Open Time (First Touch)", opts.tz, dayfirst=True, shift_gap=True).alias("opened_at"),
        ck.datetime("Close Time", opts.tz, dayfirst=True, shift_gap=True).alias("closed_at"),
        _priority(ck, "Priority").alias("severity"),
        _single(ck, "Related Incident", out).alias("related_incident"), ck.frame[FILE], ck.frame[ROW]])
