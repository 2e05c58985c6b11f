"""Did an improvement of the register work? Before/after validation and return on investment
(issue 18 point 4).

The KPI's weekly series comes from the delivery facts (REFERENCE §1 definitions, production
only, whole ISO weeks in UTC) over the store's bulk period. The week in which the change took
effect is a transition and is left out; weeks before it are "before", weeks from the next Monday
on are "after". Two comparisons (``analytics.studies.intervention``):

- segmented regression on the improvement's services summed into one series (ratio KPIs as
  Σ numerator ÷ Σ denominator per week);
- difference-in-differences, per service and week, against every other service with data on
  both sides that no other dated improvement covers (the "comparable untreated services").

ROI: per service and week (tickets, incident minutes) or month (SLA breaches, credits), the
treated services' change minus the controls' change, over a year for all treated services,
valued at the rates in settings, against the improvement's cost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics import catalogue
from analytics.reports import BadRequest, NoData
from analytics.store import queries
from analytics.store.db import read_frame
from analytics.studies.intervention import (Effect, difference_in_differences,
                                            segmented_regression, verdict)

SEASON_WEEKS = 52
WEEK = timedelta(days=7)
# KPI key → (numerator column, denominator column or None for a weekly count) of the weekly
# delivery summary; mttr is the mean restore time (Σ hours ÷ incidents).
SERIES: dict[str, tuple[str, str | None]] = {
    "change_failure_rate": ("cfr_failed", "cfr_deployments"),
    "mttr": ("mttr_hours_total", "mttr_n"),
    "deployment_frequency": ("deployments", None),
}


@dataclass(frozen=True)
class Rates:
    """What one unit of each ROI quantity is worth (settings: WORKBENCH_VALUE_*)."""

    incident_minute: float
    ticket: float
    breach: float
    currency: str = "EUR"


@dataclass(frozen=True)
class Roi:
    """Yearly value of the change in breaches, credits, tickets and incident minutes."""

    rows: pl.DataFrame  # quantity, unit, per, treated/control before/after, change, yearly…
    yearly_value: float
    cost: float | None
    currency: str

    @property
    def roi(self) -> float | None:
        """(yearly value − cost) ÷ cost; None without a cost."""
        return (self.yearly_value - self.cost) / self.cost if self.cost else None


@dataclass(frozen=True)
class Validation:
    """Both comparisons for one improvement and KPI, with the weekly series to draw."""

    improvement_id: int
    title: str
    kpi: str
    label: str
    lower_is_better: bool
    services: list[str]
    intervention: date  # the first "after" week (a Monday)
    series: pl.DataFrame  # week, value, post, fitted, counterfactual
    its: Effect | None
    did: Effect | None
    controls: list[str]
    expected: float | None
    verdicts: list[str]
    notes: list[str] = field(default_factory=list)
    roi: Roi | None = None

    @property
    def primary(self) -> Effect | None:
        """The difference-in-differences when there were controls, else the segmented fit."""
        return self.did or self.its

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``improve validate`` prints."""
        def eff(e: Effect | None) -> dict | None:
            if e is None:
                return None
            return {"method": e.method, "estimate": e.estimate, "ci": [e.ci_low, e.ci_high],
                    "p_value": e.p_value, "baseline": e.baseline, "relative": e.relative,
                    "relative_ci": list(e.relative_ci) if e.relative_ci else None,
                    "power_for_expected": e.power(self.expected), "n": e.n, "units": e.units,
                    "weeks_before": e.n_pre, "weeks_after": e.n_post, "errors": e.errors,
                    "seasonality": e.seasonality, "slope_change": e.slope_change}
        roi = None
        if self.roi is not None:
            roi = {"yearly_value": self.roi.yearly_value, "cost": self.roi.cost,
                   "roi": self.roi.roi, "currency": self.roi.currency,
                   "rows": self.roi.rows.to_dicts()}
        return {"improvement_id": self.improvement_id, "title": self.title, "kpi": self.kpi,
                "services": self.services, "intervention_week": self.intervention.isoformat(),
                "expected_relative": self.expected, "segmented_regression": eff(self.its),
                "difference_in_differences": eff(self.did), "controls": len(self.controls),
                "verdicts": self.verdicts, "notes": self.notes, "roi": roi}


def improvement_row(engine: Engine, improvement_id: int) -> dict[str, Any]:
    """One register row with its JSON columns decoded; BadRequest when there is none."""
    rows = read_frame(engine, "SELECT * FROM improvement WHERE id = ?", [improvement_id])
    if rows.height == 0:
        raise BadRequest(f"There is no improvement with id {improvement_id}.")
    row = rows.row(0, named=True)
    for col, empty in (("services", []), ("kpis", []), ("whys", []), ("fishbone", {}),
                       ("links", {})):
        row[col] = json.loads(row.get(col) or json.dumps(empty))
    return row


def _others(engine: Engine, improvement_id: int) -> set[str]:
    """Services another dated improvement covers (they are not clean controls)."""
    rows = read_frame(engine, "SELECT services FROM improvement WHERE id <> ? "
                              "AND intervention_at IS NOT NULL", [improvement_id])
    return {s for text in rows["services"].to_list() for s in json.loads(text or "[]")} \
        if rows.height else set()


def weekly(engine: Engine, *, window_hours: float | None = None,
           facts_of: Callable[[queries.Filters], Any] | None = None,
           ) -> tuple[pl.DataFrame, Any]:
    """Per service and whole ISO week: the delivery summary's counts (and the facts).
    ``facts_of`` gives the delivery facts of a period (a page's shared cache, built with the
    same window); by default they are computed here."""
    from analytics.metrics.delivery_report import summarize
    from analytics.reports.delivery import facts

    lo, hi = queries.data_extent(engine)
    if lo is None or hi is None:
        raise NoData("The store holds no deployments or incidents to validate against.")
    span = queries.Filters(start=lo, end=hi, environment="production")
    data = (facts(engine, span, window_hours=window_hours) if facts_of is None
            else facts_of(span))
    rows = summarize(data, by=("service",), every="1w").filter(pl.col("days") == 7)
    return rows.with_columns(
        mttr_hours_total=pl.col("mttr_mean").fill_null(0.0) * pl.col("mttr_n"),
        week=pl.col("period").dt.date()), data


def validate(engine: Engine, improvement_id: int, *, kpi: str | None = None,
             window_hours: float | None = None, rates: Rates | None = None,
             with_roi: bool = True,
             facts_of: Callable[[queries.Filters], Any] | None = None) -> Validation:
    """Validate improvement ``improvement_id`` on ``kpi`` (default: its first KPI);
    ``facts_of`` as in :func:`weekly`."""
    imp = improvement_row(engine, improvement_id)
    kpi = kpi or (imp["kpis"][0] if imp["kpis"] else imp.get("kpi_key"))
    if kpi not in SERIES:
        raise BadRequest(f"Validation supports the KPIs {', '.join(SERIES)}; "
                         f"improvement {improvement_id} names {kpi!r}.")
    if imp.get("intervention_at") is None:
        raise BadRequest(f"Improvement {improvement_id} has no intervention date; set one with "
                         "`improve update --intervention YYYY-MM-DD`.")
    services = list(imp["services"])
    if not services:
        raise BadRequest(f"Improvement {improvement_id} names no service.")
    at = imp["intervention_at"]
    day = at.date() if isinstance(at, datetime) else at
    first_after = day + timedelta(days=(7 - day.weekday()) % 7)
    transition = first_after - WEEK if day.weekday() else None
    rows, data = weekly(engine, window_hours=window_hours, facts_of=facts_of)
    unknown = sorted(set(services) - set(rows["service"].unique().to_list()))
    if len(unknown) == len(services):
        raise NoData(f"No production data for {', '.join(services)}.")
    num, den = SERIES[kpi]
    rows = rows.filter(pl.col("week") != transition if transition else pl.lit(True)).with_columns(
        post=pl.col("week") >= first_after, treated=pl.col("service").is_in(services))
    value = (pl.col(num) / pl.col(den)) if den else pl.col(num).cast(pl.Float64)
    entry = catalogue.get(kpi)
    notes = [f"Services with no production data: {', '.join(unknown)}."] if unknown else []

    agg = (rows.filter(pl.col("treated")).group_by("week", "post")
           .agg(pl.col(num).sum(), *([pl.col(den).sum()] if den else []))
           .sort("week"))
    if den:
        agg = agg.filter(pl.col(den) > 0)
    agg = agg.with_columns(value=value)
    n_pre = int((~agg["post"]).sum())
    its = did = None
    verdicts: list[str] = []
    lower = entry.better == "lower"
    expected = imp.get("expected_impact")
    series = agg.select("week", "value", "post")
    if n_pre >= 2 and agg.height - n_pre >= 2:
        fit = segmented_regression(agg["value"].to_list(), n_pre, season=SEASON_WEEKS,
                                   units=len(services) - len(unknown))
        its = fit.effect
        series = series.with_columns(fitted=pl.Series(fit.fitted),
                                     counterfactual=pl.Series(fit.counterfactual))
        if not its.seasonality:
            notes.append(f"No seasonal term: {agg.height} weeks is fewer than two seasons "
                         f"({2 * SEASON_WEEKS} weeks).")
        verdicts.append(verdict(its, kpi=entry.label, expected_relative=expected,
                                lower_is_better=lower))
    else:
        notes.append("Too few weeks on one side of the change for a segmented regression.")
    excluded = _others(engine, improvement_id) - set(services)
    panel = rows.filter(~pl.col("service").is_in(list(excluded)))
    if den:
        panel = panel.filter(pl.col(den) > 0)
    panel = panel.with_columns(y=value).select("service", "week", "y", "treated", "post")
    both = panel.group_by("service").agg(pl.col("post").any() & (~pl.col("post")).any())
    keep = both.filter(pl.col("post"))["service"]
    panel = panel.filter(pl.col("service").is_in(keep.implode()))
    controls = sorted(set(panel.filter(~pl.col("treated"))["service"].to_list()))
    if controls:
        did = difference_in_differences(panel, unit="service", period="week")
        verdicts.append(verdict(did, kpi=entry.label, expected_relative=expected,
                                lower_is_better=lower))
        if excluded:
            notes.append(f"Not used as controls (another improvement covers them): "
                         f"{', '.join(sorted(excluded))}.")
    else:
        notes.append("No comparable untreated service: difference-in-differences not run.")
    if its is None and did is None:
        raise NoData(f"Not enough weeks around {day} to compare before and after.")
    roi = (return_on_investment(engine, data, services, controls, day, first_after,
                                cost=imp.get("cost"), rates=rates) if with_roi else None)
    return Validation(improvement_id, imp["title"], kpi, entry.label, lower, services,
                      first_after, series, its, did, controls, expected, verdicts, notes, roi)


def default_rates() -> Rates:
    """The ROI rates of the settings."""
    from analytics.settings import get_settings

    s = get_settings()
    return Rates(s.value_incident_minute, s.value_ticket, s.value_sla_breach, s.value_currency)


def _means(frame: pl.DataFrame, value: str, treated: list[str], controls: list[str],
           ) -> dict[tuple[bool, bool], float | None]:
    out: dict[tuple[bool, bool], float | None] = {}
    for is_treated, names in ((True, treated), (False, controls)):
        for post in (False, True):
            part = frame.filter(pl.col("service").is_in(names) & (pl.col("post") == post))
            out[is_treated, post] = float(part[value].mean()) if part.height else None
    return out


def return_on_investment(engine: Engine, data: Any, treated: list[str], controls: list[str],
                         day: date, first_after: date, *, cost: float | None,
                         rates: Rates | None = None) -> Roi:
    """The ROI table: per quantity, mean per service and week (month for SLA) of treated and
    control services before and after, the difference-in-differences, over a year for every
    treated service, and its value."""
    rates = rates or default_rates()
    lo, hi = data.start, data.end
    weeks = pl.datetime_range(lo, hi - WEEK, "1w", eager=True).dt.truncate("1w").unique()
    grid = (pl.DataFrame({"service": treated + controls}).join(
        pl.DataFrame({"week": weeks.dt.date()}), how="cross")
        .filter((pl.col("week") >= lo.date()) & (pl.col("week") + WEEK <= hi.date())))
    inc = (data.incidents.filter(pl.col("service").is_not_null())
           .with_columns(week=pl.col("opened_at").dt.truncate("1w").dt.date(),
                         minutes=pl.col("restore_hours").fill_null(0.0) * 60)
           .group_by("service", "week").agg(pl.col("minutes").sum()))
    tkt = (read_frame(engine, "SELECT s.name AS service, t.opened_at FROM ticket t JOIN service s "
                              "ON s.id = t.service_id WHERE t.opened_at >= ? AND t.opened_at < ?",
                      [lo, hi])
           .with_columns(week=pl.col("opened_at").dt.truncate("1w").dt.date())
           .group_by("service", "week").agg(pl.len().alias("tickets")))
    weekly_q = (grid.join(inc, on=["service", "week"], how="left")
                .join(tkt, on=["service", "week"], how="left").fill_null(0)
                .filter((pl.col("week") < first_after - WEEK) | (pl.col("week") >= first_after))
                .with_columns(post=pl.col("week") >= first_after))
    monthly = sla_months(engine, lo.date(), hi.date(), day, treated + controls)
    specs = [("incident minutes", weekly_q, "minutes", "week", 52.0, rates.incident_minute),
             ("tickets", weekly_q, "tickets", "week", 52.0, rates.ticket),
             ("SLA breaches", monthly, "breached", "month", 12.0, rates.breach),
             ("service credits", monthly, "credit_amount", "month", 12.0, 1.0)]
    out = []
    for name, frame, col, per, per_year, rate in specs:
        m = _means(frame, col, treated, controls)
        change = None
        if m[True, False] is not None and m[True, True] is not None:
            change = m[True, True] - m[True, False]
            if m[False, False] is not None and m[False, True] is not None:
                change -= m[False, True] - m[False, False]
        yearly = change * per_year * len(treated) if change is not None else None
        out.append({"quantity": name, "per": f"service-{per}",
                    "treated_before": m[True, False], "treated_after": m[True, True],
                    "control_before": m[False, False], "control_after": m[False, True],
                    "change": change, "yearly_change": yearly, "unit_value": rate,
                    "yearly_value": -yearly * rate if yearly is not None else None})
    rows = pl.DataFrame(out, infer_schema_length=None)
    return Roi(rows, float(rows["yearly_value"].fill_null(0.0).sum()), cost, rates.currency)


def sla_months(engine: Engine, lo: date, hi: date, day: date, services: list[str],
               ) -> pl.DataFrame:
    """Per service and whole calendar month (not the month of the change): breached (0/1) and
    credit amount, from the SLA report; empty without contracts."""
    from analytics.reports import ReportError
    from analytics.reports.sla import sla_compliance

    out = []
    month = date(lo.year, lo.month, 1) if lo.day == 1 else _next_month(lo)
    while _next_month(month) <= hi + timedelta(days=1):
        if not (month <= day < _next_month(month)):
            try:
                rep = sla_compliance(engine, year=month.year, month=month.month)
            except ReportError:
                return pl.DataFrame(schema={"service": pl.String, "post": pl.Boolean,
                                            "breached": pl.Float64, "credit_amount": pl.Float64})
            rows = (rep.rows.filter(pl.col("service").is_in(services))
                    .group_by("service").agg(pl.col("breached").cast(pl.Float64).max(),
                                             pl.col("credit_amount").sum())
                    .with_columns(post=pl.lit(month > day)))
            out.append(rows)
        month = _next_month(month)
    if not out:
        return pl.DataFrame(schema={"service": pl.String, "post": pl.Boolean,
                                    "breached": pl.Float64, "credit_amount": pl.Float64})
    return pl.concat(out)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


REGISTER_COLUMNS = ("id", "title", "services", "owner", "status", "priority", "risk_score",
                    "kpis", "expected_impact", "intervention_at", "opened_at", "do_at",
                    "check_at", "act_at", "closed_at", "outcome", "cost", "origin")


def register(engine: Engine) -> pl.DataFrame:
    """The register, highest risk first: one row per improvement with its lists joined as text
    and ``whys``, ``fishbone``, ``links``, ``lessons`` as given (JSON text for the lists)."""
    frame = read_frame(engine, "SELECT * FROM improvement ORDER BY id")
    if frame.height == 0:
        return pl.DataFrame(schema={c: pl.String for c in REGISTER_COLUMNS})

    def joined(col: str) -> pl.Expr:
        return pl.col(col).map_elements(lambda t: ", ".join(json.loads(t or "[]")),
                                        return_dtype=pl.String)

    return (frame.with_columns(joined("services"), joined("kpis"))
            .select(*REGISTER_COLUMNS, "whys", "fishbone", "links", "lessons")
            .sort("risk_score", "id", descending=[True, False], nulls_last=True))
