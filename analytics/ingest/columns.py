"""The canonical columns of every importable kind, and their validation into typed frames.

Every source (canonical files, tool payloads, real datasets) ends here: it hands over string
columns named as below, and :func:`typed` checks and converts them. Columns marked
``public=False`` are filled by tool and dataset importers only (a canonical file cannot set them).

Reference columns (``ref``) hold the *external id* of another row (a deployment, a change
request, an incident, an SLO); :mod:`analytics.ingest.batch` resolves them to store ids.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from analytics.ingest.validate import FILE, ROW, Checker
from analytics.store.choices import DEPLOYMENT_STATUSES, EXCLUSION_KINDS, OUTAGE_CAUSES, TIERS

# Spellings tools use for the four environments the KPIs know; anything else is kept, lower-cased.
ENVIRONMENT_ALIASES = {"prod": "production", "prd": "production", "live": "production",
                       "stage": "staging", "stg": "staging", "preprod": "staging", "uat": "staging",
                       "dev": "development", "qa": "test", "testing": "test"}


@dataclass(frozen=True)
class Col:
    """One column: its type, whether it is required, and its limits."""

    name: str
    type: str = "text"  # text | datetime | bool | int | float | choice | zone | env | ref
    required: bool = False
    public: bool = True
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    ref: str | None = None  # referenced table, for type "ref"
    db: str | None = None  # store column when it differs from ``name``


@dataclass(frozen=True)
class Spec:
    """An importable kind: its table, columns and natural key."""

    kind: str
    table: str
    cols: tuple[Col, ...]
    key: tuple[str, ...]
    # Required in canonical files but may be empty when a tool does not say (e.g. a ServiceNow
    # incident with no business service): the store column is nullable.
    lenient: tuple[str, ...] = field(default_factory=tuple)

    def col(self, name: str) -> Col:
        """The column called ``name``."""
        return next(c for c in self.cols if c.name == name)

    @property
    def public(self) -> tuple[Col, ...]:
        """Columns a canonical file may carry."""
        return tuple(c for c in self.cols if c.public)


def _sev(name: str = "severity", required: bool = False) -> Col:
    return Col(name, "int", required, lo=1, hi=4)


SPECS: dict[str, Spec] = {s.kind: s for s in (
    Spec("deployments", "deployment", (
        Col("id", required=True, max_len=255), Col("service", required=True, max_len=200),
        Col("environment", "env", True), Col("finished_at", "datetime", True),
        Col("status", "choice", True, choices=DEPLOYMENT_STATUSES),
        Col("started_at", "datetime"), Col("version", max_len=120), Col("team", max_len=120),
        Col("is_rollback", "bool"), Col("unplanned", "bool"), Col("emergency", "bool"),
        Col("change_request", "ref", ref="change_request", db="change_request_id"),
        Col("lines_changed", "int", lo=0), Col("files_changed", "int", lo=0),
        # Percent of lines covered by tests, 0–100 (as the demo organisation records it).
        Col("test_coverage", "float", lo=0, hi=100)), key=("id",)),
    Spec("changes", "change", (
        Col("deployment_id", "ref", True, ref="deployment", db="deployment_id"),
        Col("change_id", required=True, max_len=80, db="commit_id"),
        Col("committed_at", "datetime", True)), key=("deployment_id", "change_id")),
    Spec("incidents", "incident", (
        Col("id", required=True, max_len=255), Col("service", required=True, max_len=200),
        _sev(required=True), Col("opened_at", "datetime", True), Col("environment", "env"),
        Col("detected_at", "datetime"), Col("resolved_at", "datetime"),
        Col("customer_facing", "bool"), Col("outage", "bool"),
        Col("caused_by_deployment", "ref", ref="deployment", db="caused_by_deployment_id"),
        Col("problem_id", max_len=80), Col("root_cause", max_len=80), Col("postmortem_url"),
        Col("title"), Col("acknowledged_at", "datetime", public=False),
        Col("caused_by_change_request", "ref", ref="change_request",
            db="caused_by_change_request_id", public=False),
        Col("root_cause_commit", max_len=80, public=False),
        Col("made_sla", "bool", public=False), Col("priority", "int", public=False, lo=1, hi=9),
        Col("closed_at", "datetime", public=False), Col("status", max_len=40, public=False),
        Col("category", max_len=80, public=False)), key=("id",), lenient=("service",)),
    Spec("tickets", "ticket", (
        Col("id", required=True, max_len=255), Col("opened_at", "datetime", True),
        Col("service", max_len=200), Col("closed_at", "datetime"), _sev(),
        Col("first_response_at", "datetime"), Col("user_role", max_len=40), Col("transaction_criticality", max_len=40),
        Col("channel", max_len=40), Col("customer_id", max_len=80), Col("text"),
        Col("related_incident", "ref", ref="incident", db="related_incident_id")), key=("id",)),
    Spec("csat", "csat_response", (
        Col("id", required=True, max_len=255), Col("responded_at", "datetime", True),
        Col("score", "int", True, lo=1, hi=5), Col("service", max_len=200),
        Col("nps", "int", lo=0, hi=10), Col("segment", max_len=60), Col("customer_id", max_len=80),
        Col("comment"),
        Col("related_deployment", "ref", ref="deployment", db="related_deployment_id")),
        key=("id",)),
    Spec("sli", "sli_sample", (
        Col("slo", "ref", True, ref="slo", db="slo_id"), Col("ts", "datetime", True),
        Col("good", "float", True, lo=0), Col("total", "float", True, lo=0)), key=("slo", "ts")),
    Spec("services", "service", (
        Col("name", required=True, max_len=200), Col("team", max_len=120),
        Col("tier", "choice", choices=TIERS), Col("criticality", "int", lo=1, hi=4),
        Col("customer_facing", "bool"), Col("timezone", "zone")), key=("name",)),
    Spec("maintenance", "maintenance_window", (
        Col("service", required=True, max_len=200), Col("start", "datetime", True),
        Col("end", "datetime", True), Col("kind", "choice", True, choices=EXCLUSION_KINDS),
        Col("recurrence"), Col("description", public=False)), key=("service", "start", "kind")),
    Spec("outages", "outage", (
        Col("service", required=True, max_len=200), Col("start", "datetime", True),
        Col("end", "datetime", True), Col("cause", "choice", True, choices=OUTAGE_CAUSES)),
        key=("service", "start")),
    # Filled by the ServiceNow and BPIC importers only (no canonical file kind).
    Spec("change_requests", "change_request", (
        Col("id", required=True, max_len=255), Col("service", max_len=200), Col("title"),
        Col("change_type", max_len=40), Col("risk", max_len=40), Col("emergency", "bool"),
        Col("cab_required", "bool"), Col("planned_start", "datetime"),
        Col("planned_end", "datetime"), Col("actual_start", "datetime"),
        Col("actual_end", "datetime"), Col("outcome", max_len=40),
        Col("opened_at", "datetime"), Col("closed_at", "datetime")), key=("id",)),
    # Filled by the OpenSLO importer.
    Spec("slos", "slo", (
        Col("name", required=True, max_len=200), Col("service", max_len=200),
        Col("description"), Col("indicator", max_len=60),
        Col("budgeting", "choice", choices=("occurrences", "timeslices")),
        Col("target", "float", True, lo=0, hi=1),
        Col("window_kind", "choice", choices=("rolling", "calendar")),
        Col("window_days", "int", lo=1), Col("calendar_unit", "choice", choices=("month", "quarter")),
        Col("timezone", "zone"), Col("slice_minutes", "int", lo=1),
        Col("slice_target", "float", lo=0, hi=1)), key=("name",)),
)}

CANONICAL_KINDS = ("deployments", "changes", "incidents", "tickets", "csat", "sli", "services",
                   "maintenance", "outages")


@dataclass(frozen=True)
class Options:
    """How strings are read: time zone of naive times, day-first dates, decimal commas."""

    tz: str = "UTC"
    dayfirst: bool = False
    decimal_comma: bool = False
    shift_gap: bool = False


def typed(spec: Spec, frame: pl.DataFrame, checker: Checker, opts: Options,
          *, internal: bool = False) -> pl.DataFrame:
    """Validate the string ``frame`` against ``spec``; return typed columns plus ``external_id``.

    Problems go to ``checker``. Only columns present in ``frame`` are returned (so an update
    never overwrites a column the input did not carry); required columns must be present.
    ``internal`` is True for tool importers (they may fill non-public columns and leave the
    ``lenient`` columns empty).
    """
    # A single-column key is the converted column itself: its "all distinct?" hash pass runs in
    # that column's task, beside the other columns, instead of after them all.
    single = spec.key[0] if len(spec.key) == 1 else None
    distinct: list[bool] = []

    def one(col: Col) -> tuple[Col, pl.Series | None, Checker]:
        ck = checker.fork()
        if col.name not in frame.columns or (not col.public and not internal):
            if col.required:
                ck.flag_frame(f"missing required column {ck.label(col.name)!r} "
                              f"(a {spec.kind} file needs: "
                              f"{', '.join(c.name for c in spec.public if c.required)})")
            return col, None, ck
        values = _convert(col, ck, opts)
        if col.name == single:
            distinct.append(Checker.all_distinct(values))
        if col.required and not (internal and col.name in spec.lenient):
            ck.required(col.name)
        return col, values, ck

    # Columns are independent and polars releases the GIL, so threads use every core (a
    # 1M-row file validates a third faster on 2 cores); problems are merged back in column order.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        done = list(pool.map(one, spec.cols))
    out: dict[str, pl.Series] = {}
    for col, values, ck in done:
        checker.absorb(ck)
        if values is not None:
            out[col.name] = values
    result = pl.DataFrame(list(out.values())) if out else pl.DataFrame()
    result = result.with_columns(frame[FILE], frame[ROW])
    if set(spec.key) <= set(out):
        result = result.with_columns(external_id=_key(spec, result))
        checker.unique(result["external_id"], spec.key[0] if len(spec.key) == 1 else
                       "+".join(checker.label(k) for k in spec.key),
                       known=distinct[0] if distinct else None)
    _cross_checks(spec, result, checker)
    return result


def _convert(col: Col, ck: Checker, opts: Options) -> pl.Series:
    if col.type == "datetime":
        return ck.datetime(col.name, opts.tz, dayfirst=opts.dayfirst, shift_gap=opts.shift_gap)
    if col.type == "bool":
        return ck.boolean(col.name)
    if col.type == "int":
        return ck.integer(col.name, _int(col.lo), _int(col.hi))
    if col.type == "float":
        return ck.number(col.name, col.lo, col.hi, decimal_comma=opts.decimal_comma)
    if col.type == "choice":
        return ck.choice(col.name, col.choices, {c.replace("_", " "): c for c in col.choices})
    if col.type == "zone":
        return ck.timezone(col.name)
    if col.type == "env":
        return ck.keyword(col.name, 32, ENVIRONMENT_ALIASES)
    return ck.text(col.name, col.max_len)


def _int(v: float | None) -> int | None:
    return None if v is None else int(v)


def _key(spec: Spec, frame: pl.DataFrame) -> pl.Series:
    if len(spec.key) == 1:
        return frame[spec.key[0]].alias("external_id")
    parts = [frame[k].dt.strftime("%Y-%m-%dT%H:%M:%S") if frame[k].dtype == pl.Datetime
             else frame[k] for k in spec.key]
    return pl.select(pl.concat_str(parts, separator="|")).to_series().alias("external_id")


def _cross_checks(spec: Spec, frame: pl.DataFrame, ck: Checker) -> None:
    cols = set(frame.columns)
    if {"start", "end"} <= cols:
        ck.flag(frame["end"] <= frame["start"], "end", "end must be after start",
                frame["end"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    if {"opened_at", "first_response_at"} <= cols:
        ck.flag(frame["first_response_at"] < frame["opened_at"], "first_response_at",
                "first response must not be before opened_at",
                frame["first_response_at"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    if {"good", "total"} <= cols:
        ck.flag(frame["good"] > frame["total"], "good", "good events exceed total events",
                frame["good"])
    if "recurrence" in cols:
        _check_rrules(frame, ck)


def _check_rrules(frame: pl.DataFrame, ck: Checker) -> None:
    from dateutil.rrule import rrulestr

    bad = []
    for rule in frame["recurrence"].drop_nulls().unique().to_list():
        try:
            rrulestr(rule.removeprefix("RRULE:"), ignoretz=True)
        except (ValueError, TypeError):
            bad.append(rule)
    ck.flag(frame["recurrence"].is_in(bad), "recurrence",
            "not an RFC 5545 RRULE (e.g. FREQ=WEEKLY;BYDAY=SU)", frame["recurrence"])
