"""Improvement candidates proposed from the data, each with its evidence (issue 18 points 3, 5).

Kinds (thresholds in ``improvements.toml`` ``[candidates]``):

- ``recurring_problem``: a problem id with several incidents in the look-back;
- ``slo_violated``: an SLO below its target in consecutive whole calendar months (UTC);
- ``kpi_escalation``: the scorecard's rule — a KPI worse in each of the last N months;
- ``voc_theme``: the top impact-weighted voice-of-customer themes of the look-back;
- ``root_cause_rising``: a failed-deployment root-cause category significantly more frequent
  in the last months (``analytics.reports.learning``);
- ``mttr_target``: recovery exceeds the tier's MTTR target by more than 30%.

Each candidate gets suggested risk factors (business impact from the service's criticality,
recurrence from the kind) and the register's risk score, and says whether the register already
has an improvement linked to it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics import catalogue
from analytics.loop.improvements import risk_score, rules
from analytics.reports import ReportError
from analytics.store import queries
from analytics.store.db import read_frame

COLUMNS = {"kind": pl.String, "subject": pl.String, "services": pl.String,
           "evidence": pl.String, "kpis": pl.String, "business_impact": pl.Int64,
           "recurrence": pl.Int64, "risk_score": pl.Float64, "priority": pl.String,
           "in_register": pl.Boolean}
# Suggested recurrence level (1–5, improvements.toml) per kind: how often the pain comes back.
RECURRENCE = {"recurring_problem": 4, "slo_violated": 4, "kpi_escalation": 3, "voc_theme": 5,
              "root_cause_rising": 4, "mttr_target": 3}
REMEDIATION = 3  # "medium" until the owner knows better


def _impact(criticality: int | None) -> int:
    """Business-impact level of a service criticality (1 = most critical → 5)."""
    return 3 if criticality is None else max(1, min(5, 6 - int(criticality)))


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _prev_month(d: date) -> date:
    return (d.replace(day=1) - timedelta(days=1)).replace(day=1)


def recurring_problems(incidents: pl.DataFrame, *, min_incidents: int) -> list[dict]:
    """Problem ids with at least ``min_incidents`` incidents (of one service)."""
    rows = (incidents.filter(pl.col("problem_id").is_not_null())
            .group_by("problem_id", "service")
            .agg(pl.len().alias("n"), pl.col("criticality").min(),
                 pl.col("external_id").sort().head(3).alias("examples"))
            .filter(pl.col("n") >= min_incidents).sort("n", "problem_id", descending=[True, False]))
    return [{"kind": "recurring_problem", "subject": r["problem_id"], "services": r["service"],
             "evidence": f"{r['n']} incidents on {r['service']} share problem {r['problem_id']} "
                         f"(e.g. {', '.join(r['examples'])})",
             "kpis": "incident_recurrence, mttr", "business_impact": _impact(r["criticality"]),
             "recurrence": 3 if r["n"] < 4 else 4 if r["n"] < 6 else 5}
            for r in rows.iter_rows(named=True)]


def slo_violations(engine: Engine, *, end: date, months: int) -> list[dict]:
    """SLOs whose SLI was below target in each of the last ``months`` whole months before
    ``end``'s month (occurrence SLI: Σ good ÷ Σ total of the month)."""
    slos = queries.slos(engine)
    if slos.height == 0:
        return []
    ids = slos["slo_id"].to_list()
    month = _month_start(end)  # whole months only: the month of `end` is left out
    per_month = []
    for _ in range(months):
        hi, month = month, _prev_month(month)
        sums = queries.sli_totals(engine, ids, datetime.combine(month, datetime.min.time()),
                                  datetime.combine(hi, datetime.min.time()))
        per_month.append((month, sums))
    svc = queries.services(engine).select("service", "criticality")
    out = []
    for r in slos.join(svc, on="service", how="left").iter_rows(named=True):
        slis = []
        for month, sums in per_month:
            row = sums.filter(pl.col("slo_id") == r["slo_id"])
            total = row["total"].sum() if row.height else 0
            slis.append((month, row["good"].sum() / total if total else None))
        if all(s is not None and s < r["target"] for _, s in slis):
            text = ", ".join(f"{m:%Y-%m} {s:.3%}" for m, s in reversed(slis))
            out.append({"kind": "slo_violated", "subject": r["slo"], "services": r["service"],
                        "evidence": f"SLI below the {r['target']:.2%} target in {months} "
                                    f"months in a row: {text}",
                        "kpis": "", "business_impact": _impact(r["criticality"])})
    return out


def escalations(data, *, run: int, runs: pl.DataFrame | None = None,  # noqa: ANN001 (Facts)
                ) -> list[dict]:
    """Services with a KPI worse in each of the last ``run`` months (the scorecard's rule);
    ``runs``: the scorecard's service rows of that rule (``report.scorecard.escalations``
    with ``run``) when a page already has them, else computed here."""
    from analytics.metrics.delivery_report import summarize
    from analytics.metrics.trends import degraded_runs

    if runs is None:
        monthly = summarize(data, by=("service",), every="1mo")
        runs = degraded_runs(monthly, keys=["service"], run=run,
                             directions=catalogue.escalation())
        crit = monthly.group_by("service").agg(pl.col("criticality").first())
    else:
        # A service's criticality as the summary gives it (its first deployment's or
        # incident's service attributes).
        cols = ["service", "criticality"]
        crit = (pl.concat([data.deployments.select(cols), data.incidents.select(cols)])
                .filter(pl.col("service").is_not_null()).unique("service", keep="first"))
    labels = {k.column: k.label for k in catalogue.kpis().values()}
    keys = {k.column: k.key for k in catalogue.kpis().values()}
    out = []
    for r in runs.filter(pl.col("escalate")).join(crit, on="service").iter_rows(named=True):
        kpis = list(r["escalated_kpis"])
        out.append({"kind": "kpi_escalation", "subject": f"{r['service']}: {', '.join(kpis)}",
                    "services": r["service"],
                    "evidence": f"worse in each of the last {run} months: "
                                f"{', '.join(labels.get(k, k) for k in kpis)}",
                    "kpis": ", ".join(keys.get(k, k) for k in kpis),
                    "business_impact": _impact(r["criticality"])})
    return out


def voc_themes(engine: Engine, filters: queries.Filters, *, n_themes: int, top: int) -> list[dict]:
    """The ``top`` themes by impact weight (user role × transaction criticality)."""
    from analytics.reports.voice_of_customer import fit, theme_table

    try:
        table = theme_table(fit(engine, filters=replace(filters, environment=None),
                                n_themes=n_themes))
    except ReportError:
        return []
    out = []
    for r in table.sort("weighted", descending=True).head(top).iter_rows(named=True):
        out.append({"kind": "voc_theme", "subject": str(r["name"]), "services": "",
                    "evidence": f"{r['documents']} tickets ({r['share']:.0%}), impact weight "
                                f"{r['weighted']:.0f}; terms: {r['top_terms']}",
                    "kpis": "csat", "business_impact": 4})
    return out


def rising_root_causes(summary: pl.DataFrame) -> list[dict]:
    """Root-cause categories the learning report flags as rising."""
    return [{"kind": "root_cause_rising", "subject": r["category"], "services": "",
             "evidence": f"{r['recent']} failed deployments in the last months against "
                         f"{r['before']} before (p = {r['p_value']:.3g}); checklist: "
                         f"{r['checklist_item']}",
             "kpis": "change_failure_rate", "business_impact": 3}
            for r in summary.filter(pl.col("rising")).iter_rows(named=True)]


def mttr_misses(check: pl.DataFrame) -> list[dict]:
    """Services whose recovery exceeds the MTTR target by more than the margin."""
    crit = {"gold": 1, "silver": 2, "bronze": 3}
    return [{"kind": "mttr_target", "subject": r["service"], "services": r["service"],
             "evidence": f"median restore {r['p50_hours']:.1f} h over {r['n']} incidents vs "
                         f"the {r['tier']} target {r['commitment_hours']:.0f} h "
                         f"(+{r['excess']:.0%})",
             "kpis": "mttr", "business_impact": _impact(crit.get(r["tier"]))}
            for r in check.filter(pl.col("exceeds")).iter_rows(named=True)]


def candidates(engine: Engine, *, filters: queries.Filters | None = None,
               themes: bool = True, data: Any = None,
               escalated: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every candidate with its evidence, suggested factors and risk score, highest first.

    ``filters`` (default: the store's bulk period) bounds the data; the look-back of recurring
    problems and themes is its last ``lookback_days``. ``data``: the delivery facts of
    ``learning.history(filters)`` when the caller has them already; ``escalated``: the
    scorecard's service escalation rows of those facts (see :func:`escalations`)."""
    from analytics.reports.delivery import facts
    from analytics.reports.learning import (failed_root_causes, history, mttr_target_check,
                                            root_cause_trend)

    cfg = rules()["candidates"]
    if filters is None or filters.end is None:
        lo, hi = queries.data_extent(engine)
        if hi is None:
            return pl.DataFrame(schema=COLUMNS)
        filters = replace(filters or queries.Filters(), start=lo, end=hi)
    end = filters.end
    assert end is not None
    recent = replace(filters, start=end - timedelta(days=cfg["lookback_days"] - 1))
    rows = recurring_problems(queries.incidents(engine, recent),
                              min_incidents=cfg["recurring_min_incidents"])
    rows += slo_violations(engine, end=end, months=cfg["slo_consecutive_months"])
    data = data if data is not None else facts(engine, history(filters))
    rows += escalations(data, run=cfg["escalation_run"], runs=escalated)
    if themes:
        rows += voc_themes(engine, recent, n_themes=cfg["themes"], top=cfg["top_themes"])
    _, summary = root_cause_trend(failed_root_causes(data), start=data.start, end=data.end)
    rows += rising_root_causes(summary)
    try:
        rows += mttr_misses(mttr_target_check(engine, filters))
    except ReportError:
        pass
    linked = _register_subjects(engine)
    for r in rows:
        r.setdefault("recurrence", RECURRENCE[r["kind"]])
        r["risk_score"], r["priority"] = risk_score(r["business_impact"], r["recurrence"],
                                                    REMEDIATION)
        r["in_register"] = r["subject"] in linked
    if not rows:
        return pl.DataFrame(schema=COLUMNS)
    return (pl.DataFrame(rows, schema=COLUMNS)
            .sort("risk_score", "kind", "subject", descending=[True, False, False]))


def _register_subjects(engine: Engine) -> set[str]:
    """Every problem id, SLO, theme and other subject the register's improvements link to."""
    frame = read_frame(engine, "SELECT links FROM improvement")
    out: set[str] = set()
    for text in frame["links"].to_list() if frame.height else []:
        for values in json.loads(text or "{}").values():
            out.update(str(v) for v in values)
    return out
