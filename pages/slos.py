"""SLOs: error budgets, time to exhaustion and burn-rate alerts per SLO (REFERENCE §2)."""

from datetime import datetime, timedelta

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts.reliability import burn_down_chart, burn_rate_chart, composite_chart
from analytics.metrics.slo import CURRENT_BURN_WINDOW, Window
from analytics.metrics.slo_alerts import DEFAULT_ALERTS, span
from analytics.reports import ReportError, periods
from analytics.reports import slo as report
from analytics.store import queries
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)


@ui.cached
def newest() -> datetime | None:
    """The instant SLOs are evaluated at: the end of the newest SLI bucket."""
    return queries.newest_sample_ts(ui.engine())


@ui.cached(show_spinner="Evaluating SLOs…")
def evaluate(teams: tuple[str, ...], services: tuple[str, ...],
             at: datetime) -> tuple[report.SloStatus, pl.DataFrame, pl.DataFrame]:
    """The status report at ``at``, the SLO definitions behind it and each SLO's daily
    burn-down (the cheap read: window sums from the database, the last days as samples)."""
    data = report.load_status(ui.engine(), filters=Filters(teams=teams, services=services), at=at)
    result = report.evaluate(data)
    return result, data.definitions, report.burn_downs(data, result.status)


@ui.cached(resource=True, max_entries=4, show_spinner="Reading SLI samples…")
def inputs(teams: tuple[str, ...], services: tuple[str, ...], at: datetime, since: datetime,
           slo_id: int | None = None) -> report.SloInputs:
    """The report's read (definitions and samples, of one SLO or all), kept on the server as a
    shared resource; only the aggregates the functions below return reach the browser."""
    return report.load(ui.engine(), filters=Filters(teams=teams, services=services), at=at,
                       since=since, slo_ids=None if slo_id is None else [slo_id])


@ui.cached(show_spinner="Replaying burn-rate alerts…")
def history(teams: tuple[str, ...], services: tuple[str, ...], at: datetime, since: datetime,
            until: datetime, slo_id: int | None = None) -> pl.DataFrame:
    """Firing intervals that reach into [since, until), of one SLO or of all."""
    return report.history(inputs(teams, services, at, since, slo_id), since, until)


@ui.cached
def candidates(filters: Filters, at: datetime, since: datetime, until: datetime) -> pl.DataFrame:
    """Deployments in the period during which a page-level burn alert of their service fired."""
    fired = history(filters.teams, filters.services, at, since, until)
    return report.burn_candidates(ui.engine(), filters=filters, fired=fired)


@ui.cached
def charts(teams: tuple[str, ...], services: tuple[str, ...], at: datetime, since: datetime,
           slo_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hourly burn-down of the current window and burn rates from ``since`` to ``at``."""
    return report.series(inputs(teams, services, at, since, slo_id), slo_id, since)


def pct(value: float | None, digits: int = 3) -> str:
    """A ratio as a percentage, or an em dash when undefined."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def exhaustion(hours: float | None, remaining: float | None) -> str:
    """Time to exhaustion as text: spent, a duration, or why there is none."""
    if remaining is None:
        return "no data"
    if hours == 0:
        return "spent"
    if hours is None:
        return "not burning"
    return f"{hours:,.1f} h" if hours < 72 else f"{hours / 24:,.1f} d"


MARK = {"healthy": "●", "at risk": "▲", "exhausted": "■", "no data": "○"}
COLOUR = {"healthy": "green", "at risk": "orange", "exhausted": "red", "no data": "gray"}
ORDER = {state: k for k, state in enumerate(report.STATES)}


def status_table(status: pl.DataFrame, alerts: pl.DataFrame,
                 downs: pl.DataFrame) -> pl.DataFrame:
    """One display row per SLO, worst first: state, the daily burn-down, the alert pairs
    firing now in one column."""
    firing = alerts.group_by("slo_id").agg(pl.col("firing").sum().alias("n_firing"))
    return (status.join(firing, on="slo_id", how="left").join(downs, on="slo_id", how="left")
            .with_columns(
        exhaustion=pl.struct("exhaustion_hours", "budget_remaining").map_elements(
            lambda r: exhaustion(r["exhaustion_hours"], r["budget_remaining"]),
            return_dtype=pl.String),
        firing=pl.when(pl.col("n_firing").fill_null(0) == 0).then(pl.lit("none"))
        .otherwise(pl.format("{} of {}", pl.col("n_firing"), pl.lit(len(report.ALERTS)))),
        rank=pl.col("state").replace_strict(ORDER, return_dtype=pl.Int64),
        state=pl.col("state").replace_strict(MARK) + " " + pl.col("state"),
        **{c: pl.col(c) * 100 for c in ("target", "sli", "budget_consumed", "budget_remaining")})
        .sort("rank", "budget_remaining", nulls_last=True)
        .select("state", "slo", "service", "budget_remaining", "burn_down", "target", "sli",
                "exhaustion", "firing"))


def coloured(table: pl.DataFrame):  # noqa: ANN201 (a pandas Styler)
    """The table with each state cell in its colour (names stay plain text)."""
    css = {f"{MARK[s]} {s}": f"color: {c}; font-weight: 600" for s, c in
           {"healthy": "#2e7d32", "at risk": "#e65100", "exhausted": "#c62828",
            "no data": "#757575"}.items()}
    return table.to_pandas().style.map(lambda v: css.get(v, ""), subset=["state"])


filters = ui.global_filters()
st.title("SLOs")
at = newest()
if at is None:
    st.info(report.NO_SLO)
    st.stop()
lo, hi = filters.bounds()
hi = min(hi, at) if hi else at
lo = min(lo, hi - timedelta(days=1)) if lo else datetime.combine(periods.span(None, hi.date())[0],
                                                                 datetime.min.time())
try:
    result, defs, downs = evaluate(filters.teams, filters.services, at)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
status, alerts, warnings = result.status, result.alerts, result.warnings
counts = result.counts()
st.caption(f"Evaluated at {at:%Y-%m-%d %H:%M} UTC (end of the newest SLI bucket) · "
           f"{defs.height} SLOs · teams and services from the sidebar; the period "
           f"({lo:%Y-%m-%d} – {hi:%Y-%m-%d}) applies to the alert history and deployments.")

c1, c2, c3, c4 = st.columns(4)
remaining = f"{report.AT_RISK_REMAINING:.0%}"
ui.tile(c1, f":green[{MARK['healthy']} Healthy]", f"{counts['healthy']}",
        f"SLOs with at least {remaining} of their error budget left and no burn-rate alert "
        "firing")
ui.tile(c2, f":orange[{MARK['at risk']} At risk]", f"{counts['at risk']}",
        f"less than {remaining} of the budget left, or a burn-rate alert pair firing now")
ui.tile(c3, f":red[{MARK['exhausted']} Exhausted]", f"{counts['exhausted']}",
        "budget remaining = 1 − (1 − SLI) ÷ (1 − target) ≤ 0 over the SLO's own window")
ui.tile(c4, "Alerts firing now", f"{alerts.filter(pl.col('firing')).height}",
        "alert pairs with both long and short window above their burn-rate factor at the "
        "evaluation instant")
if counts["no data"]:
    st.caption(f"{MARK['no data']} {counts['no data']} SLO(s) without events in their window.")

st.subheader("Status")
table = status_table(status, alerts, downs)
low = min(0.0, *(v for lst in downs["burn_down"].to_list() for v in lst)) if downs.height else 0.0
st.dataframe(
    coloured(table), placeholder="—", hide_index=True, width="stretch",
    height=min(38 + 35 * table.height, 600),
    column_config={
        "state": st.column_config.TextColumn("state", width=100),
        "slo": st.column_config.TextColumn("SLO"),
        "budget_remaining": st.column_config.NumberColumn("budget left %", format="%.1f",
                                                          help="error budget remaining"),
        "burn_down": st.column_config.LineChartColumn(
            "burn-down", y_min=low, y_max=1.0, width="small",
            help="daily: error budget remaining at the end of each day of the current window"),
        "target": st.column_config.NumberColumn("target %", format="%.2f", width="small"),
        "sli": st.column_config.NumberColumn("SLI %", format="%.3f", width="small"),
        "exhaustion": st.column_config.TextColumn("exhaustion", help="time to exhaustion",
                                                  width="small"),
        "firing": st.column_config.TextColumn(
            "alerts", width="small",
            help="alert pairs firing now (the One SLO section names them), of " + ", ".join(report.ALERTS) + " (burn-rate pairs, REFERENCE §2)")})
st.caption(
    "SLI = good ÷ total events over each SLO's own window ("
    + ", ".join(sorted(set(status["window"].to_list()))) + ") ending at the evaluation instant "
    "(occurrences budgeting; time-slice SLOs count good slices ÷ slices). Budget consumed = "
    "(1 − SLI) ÷ (1 − target); left = 1 − consumed (negative = overspent). "
    "Time to exhaustion = left × window ÷ burn rate over the last "
    f"{span(CURRENT_BURN_WINDOW)}. An alert pair fires when both its long window and its short "
    "window (long ÷ 12) burn faster than factor = budget share × window ÷ long window "
    "(REFERENCE §2).")

st.subheader("One SLO")
names = table["slo"].to_list()
name = st.selectbox("SLO", names, index=0, key="slo", bind="query-params",
                    help="worst first; the choice is kept in the page's URL")
row = status.filter(pl.col("slo") == name).row(0, named=True)
slo = defs.filter(pl.col("slo") == name).row(0, named=True)
budgeting = (f"time slices of {slo['slice_minutes']} min good at ≥ {slo['slice_target']:.4%}"
             if slo["budgeting"] == "timeslices" else "occurrences (good ÷ total events)")
how = f"{row['window']} to {at:%Y-%m-%d %H:%M} UTC · target {row['target']:.3%} · {budgeting}"
# SLO and service names are user data: shown as text, never as Markdown; the state is ours.
st.markdown(f":{COLOUR[row['state']]}[**{MARK[row['state']]} {row['state']}**]")
st.text(f"{name} · service {row['service'] or '—'}")
t1, t2, t3, t4 = st.columns(4)
ui.tile(t1, "SLI", pct(row["sli"], 4),
        f"{row['total'] - row['bad']:,.0f} good ÷ {row['total']:,.0f} events · {how}")
ui.tile(t2, "Budget remaining", pct(row["budget_remaining"], 1),
        f"1 − (1 − SLI) ÷ (1 − {row['target']:.4g}) · {how}")
ui.tile(t3, "Error budget", f"{row['budget_minutes']:,.1f} min",
        f"(1 − {row['target']:.4g}) × window length, as minutes of full outage")
ui.tile(t4, "Time to exhaustion", exhaustion(row["exhaustion_hours"], row["budget_remaining"]),
        f"remaining × window ÷ burn rate over the last {span(CURRENT_BURN_WINDOW)} "
        f"({'—' if row['current_burn'] is None else format(row['current_burn'], '.2f')})")

now_firing = alerts.filter((pl.col("slo_id") == slo["slo_id"]) & pl.col("firing"))["name"]
st.caption("Alert pairs firing now: " + (", ".join(now_firing.to_list()) or "none") + ".")
down, rates = charts(filters.teams, filters.services, at, lo, slo["slo_id"])
st.markdown("**Budget burn-down, current window**")
if down.height == 0:
    st.info("No events in the current window: the budget is undefined.")
else:
    st.altair_chart(burn_down_chart(down, height=220), width="stretch")
    st.caption("remaining(t) = 1 − bad events from the window start to t ÷ ((1 − target) × "
               "all events in the window); the ideal line spends the budget evenly to the "
               "period end. Below 0 the budget is overspent.")
st.markdown(f"**Burn rate per alert pair, {lo:%Y-%m-%d} – {hi:%Y-%m-%d}**")
if rates["burn"].null_count() == rates.height:
    st.info("No events in the period: no burn rate to show.")
else:
    st.altair_chart(burn_rate_chart(rates), width="content")
    st.caption("Hourly (over a long period, the highest value of every few hours): error ratio "
               "over the pair's long and short window ÷ (1 − target); the "
               "dashed red rule is the pair's factor (" + ", ".join(
                   f"{a.name}: {a.factor(Window.of(slo).period(at)):.3g}"
                   for a in DEFAULT_ALERTS) + "); the pair fires while both lines are above it. "
               "1 spends the budget exactly by the window end.")

fired = history(filters.teams, filters.services, at, lo, hi, slo["slo_id"])
mine = fired.filter(pl.col("slo_id") == slo["slo_id"])
st.markdown(f"**Alert history, {lo:%Y-%m-%d} – {hi:%Y-%m-%d %H:%M} UTC**")
if mine.height == 0:
    st.info("No burn-rate alert of this SLO fired in the period.")
else:
    st.dataframe(mine.with_columns(minutes=(pl.col("end") - pl.col("start")).dt.total_minutes())
                 .select("alert", "severity", "start", "end", "minutes", "ongoing",
                         "peak_long_burn").sort("start", descending=True), placeholder="—",
                 hide_index=True, width="stretch",
                 column_config={"peak_long_burn": st.column_config.NumberColumn(
                     "peak burn", format="%.2f"),
                     **{c: st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
                        for c in ("start", "end")}})
st.caption("Each alert pair is evaluated at the end of every SLI bucket; an interval runs from the "
           "first firing evaluation to the first one that no longer fires (ongoing = still firing "
           "at the newest bucket).")

mine_w = warnings.filter(pl.col("slo") == name)
if mine_w.height:
    # SLO names are user data: shown as text, never as Markdown.
    st.text("\n".join(f"⚠ {w['alert']}: {w['warning']}" for w in mine_w.iter_rows(named=True)))
else:
    st.caption("Warnings: none — every alert can fire for this target, and no short window is "
               "finer than the data.")

st.subheader("Composite SLO")
st.caption("A weighted composite: SLI = Σ weight × SLI ÷ Σ weight over the components' own "
           "windows (components without data are left out and listed). Default: every SLO of the "
           "chosen SLO's service, equal weights, target = the weight-averaged component target.")
services = sorted(status["service"].drop_nulls().unique().to_list())
k1, k2 = st.columns([1, 2])
svc = k1.selectbox("Service", services, index=services.index(slo["service"])
                   if slo["service"] in services else 0, key="slos_composite_service")
own = status.filter(pl.col("service") == svc)["slo"].sort().to_list()
chosen = k2.multiselect("Component SLOs", names, default=own, key=f"slos_composite_{svc}")
if not chosen:
    st.info("Pick at least one component SLO.")
else:
    weights = st.data_editor(
        pl.DataFrame({"slo": chosen, "weight": [1.0] * len(chosen)}).to_pandas(),
        hide_index=True, width="stretch", disabled=["slo"], key=f"slos_weights_{svc}",
        column_config={"weight": st.column_config.NumberColumn(min_value=0.0, step=0.5)})
    spec = dict(zip(weights["slo"], weights["weight"].astype(float), strict=True))
    try:
        comp = report.composite(result, service=svc, weights=spec)
    except ReportError as exc:
        st.info(str(exc))
    else:
        w1, w2, w3 = st.columns(3)
        ui.tile(w1, "Composite SLI", pct(comp["sli"], 4),
                f"Σ weight × SLI ÷ Σ weight over {len(chosen) - len(comp['missing'])} "
                "component(s)")
        ui.tile(w2, "Composite target", pct(comp["target"], 3),
                "weight-averaged component target")
        ui.tile(w3, "Composite budget remaining", pct(comp["budget_remaining"], 1),
                "1 − (1 − composite SLI) ÷ (1 − composite target)")
        if comp["missing"]:
            st.text("Left out (no data): " + ", ".join(comp["missing"]))
        if comp["components"]["sli"].drop_nulls().len():
            st.altair_chart(composite_chart(comp["components"]), width="stretch")

st.subheader("Deployments during a page-level burn alert")
st.caption(f"Deployments ({filters.environment or 'any environment'}) of the selected services, "
           "spanning started_at – finished_at, that overlap a firing interval of a page alert of "
           "the same service in the period: candidates for an automatic incident ticket.")
# Replaying every SLO's alerts over the period reads all their samples: only on request, so
# the page itself opens fast.
if st.toggle("Find them (replays the alerts of every selected SLO over the period)",
             key="slos_candidates"):
    cand = candidates(filters, at, lo, hi)
    if cand.height == 0:
        st.info("No deployment overlapped a page-level burn alert in the period.")
    else:
        st.metric("Candidate deployments", f"{cand['deployment_id'].n_unique():,}")
        st.dataframe(cand.sort("deploy_start", descending=True).select(
            "deployment_id", "service", "version", "deploy_start", "deploy_end", "alert",
            "alert_start", "alert_end"), placeholder="—", hide_index=True, width="stretch",
            column_config={c: st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
                           for c in ("deploy_start", "deploy_end", "alert_start", "alert_end")})

ui.definitions_caption(slos=True)  # which SLO versions the numbers above used
