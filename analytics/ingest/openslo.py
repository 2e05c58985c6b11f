"""OpenSLO v1 YAML (kinds SLO and SLI) ↔ SLO definitions.

Import: every ``kind: SLO`` document becomes one SLO per objective (named ``metadata.name``, or
``<name>-<objective name>`` when there are several). ``kind: SLI`` documents name indicators
that SLOs refer to with ``indicatorRef``; the store keeps the indicator's name only (its metric
queries have no column), so export writes ``indicatorRef`` and no SLI documents.

=================  ===========================================================================
slo column         OpenSLO field
=================  ===========================================================================
name               ``metadata.name`` (+ ``-`` objective ``name``/``displayName`` when several)
service            ``spec.service``
description        ``spec.description``
indicator          ``spec.indicatorRef``, else the inline ``spec.indicator.metadata.name``
budgeting          ``spec.budgetingMethod``: Occurrences → occurrences; Timeslices,
                   RatioTimeslices → timeslices
target             ``objectives[].target`` (or ``targetPercent`` ÷ 100)
window_kind        ``timeWindow[0].isRolling`` true → rolling, false → calendar
window_days        rolling ``duration`` in days (``28d``, ``4w``)
calendar_unit      calendar ``duration`` ``1M`` → month, ``1Q`` → quarter
timezone           ``timeWindow[0].calendar.timeZone`` (default UTC)
slice_minutes      ``objectives[].timeSliceWindow`` (``1m``, ``5m``, ``1h``) in minutes
slice_target       ``objectives[].timeSliceTarget``
=================  ===========================================================================
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
import yaml

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
from analytics.ingest.payloads import dig
from analytics.ingest.records import Rows
from analytics.ingest.validate import InvalidImport, Problem

API = "openslo/v1"
BUDGETING = {"occurrences": "occurrences", "timeslices": "timeslices", "ratiotimeslices": "timeslices"}
UNIT_DAYS = {"d": 1, "w": 7}
UNIT_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440}
CALENDAR = {"1M": "month", "1Q": "quarter"}
LABELS = {"slos": {"target": "objectives[].target", "window_days": "timeWindow[].duration",
                   "calendar_unit": "timeWindow[].duration", "budgeting": "budgetingMethod",
                   "slice_minutes": "objectives[].timeSliceWindow", "timezone": "calendar.timeZone"}}


def _documents(files: list[SourceFile]) -> list[tuple[str, int, dict[str, Any]]]:
    docs = []
    for f in files:
        if f.in_folder and f.fmt != "yaml":
            continue
        try:
            loaded = [d for d in yaml.safe_load_all(f.data.decode("utf-8-sig")) if d is not None]
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InvalidImport([Problem(f.name, None, None, None, f"not valid YAML: {exc}")]) from None
        for i, d in enumerate(loaded, start=1):
            if not isinstance(d, dict) or d.get("apiVersion") != API:
                raise InvalidImport([Problem(f.name, i, "apiVersion",
                                             str(d.get("apiVersion")) if isinstance(d, dict) else None,
                                             f"not an {API} document")])
            docs.append((f.name, i, d))
    return docs


def _amount(text: Any, units: dict[str, float]) -> float | str | None:
    """``"28d"`` → 28 (in the unit of ``units``); anything else is returned for validation to flag."""
    m = re.fullmatch(r"(\d+)([a-zA-Z])", str(text or ""))
    if m is None or m.group(2) not in units:
        return text
    value = int(m.group(1)) * units[m.group(2)]
    return int(value) if float(value).is_integer() else str(text)


def parse(files: list[SourceFile], opts: Options) -> Parsed:
    """SLO rows from every OpenSLO document (a wrongly shaped field is a problem naming it)."""
    rows = Rows(opts, LABELS)
    for file, i, d in _documents(files):
        kind = d.get("kind")
        if kind == "SLI":
            continue
        if kind != "SLO":
            rows.rejected += 1
            continue
        shape = _Shape(file, i, rows.problems)
        spec, meta = shape.mapping(d, "spec"), shape.mapping(d, "metadata")
        name = meta.get("name")
        if not isinstance(name, str) or not name.strip():
            shape.problem("metadata.name", name, "required: the SLO's name (text)")
            continue
        if spec.get("service") in (None, ""):
            # An SLO without a service would be stored unattached and shown on no service page.
            shape.problem("spec.service", None, "required: the service this SLO belongs to")
        windows = shape.mappings(spec, "timeWindow")
        window = windows[0] if windows else {}
        rolling = window.get("isRolling", True)
        if not isinstance(rolling, bool):
            shape.problem("timeWindow[].isRolling", rolling, "expected true or false")
        calendar = shape.mapping(window, "calendar", "timeWindow[].calendar")
        indicator = spec.get("indicatorRef") or dig(spec, "indicator", "metadata", "name")
        shaped = len(rows.problems)
        objectives = shape.mappings(spec, "objectives")
        if len(rows.problems) > shaped:
            continue  # its targets cannot be read; the shape problem says why
        objectives = objectives or [{}]
        for obj in objectives:
            label = obj.get("name") or obj.get("displayName")
            target = obj.get("target")
            if target is None and obj.get("targetPercent") is not None:
                target = _percent(obj["targetPercent"])
            rows.add("slos", file, i, name=name if len(objectives) == 1 else f"{name}-{label}",
                     service=spec.get("service"), description=spec.get("description"),
                     indicator=indicator,
                     budgeting=BUDGETING.get(str(spec.get("budgetingMethod", "")).lower(),
                                             spec.get("budgetingMethod")),
                     target=target, window_kind="rolling" if rolling else "calendar",
                     window_days=_amount(window.get("duration"), UNIT_DAYS) if rolling else None,
                     calendar_unit=None if rolling else CALENDAR.get(str(window.get("duration")),
                                                                     window.get("duration")),
                     timezone=calendar.get("timeZone") or "UTC",
                     slice_minutes=_amount(obj.get("timeSliceWindow"), UNIT_MINUTES),
                     slice_target=obj.get("timeSliceTarget"))
    if rows.rejected:
        rows.warnings.append(f"{rows.rejected} document(s) of other kinds were skipped")
    return rows.parsed(strict_refs=True)


def _percent(value: Any) -> float | Any:
    """``targetPercent`` as a fraction; a non-number is passed on for validation to flag."""
    try:
        return float(value) / 100
    except (TypeError, ValueError):
        return str(value)


class _Shape:
    """Checks that a document's fields have the structure OpenSLO gives them."""

    def __init__(self, file: str, doc: int, problems: list[Problem]) -> None:
        self.file, self.doc, self.problems = file, doc, problems

    def problem(self, field: str, value: Any, message: str) -> None:
        """Record a problem with ``field`` of this document."""
        self.problems.append(Problem(self.file, self.doc, field,
                                     None if value is None else str(value)[:40], message))

    def mapping(self, parent: dict[str, Any], key: str, field: str | None = None) -> dict[str, Any]:
        """``parent[key]`` when it is a mapping (empty when absent); anything else is a problem."""
        value = parent.get(key)
        if value is None or isinstance(value, dict):
            return value or {}
        self.problem(field or key, value, "expected a mapping (key: value lines)")
        return {}

    def mappings(self, parent: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """``parent[key]`` when it is a list of mappings (empty when absent), else a problem."""
        value = parent.get(key)
        if value is None:
            return []
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
        self.problem(key, value, "expected a list of mappings (lines starting with '- ')")
        return []


def to_documents(slos: pl.DataFrame) -> list[dict[str, Any]]:
    """OpenSLO SLO documents for the rows of :func:`analytics.store.queries.slos`."""
    docs = []
    for r in slos.iter_rows(named=True):
        if r["window_kind"] == "calendar":
            unit = {v: k for k, v in CALENDAR.items()}[r["calendar_unit"]]
            # The store keeps no anchor: months and quarters align to calendar boundaries, and
            # 2020-01-01 starts both.
            window = {"duration": unit, "isRolling": False,
                      "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": r["timezone"]}}
        else:
            window = {"duration": f"{r['window_days']}d", "isRolling": True}
        objective: dict[str, Any] = {"displayName": r["slo"], "target": r["target"]}
        if r["slice_minutes"] is not None:
            objective["timeSliceWindow"] = f"{r['slice_minutes']}m"
        if r["slice_target"] is not None:
            objective["timeSliceTarget"] = r["slice_target"]
        spec: dict[str, Any] = {"service": r["service"], "indicatorRef": r["indicator"],
                                "timeWindow": [window],
                                "budgetingMethod": "Timeslices" if r["budgeting"] == "timeslices"
                                else "Occurrences", "objectives": [objective]}
        if r["description"]:
            spec["description"] = r["description"]
        docs.append({"apiVersion": API, "kind": "SLO", "metadata": {"name": r["slo"]}, "spec": spec})
    return docs

