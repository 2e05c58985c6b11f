"""Open signals: what the rules of :mod:`analytics.loop.signals_rules` find in the store now.

One function, :func:`open_signals`, serves ``notify run`` and the Signals page. Each signal
names its rule, kind, subject (what it is about), period (which occurrence: with rule and
subject it is the outbox's dedup key), the owning team and the evidence behind it. Kinds:

- ``slo_burn_during_deploy``: a burn-rate alert pair of the rule's severity fired while a
  production deployment of the SLO's service was running or within its observation window
  (``WORKBENCH_WINDOW_HOURS``) — :func:`analytics.metrics.slo_alerts.deployments_during_burn`
  over the alert history of the last ``lookback_days``. One signal per deployment.
- ``sla_at_risk`` / ``sla_breached``: per contract and service, the month holding ``at`` in the
  contract's zone, linear projection from the month so far
  (:func:`analytics.loop.signals_stats.sla_projection`); ``sla_breached`` also reports last
  month's breaches (:func:`analytics.reports.sla.sla_compliance`).
- ``kpi_worsening``: per service, a catalogue KPI worse in each of the last ``periods``
  complete calendar months (UTC) AND the first-vs-last test significant at ``alpha``
  (tests in :mod:`analytics.loop.signals_stats`; deploy days per week has none and is not
  signalled).
- ``budget_exhausted``: an SLO whose error budget remaining is ≤ 0 at ``at`` (state
  "exhausted" of :func:`analytics.reports.slo.slo_report`); one per SLO per calendar month.
- ``outage_without_postmortem``: customer-facing production outages opened between
  ``lookback_days`` and ``after_days`` before ``at`` still without a post-mortem link
  (:func:`analytics.reports.compliance.outages_without_postmortem`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics import catalogue
from analytics.loop.signals_rules import Rule, Rules
from analytics.loop.signals_stats import count_worse_p, durations_worse_p, proportion_worse_p
from analytics.reports import NoData
from analytics.reports.signal_types import Signal, SignalReport  # noqa: F401 (re-exported)
from analytics.reports.signals_sla import sla_signals
from analytics.store import queries
from analytics.store.queries import Filters

PRODUCTION = Filters(environment="production")
# KPI column → (facts table, time column, unit expression or value column, test).
KPI_TESTS: dict[str, tuple[str, str, Any, str]] = {
    "cfr": ("deployments", "finished_at", pl.col("failed").fill_null(False), "proportion"),
    "rework_rate": ("deployments", "finished_at", pl.col("unplanned").fill_null(False),
                    "proportion"),
    "rollback_rate": ("deployments", "finished_at", pl.col("status") == "rolled_back",
                      "proportion"),
    "recurrence_rate": ("incidents", "opened_at", pl.col("recurred").fill_null(False),
                        "proportion"),
    "lead_time_median": ("lead_pairs", "finished_at", pl.col("lead_hours"), "durations"),
    "recovery_median": ("deployments", "finished_at", pl.col("recovery_hours"), "durations"),
    "mttr_median": ("incidents", "opened_at", pl.col("restore_hours"), "durations"),
    "ttd_median": ("incidents", "opened_at", pl.col("detect_hours"), "durations"),
    "deploys_per_day": ("deployments", "finished_at", pl.lit(True), "counts"),
}


def default_at(engine: Engine) -> datetime:
    """The evaluation instant: the end of the newest SLI bucket, else the day after the newest
    event, else now (naive UTC) — so a store of old data is judged at its own end."""
    at = queries.newest_sample_ts(engine)
    if at is None:
        end = queries.data_extent(engine)[1]
        at = (datetime.combine(end + timedelta(days=1), datetime.min.time()) if end
              else datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    return at


def _teams(engine: Engine) -> dict[str, str]:
    svc = queries.services(engine)
    return dict(zip(svc["service"].to_list(), svc["team"].fill_null("unassigned").to_list(),
                    strict=True))


def burn_during_deploy(engine: Engine, rule: Rule, at: datetime, teams: dict[str, str],
                       window_hours: float) -> list[Signal]:
    """``slo_burn_during_deploy`` signals (see the module text)."""
    from analytics.metrics.slo_alerts import deployments_during_burn
    from analytics.reports import slo

    since = at - timedelta(days=rule.param("lookback_days"))
    inputs = slo.load(engine, filters=Filters(), at=at, since=since)
    fired = slo.history(inputs, since, at)
    pad = timedelta(hours=window_hours)
    deps = queries.deployments(engine, Filters(start=(since - pad).date(), end=at.date(),
                                               environment="production"))
    deps = deps.filter((pl.col("finished_at") >= since) & (pl.col("finished_at") < at)
                       & ~pl.col("is_rollback").fill_null(False))
    hits = deployments_during_burn(deps, fired, severity=rule.param("alert_severity"),
                                   grace=pad)
    ext = dict(zip(deps["id"].to_list(), deps["external_id"].to_list(), strict=True))
    out = []
    for (dep_id,), rows in hits.group_by(["deployment_id"], maintain_order=True):
        first = rows.row(0, named=True)
        service = first["service"]
        alerts = sorted({f"{r['slo']}: {r['alert']}" for r in rows.iter_rows(named=True)})
        out.append(Signal(
            rule=rule.name, kind=rule.kind, severity=rule.severity,
            subject=f"{service}:{ext.get(dep_id, dep_id)}",
            period=f"{first['deploy_end']:%Y-%m-%d}", service=service,
            team=teams.get(service, "unassigned"),
            title=f"Error budget burning after deployment {ext.get(dep_id, dep_id)} of {service}",
            summary=(f"{len(alerts)} burn-rate alert pair(s) fired while deployment "
                     f"{ext.get(dep_id, dep_id)} ({first.get('version') or 'no version'}) "
                     f"finished {first['deploy_end']:%Y-%m-%d %H:%M} UTC was within its "
                     f"{window_hours:g} h observation window."),
            evidence={"deployment_id": int(dep_id), "deployment": str(ext.get(dep_id, dep_id)),
                      "finished_at": first["deploy_end"].isoformat(),
                      "alerts": alerts,
                      "first_alert_at": rows["alert_start"].min().isoformat()}))
    return out


def _period_bounds(at: datetime, periods: int) -> tuple[date, date]:
    """The ``periods`` + 1 complete calendar months (UTC) before the month holding ``at``."""
    end = at.date().replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    for _ in range(periods):
        start = (start - timedelta(days=1)).replace(day=1)
    return start, end


def kpi_worsening(engine: Engine, rule: Rule, at: datetime) -> list[Signal]:
    """``kpi_worsening`` signals (see the module text)."""
    from analytics.metrics.trends import degraded_runs, trend
    from analytics.reports.delivery import facts as delivery_facts

    periods, alpha = rule.param("periods"), rule.param("alpha")
    start, end = _period_bounds(at, periods)
    data = delivery_facts(engine, Filters(start=start, end=end, environment="production"))
    table = trend(data, "month", by=("service",))
    runs = degraded_runs(table, keys=["service"], run=periods).filter(pl.col("escalate"))
    by_col = {k.column: k for k in catalogue.kpis().values()}
    svc = queries.services(engine)
    owners = {r["service"]: r for r in svc.iter_rows(named=True)}
    first_p = pl.datetime(start.year, start.month, 1)
    last_p = pl.datetime(end.year, end.month, 1)
    frames = {"deployments": data.deployments, "incidents": data.incidents,
              "lead_pairs": data.lead_pairs.join(
                  data.deployments.select(pl.col("id").alias("deployment_id"), "service"),
                  on="deployment_id", how="left")}
    # Split each table by service once: filtering the whole table per run and KPI cost ~1.7 s
    # at a million deployments (hundreds of runs).
    parts: dict[str, dict[Any, pl.DataFrame]] = {}

    def of_service(name: str, service: str) -> pl.DataFrame:
        if name not in parts:
            frame = frames[name] if name != "table" else table
            parts[name] = {k[0]: v for k, v in frame.partition_by(
                "service", as_dict=True, maintain_order=True).items()}
        return parts[name].get(service, (frames[name] if name != "table" else table).clear())

    out = []
    for row in runs.iter_rows(named=True):
        service = row["service"]
        for column in row["escalated_kpis"]:
            if column not in KPI_TESTS or column not in by_col:
                continue
            kpi = by_col[column]
            table_name, ts, value, test = KPI_TESTS[column]
            units = of_service(table_name, service).with_columns(
                period=pl.col(ts).dt.truncate("1mo"), v=value)
            a = units.filter(pl.col("period") == first_p)["v"]
            b = units.filter(pl.col("period") == last_p)["v"]
            days1 = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - start
            days2 = end - end.replace(day=1) + timedelta(days=1)
            p = (proportion_worse_p(int(a.sum()), a.len(), int(b.sum()), b.len(), kpi.better)
                 if test == "proportion" else
                 durations_worse_p(a.to_list(), b.to_list(), kpi.better) if test == "durations"
                 else count_worse_p(a.len(), days1.days, b.len(), days2.days, kpi.better))
            if p is None or p >= alpha:
                continue
            values = (of_service("table", service).sort("period")
                      .select("period", column).tail(periods + 1))
            series = [{"period": f"{r['period']:%Y-%m}", "value": r[column]}
                      for r in values.iter_rows(named=True)]
            team = (owners.get(service) or {}).get(kpi.owner) or "unassigned"
            method = {"proportion": "two-proportion z-test", "durations": "Mann-Whitney U",
                      "counts": "conditional binomial test of counts"}[test]
            out.append(Signal(
                rule=rule.name, kind=rule.kind, severity=rule.severity,
                subject=f"{service}:{kpi.key}", period=f"{end:%Y-%m}", service=service,
                team=str(team),
                title=f"{kpi.label} of {service} worse {periods} months running",
                summary=(f"{kpi.label} got worse in each of the last {periods} months "
                         f"({' → '.join(kpi.show(s['value']) for s in series)}); "
                         f"{series[0]['period']} vs {series[-1]['period']}: one-sided "
                         f"{method} p = {p:.4f} < {alpha:g}."),
                evidence={"kpi": kpi.key, "better": kpi.better, "series": series,
                          "test": method, "p_value": round(p, 6), "alpha": alpha,
                          "n_first": a.len(), "n_last": b.len()}))
    return out


def budget_exhausted(engine: Engine, rule: Rule, at: datetime,
                     teams: dict[str, str]) -> list[Signal]:
    """``budget_exhausted`` signals: SLOs whose budget remaining is ≤ 0 at ``at``."""
    from analytics.reports.slo import slo_report

    status = slo_report(engine, at=at).status.filter(pl.col("state") == "exhausted")
    return [Signal(
        rule=rule.name, kind=rule.kind, severity=rule.severity, subject=r["slo"],
        period=f"{at:%Y-%m}", service=r["service"], team=teams.get(r["service"], "unassigned"),
        title=f"Error budget of SLO {r['slo']} ({r['service']}) exhausted",
        summary=(f"SLI {r['sli']:.5f} against target {r['target']:g} over {r['window']}: "
                 f"budget remaining {r['budget_remaining'] * 100:.1f}%."),
        evidence={"slo": r["slo"], "sli": r["sli"], "target": r["target"], "window": r["window"],
                  "budget_remaining": r["budget_remaining"], "as_of": at.isoformat()})
        for r in status.iter_rows(named=True)]


def outages_without_postmortem(engine: Engine, rule: Rule, at: datetime,
                               teams: dict[str, str]) -> list[Signal]:
    """``outage_without_postmortem`` signals (see the module text)."""
    from analytics.reports.compliance import outages_without_postmortem as missing

    newest = at - timedelta(days=rule.param("after_days"))
    oldest = at - timedelta(days=rule.param("lookback_days"))
    incs = queries.incidents(engine, Filters(start=oldest.date(), end=newest.date(),
                                             environment="production"))
    rows = missing(incs).filter((pl.col("opened_at") >= oldest) & (pl.col("opened_at") <= newest))
    out = []
    for r in rows.iter_rows(named=True):
        age = (at - r["opened_at"]) / timedelta(days=1)
        out.append(Signal(
            rule=rule.name, kind=rule.kind, severity=rule.severity,
            subject=f"{r['service']}:{r['external_id']}", period=f"{r['opened_at']:%Y-%m-%d}",
            service=r["service"], team=teams.get(r["service"], "unassigned"),
            title=f"Outage {r['external_id']} of {r['service']} has no post-mortem",
            summary=(f"Customer-facing outage opened {r['opened_at']:%Y-%m-%d %H:%M} UTC "
                     f"({age:.0f} days ago, more than {rule.param('after_days')}) has no "
                     "post-mortem link."),
            evidence={"incident_id": r["id"], "incident": r["external_id"],
                      "severity": r["severity"], "opened_at": r["opened_at"].isoformat(),
                      "age_days": round(age, 1)}))
    return out


def open_signals(engine: Engine, rules: Rules, *, at: datetime | None = None,
                 window_hours: float | None = None) -> SignalReport:
    """Every open signal of the enabled ``rules`` at ``at`` (default :func:`default_at`)."""
    from analytics.reports.delivery import window_of

    at = at or default_at(engine)
    window = window_of(window_hours)
    teams = _teams(engine)
    signals: list[Signal] = []
    notes: list[str] = []
    enabled = rules.enabled()
    sla_rules = [r for r in enabled if r.kind in ("sla_at_risk", "sla_breached")]
    for rule in enabled:
        try:
            if rule.kind == "slo_burn_during_deploy":
                signals += burn_during_deploy(engine, rule, at, teams, window)
            elif rule.kind == "kpi_worsening":
                signals += kpi_worsening(engine, rule, at)
            elif rule.kind == "budget_exhausted":
                signals += budget_exhausted(engine, rule, at, teams)
            elif rule.kind == "outage_without_postmortem":
                signals += outages_without_postmortem(engine, rule, at, teams)
            elif rule is sla_rules[0]:  # both SLA kinds come from one pass
                signals += sla_signals(engine, sla_rules, at, teams)
        except NoData as exc:
            notes.append(f"rule {rule.name}: {exc}")
    return SignalReport(at=at, rules_version=rules.version, signals=signals, notes=notes)


def delivery_state(engine: Engine) -> pl.DataFrame:
    """The outbox per notification: dedup_key, channel, state, attempts, last_error, sent_at."""
    from analytics.store.db import read_frame

    return read_frame(engine, "SELECT dedup_key, channel, channel_type, state, attempts, "
                              "last_error, sent_at FROM notification_outbox ORDER BY id")


def with_delivery(report: SignalReport, outbox: pl.DataFrame) -> pl.DataFrame:
    """One row per open signal with its delivery state: ``channel: state`` per outbox row
    (``not queued`` when ``notify run`` has not seen it yet)."""
    states: dict[str, list[str]] = {}
    for r in outbox.iter_rows(named=True):
        tries = f", {r['attempts']} attempts" if r["attempts"] and r["attempts"] > 1 else ""
        states.setdefault(r["dedup_key"], []).append(f"{r['channel']}: {r['state']}{tries}")
    rows = [{"kind": s.kind, "team": s.team, "subject": s.subject, "period": s.period,
             "delivery": "; ".join(states.get(s.dedup_key, [])) or "not queued",
             "severity": s.severity, "service": s.service, "title": s.title,
             "summary": s.summary,
             "evidence": ", ".join(f"{k}={v}" for k, v in s.evidence.items())}
            for s in report.signals]
    return pl.DataFrame(rows, schema={c: pl.String for c in (
        "kind", "team", "subject", "period", "delivery", "severity", "service", "title",
        "summary", "evidence")})
