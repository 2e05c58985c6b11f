"""Threshold reports (REFERENCE §4): replay an alert rule over a service's history and score it
against incidents, replay a rollback trigger over its deployments, and the alert rule a team
has saved. ``report threshold-replay``, ``report rollback-replay`` and the Threshold workshop
page all call these functions; the semantics live in ``analytics.studies.thresholds`` and
``analytics.studies.threshold_policies``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session

from analytics.reports import BadRequest, NoData, periods
from analytics.store import queries
from analytics.store.definitions import latest_definition
from analytics.store.queries import Filters
from analytics.studies import threshold_policies as tp
from analytics.studies import thresholds as th

METRICS = ("error_rate", "burn_rate", "ticket_rate")
INCIDENT_SCOPES = ("all", "outage", "customer_facing")
# A rule nobody has saved yet starts here (threshold as an error ratio; durations in minutes).
DEFAULT_RULE = {"threshold": 0.05, "window_minutes": 15, "for_minutes": 5, "cooldown_minutes": 30}
# The rollback trigger evaluates the error rate over this window (one 5-minute SLI sample).
ROLLBACK_WINDOW = timedelta(minutes=5)
# Suggested thresholds from history: percentiles of the windowed value (rare = worth a page).
HISTORY_WARN_PCT, HISTORY_CRITICAL_PCT = 99.0, 99.9
# Thresholds over a sweep for the precision–recall curve (error ratios).
SWEEP = np.geomspace(0.001, 0.5, 30)
RULE_METHODOLOGY = ("Alert when the windowed value is above the threshold for the for-duration; "
                    "cooldown after each alert (REFERENCE §4).")


def rule_of(d: dict[str, float]) -> th.Rule:
    """A Rule from its stored form (threshold and minutes).

    >>> rule_of(DEFAULT_RULE).window
    datetime.timedelta(seconds=900)
    """
    return th.Rule(float(d["threshold"]), timedelta(minutes=d["window_minutes"]),
                   timedelta(minutes=d["for_minutes"]), timedelta(minutes=d["cooldown_minutes"]))


def rule_key(metric: str, service: str) -> str:
    """The KPI-definition key that versions a service's alert rule.

    >>> rule_key("error_rate", "accounts")
    'alert_rule.error_rate.accounts'
    """
    return f"alert_rule.{metric}.{service}"


def _check(engine: Engine, service: str, metric: str, start: date | None, end: date | None) -> None:
    if metric not in METRICS:
        raise BadRequest(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if start and end and start > end:
        raise BadRequest(f"the period starts {start}, after it ends {end}")
    if service not in set(queries.services(engine)["service"].to_list()):
        raise BadRequest(f"unknown service {service} (--service)")


def series(engine: Engine, *, service: str, metric: str = "error_rate", start: date | None = None,
           end: date | None = None) -> th.Series:
    """``service``'s metric on its regular grid over the period (all of history by default).
    Raises :class:`NoData` when the service has no samples (or tickets) in it."""
    _check(engine, service, metric, start, end)
    filters = Filters(start=start, end=end, services=(service,))
    if metric == "ticket_rate":
        t = queries.tickets(engine, filters)
        if t.height == 0:
            raise NoData(f"no tickets for {service} in the period (metric {metric})")
        lo, hi = filters.bounds()
        lo = lo or t["opened_at"].min().replace(minute=0, second=0, microsecond=0)
        hi = hi or t["opened_at"].max().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return th.ticket_rate_series(t, lo, hi)
    samples = queries.sli_samples(engine, filters)
    if samples.height == 0:
        raise NoData(f"no SLI samples for {service} in the period (metric {metric})")
    if metric == "burn_rate":
        return th.burn_rate_series(samples, queries.slos(engine))
    return th.error_rate_series(samples)


def production_incidents(engine: Engine, *, service: str, scope: str = "all") -> pl.DataFrame:
    """The service's production incidents that count as real problems: ``all``, ``outage`` or
    ``customer_facing`` ones."""
    if scope not in INCIDENT_SCOPES:
        raise BadRequest(f"incidents must be one of {', '.join(INCIDENT_SCOPES)}, got {scope!r}")
    inc = queries.incidents(engine, Filters(services=(service,), environment="production"))
    return inc if scope == "all" else inc.filter(pl.col(scope))


def _replay(one: th.Series, rule: th.Rule, incidents: pl.DataFrame, what: str) -> dict[str, Any]:
    try:
        return th.replay(one, rule, incidents)
    except ValueError as exc:  # a window or for-duration off the sample grid
        raise BadRequest(f"{exc} ({what})") from None


def threshold_replay(engine: Engine, *, service: str, rule: th.Rule, metric: str = "error_rate",
                     incidents: str = "all", start: date | None = None, end: date | None = None,
                     ) -> dict[str, Any]:
    """Replay ``rule`` over the service's metric and score it against its incidents.

    Returns {metric, service, threshold, window_minutes, for_minutes, cooldown_minutes, alerts,
    incidents, alert_intervals [{service, start, end, true_alert}], precision, recall,
    intervals_95 {precision, recall} (bootstrap percentile intervals, or None when there is
    nothing to resample), detection_delay_minutes {median, p90}, alerts_per_week, off_hours_alerts,
    missed_incidents [{id, severity, title, opened_at, resolved_at}], false_alerts}.
    """
    start, end = periods.days(engine, start, end)
    one = series(engine, service=service, metric=metric, start=start, end=end)
    inc = production_incidents(engine, service=service, scope=incidents)
    result = _replay(one, rule, inc, f"--service {service}, --metric {metric}")
    alerts = [{**a, "true_alert": bool(t)} for a, t in
              zip(result["alert_intervals"], result["true_alert"], strict=True)]
    scored = result["incidents_scored"]
    missed = [{k: r[k] for k in ("id", "severity", "title", "opened_at", "resolved_at")}
              for r, caught in zip(scored.rows(named=True), result["caught"], strict=True) if not caught]
    minutes = timedelta(minutes=1)
    return {"metric": metric, "service": service, "threshold": rule.threshold,
            "window_minutes": rule.window / minutes, "for_minutes": rule.for_ / minutes,
            "cooldown_minutes": rule.cooldown / minutes,
            "alerts": result["alerts"], "incidents": result["incidents"],
            "alert_intervals": alerts, "precision": result["precision"], "recall": result["recall"],
            # Few alerts and incidents make precision and recall coarse: say how coarse.
            "intervals_95": th.bootstrap(result),
            "detection_delay_minutes": {"median": result["median_delay"], "p90": result["p90_delay"]},
            "alerts_per_week": result["alerts_per_week"], "off_hours_alerts": result["off_hours_alerts"],
            "missed_incidents": missed, "false_alerts": [a for a in alerts if not a["true_alert"]]}


def rollback_replay(engine: Engine, *, service: str, threshold: float, within: timedelta,
                    window: timedelta = ROLLBACK_WINDOW, start: date | None = None,
                    end: date | None = None) -> dict[str, Any]:
    """Replay the trigger "error rate above ``threshold`` within ``within`` of a deployment"
    over the service's production deployments (:func:`threshold_policies.rollback_replay`).

    Returns {service, threshold, within_minutes, window_minutes, deployments, caught,
    false rollback, missed, quiet, precision, recall, impact_minutes_saved, rows} where ``rows``
    lists each deployment (id, finished_at, status, outcome, trigger_at, impact_minutes_saved).
    """
    if not threshold >= 0:
        raise BadRequest(f"threshold must be 0 or more, got {threshold:g}")
    if within <= timedelta(0):
        raise BadRequest(f"within must be positive, got {within}")
    start, end = periods.days(engine, start, end)
    one = series(engine, service=service, metric="error_rate", start=start, end=end)
    deps = queries.deployments(engine, Filters(start=start, end=end, services=(service,),
                                               environment="production"))
    try:
        replayed = tp.rollback_replay(one, deps, threshold, within, window)
    except ValueError as exc:
        raise BadRequest(f"{exc} (--service {service})") from None
    if replayed.height == 0:
        raise NoData(f"no production deployments of {service} inside its SLI history")
    minutes = timedelta(minutes=1)
    return {"service": service, "threshold": threshold, "within_minutes": within / minutes,
            "window_minutes": window / minutes, **tp.rollback_summary(replayed),
            "rows": replayed.select("id", "finished_at", "status", "outcome", "trigger_at",
                                    "impact_minutes_saved").to_dicts()}


def current_rule(engine: Engine, *, metric: str, service: str) -> tuple[dict[str, float], int]:
    """The latest saved rule of ``service``'s ``metric`` and its version (the default rule,
    version 0, when none was saved)."""
    with Session(engine) as s:
        row = latest_definition(session=s, key=rule_key(metric, service))
        return (json.loads(row.thresholds), row.version) if row else (dict(DEFAULT_RULE), 0)


def rule_definition(metric: str, service: str, rule: dict[str, float]) -> dict[str, Any]:
    """The keyword arguments of :func:`analytics.store.definitions.save_definition` for saving
    ``rule`` (everything but session, actor and reason). A lower value is better: the rule
    fires when the value goes above the threshold."""
    return {"key": rule_key(metric, service), "name": f"Alert rule {rule_key(metric, service)}",
            "unit": "rule", "methodology": RULE_METHODOLOGY, "thresholds": dict(rule),
            "direction": "lower"}


@dataclass(frozen=True)
class ReplayInputs:
    """What the workshop replays: one service's series, its incidents and deployments, and the
    error budget (1 − strictest SLO target; None without an SLO)."""

    service: str
    metric: str
    series: th.Series
    incidents: pl.DataFrame
    deployments: pl.DataFrame
    budget: float | None


def replay_inputs(engine: Engine, *, service: str, metric: str = "error_rate",
                  scope: str = "all") -> ReplayInputs:
    """Read what the workshop needs for ``service`` (its whole history)."""
    one = series(engine, service=service, metric=metric)
    slo = queries.slos(engine).filter(pl.col("service") == service)
    deps = queries.deployments(engine, Filters(services=(service,), environment="production"))
    return ReplayInputs(service, metric, one, production_incidents(engine, service=service, scope=scope),
                        deps.select("finished_at", "status", "version"),
                        float(1 - slo["target"].max()) if slo.height else None)


def suggestions(inputs: ReplayInputs, *, window_minutes: float) -> pl.DataFrame:
    """Thresholds to start from: percentiles of the windowed value's history
    (:func:`threshold_policies.thresholds_from_history`) and the SLO's error budget
    (:func:`threshold_policies.thresholds_from_sla`: warn at 80% of the budget rate, critical at
    it; for burn rate the budget rate is 1). Columns: source, warn, critical."""
    rows = []
    k = int(timedelta(minutes=window_minutes) / inputs.series.step)
    if k >= 1 and timedelta(minutes=window_minutes) == k * inputs.series.step:
        values = inputs.series.values(k)[0]
        if np.isfinite(values).any():
            h = tp.thresholds_from_history(values, HISTORY_WARN_PCT, HISTORY_CRITICAL_PCT, "lower")
            rows.append({"source": f"history (p{HISTORY_WARN_PCT:g} / p{HISTORY_CRITICAL_PCT:g})",
                         "warn": h["warn_above"], "critical": h["critical_above"]})
    commitment = 1.0 if inputs.metric == "burn_rate" else inputs.budget
    if commitment and inputs.metric != "ticket_rate":
        s = tp.thresholds_from_sla(commitment)
        rows.append({"source": "SLO error budget (80% / 100%)", "warn": s["warn_above"],
                     "critical": s["critical_above"]})
    return pl.DataFrame(rows, schema={"source": pl.String, "warn": pl.Float64, "critical": pl.Float64})


def workshop(inputs: ReplayInputs, *, current: dict[str, float], proposed: dict[str, float]
             ) -> dict[str, Any]:
    """Everything the workshop shows for a proposed rule against the current one: ``card``
    (scorecard frame), ``result`` (the proposed replay), ``line`` (hourly maxima of the
    windowed value), ``alerts`` (start, end, kind), ``incidents`` (id, start, end, caught),
    ``sweep`` (PR curve), ``marks`` (current/proposed points), ``false_alarms``, ``missed``,
    ``span`` (start, end of the replayed series: the chart's time axis), ``caught`` and
    ``missed_count`` (incidents of the proposed rule), ``deployments`` (inside the span)."""
    one, inc = inputs.series, inputs.incidents
    cur, new = rule_of(current), rule_of(proposed)
    what = f"service {inputs.service}, metric {inputs.metric}"
    result, before = _replay(one, new, inc, what), _replay(one, cur, inc, what)
    card = th.compare(one, inc, cur, new)
    # Hourly maxima keep the chart light; alerts and incidents are drawn at full resolution.
    values = one.values(int(proposed["window_minutes"] * 60 // one.step.total_seconds()))[0]
    line = pl.DataFrame({"ts": pl.datetime_range(one.start, one.start + one.step * (values.size - 1),
                                                 one.step, eager=True, time_unit="us"),
                         "value": values}).group_by_dynamic("ts", every="1h").agg(pl.col("value").max())
    alerts = pl.DataFrame(result["alert_intervals"] or None,
                          schema={"service": pl.String, "start": pl.Datetime("us"), "end": pl.Datetime("us")})
    alerts = alerts.with_columns(kind=pl.Series([("true alert" if t else "false alarm")
                                                 for t in result["true_alert"]], dtype=pl.String))
    caught = pl.Series(result["caught"], dtype=pl.Boolean)
    bands = result["incidents_scored"].select("id", start="opened_at", end="resolved_at").with_columns(
        caught=caught)
    sweep = th.sweep(one, inc, SWEEP, (new.window,), new.for_, new.cooldown)
    marks = pl.DataFrame([{"rule": name, "precision": r["precision"], "recall": r["recall"]}
                          for name, r in (("current", before), ("proposed", result))],
                         schema={"rule": pl.String, "precision": pl.Float64, "recall": pl.Float64})
    span_end = one.start + one.step * one.num.shape[1]
    return {"card": card, "result": result, "line": line, "alerts": alerts, "incidents": bands,
            "sweep": sweep, "marks": marks, "span": (one.start, span_end),
            "caught": int(caught.sum()), "missed_count": int((~caught).sum()),
            "false_alarms": alerts.filter(pl.col("kind") == "false alarm").select("start", "end"),
            "missed": result["incidents_scored"].filter(~caught)
            .select("id", "severity", "title", "opened_at", "resolved_at"),
            # Only deployments inside the replayed span: older ones would stretch the time axis.
            "deployments": inputs.deployments.filter(
                pl.col("finished_at").is_between(one.start, span_end, closed="left"))}

