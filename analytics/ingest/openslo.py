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
from sqlalchemy import Engine

from analytics.ingest.batch import Parsed
from analytics.ingest.columns import Options
from analytics.ingest.files import SourceFile
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
            loaded = [d for d in yaml.safe_load_all(f.data.decode("utf-8")) if d is not None]
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
    """SLO rows from every OpenSLO document."""
    rows = Rows(opts, LABELS)
    for file, i, d in _documents(files):
        kind = d.get("kind")
        if kind == "SLI":
            continue
        if kind != "SLO":
            rows.rejected += 1
            continue
        spec, name = d.get("spec") or {}, (d.get("metadata") or {}).get("name")
        window = (spec.get("timeWindow") or [{}])[0]
        rolling = window.get("isRolling", True)
        indicator = spec.get("indicatorRef") or ((spec.get("indicator") or {}).get("metadata") or {}).get("name")
        objectives = spec.get("objectives") or [{}]
        for obj in objectives:
            label = obj.get("name") or obj.get("displayName")
            target = obj.get("target")
            if target is None and obj.get("targetPercent") is not None:
                target = float(obj["targetPercent"]) / 100
            rows.add("slos", file, i, name=name if len(objectives) == 1 else f"{name}-{label}",
                     service=spec.get("service"), description=spec.get("description"),
                     indicator=indicator,
                     budgeting=BUDGETING.get(str(spec.get("budgetingMethod", "")).lower(),
                                             spec.get("budgetingMethod")),
                     target=target, window_kind="rolling" if rolling else "calendar",
                     window_days=_amount(window.get("duration"), UNIT_DAYS) if rolling else None,
                     calendar_unit=None if rolling else CALENDAR.get(str(window.get("duration")),
                                                                     window.get("duration")),
                     timezone=(window.get("calendar") or {}).get("timeZone") or "UTC",
                     slice_minutes=_amount(obj.get("timeSliceWindow"), UNIT_MINUTES),
                     slice_target=obj.get("timeSliceTarget"))
    if rows.rejected:
        rows.warnings.append(f"{rows.rejected} document(s) of other kinds were skipped")
    return rows.parsed(strict_refs=True)


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


def export(engine: Engine) -> str:
    """Every SLO of the store as a multi-document OpenSLO v1 YAML string (CLI: `export openslo`)."""
    from analytics.store.queries import slos

    return yaml.safe_dump_all(to_documents(slos(engine)), sort_keys=False)
