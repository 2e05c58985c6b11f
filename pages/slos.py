"""SLOs: error budgets, time to exhaustion and burn-rate alerts per SLO (REFERENCE §2)."""

from datetime import datetime, timedelta

import polars as pl
import streamlit as st

from analytics import ui
from analytics.charts.reliability import burn_down_chart, burn_rate_chart, composite_chart
from analytics.metrics.slo import CURRENT_BURN_WINDOW, Window
from analytics.metrics.slo_alerts import DEFAULT_ALERTS, span
from analytics.reports import ReportError
from analytics.reports import slo as report
from analytics.store import queries
from analytics.store.queries import Filters


@st.cache_data(ttl=300)
def newest() -> datetime | None:
    """The instant SLOs are evaluated at: the end of the newest SLI bucket."""
    return queries.newest_sample_ts(ui.engine())


@st.cache_resource(ttl=300, max_entries=2, show_spinner="Reading SLI samples…")
def inputs(teams: tuple[str, ...], services: tuple[str, ...], at: datetime,
           since: datetime) -> report.SloInputs:
    """The report's read (definitions and samples), kept on the server as a shared resource;
    only the aggregates the functions below return reach the browser."""
    return report.load(ui.engine(), filters=Filters(teams=teams, services=services), at=at,
                       since=since)


@st.cache_data(ttl=300, show_spinner="Evaluating SLOs…")
def evaluate(teams: tuple[str, ...], services: tuple[str, ...], at: datetime,
             since: datetime) -> tuple[report.SloStatus, pl.DataFrame]:
    """The status report at ``at`` and the SLO definitions behind it."""
    data = inputs(teams, services, at, since)
    return report.evaluate(data), data.definitions


@st.cache_data(ttl=300, show_spinner="Replaying burn-rate alerts…")
def history(teams: tuple[str, ...], services: tuple[str, ...], at: datetime, since: datetime,
            until: datetime) -> pl.DataFrame:
    """Firing intervals that reach into [since, until)."""
    return report.history(inputs(teams, services, at, since), since, until)


@st.cache_data(ttl=300)
def candidates(filters: Filters, at: datetime, since: datetime, until: datetime) -> pl.DataFrame:
    """Deployments in the period during which a page-level burn alert of their service fired."""
    fired = history(filters.teams, filters.services, at, since, until)
    return report.burn_candidates(ui.engine(), filters=filters, fired=fired)


@st.cache_data(ttl=300)
def charts(teams: tuple[str, ...], services: tuple[str, ...], at: datetime, since: datetime,
           slo_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hourly burn-down of the current window and burn rates from ``since`` to ``at``."""
    return report.series(inputs(teams, services, at, since), slo_id, since)


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


def status_table(status: pl.DataFrame, alerts: pl.DataFrame) -> pl.DataFrame:
    """One display row per SLO; the alert pairs firing now, in one column."""
    firing = (alerts.group_by("slo_id")
              .agg(pl.col("name").filter(pl.col("firing")).str.join(", ").alias("firing")))
    return (status.join(firing, on="slo_id", how="left").with_columns(
        exhaustion=pl.struct("exhaustion_hours", "budget_remaining").map_elements(
            lambda r: exhaustion(r["exhaustion_hours"], r["budget_remaining"]),
            return_dtype=pl.String),
        firing=pl.when(pl.col("firing") == "").then(pl.lit("none")).otherwise("firing"),
        **{c: pl.col(c) * 100 for c in ("target", "sli", "budget_consumed", "budget_remaining")})
        .select("slo", "service", "target", "window", "sli", "budget_consumed", "budget_remaining",
                "budget_minutes", "exhaustion", "firing")
        .sort("budget_remaining", nulls_last=True))


filters = ui.global_filters()
st.title("SLOs")
at = newest()
if at is None:
    st.info(report.NO_SLO)
    st.stop()
lo, hi = filters.bounds()
hi = min(hi, at) if hi else at
lo = min(lo, hi - timedelta(days=1)) if lo else hi - timedelta(days=90)
try:
    result, defs = evaluate(filters.teams, filters.services, at, lo)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
status, alerts, warnings = result.status, result.alerts, result.warnings
st.caption(f"Evaluated at {at:%Y-%m-%d %H:%M} UTC (end of the newest SLI bucket) · "
           f"{defs.height} SLOs · teams and services from the sidebar; the period applies to the "
           "alert history and deployments below.")

spent = status.filter(pl.col("budget_remaining") <= 0).height
c1, c2, c3 = st.columns(3)
ui.tile(c1, "SLOs", f"{status.height}", "SLO definitions of the selected services")
ui.tile(c2, "Budget spent", f"{spent}",
        "SLOs whose error budget remaining = 1 − (1 − SLI) ÷ (1 − target) is ≤ 0 over their own "
        "window")
ui.tile(c3, "Alerts firing now", f"{alerts.filter(pl.col('firing')).height}",
        "alert pairs with both long and short window above their burn-rate factor at the "
        "evaluation instant")

st.subheader("Status")
st.dataframe(
    status_table(status, alerts), hide_index=True, width="stretch",
    column_config={
        "target": st.column_config.NumberColumn("target %", format="%.3f"),
        "sli": st.column_config.NumberColumn("SLI %", format="%.4f"),
        "budget_consumed": st.column_config.NumberColumn("consumed %", format="%.1f",
                                                         help="error budget consumed"),
        "budget_remaining": st.column_config.NumberColumn("remaining %", format="%.1f",
                                                          help="error budget remaining"),
        "budget_minutes": st.column_config.NumberColumn("budget min", format="%.1f",
                                                        help="minutes of full outage allowed"),
        "exhaustion": st.column_config.TextColumn("exhaustion", help="time to exhaustion"),
        "firing": st.column_config.TextColumn(
            "alerts firing",
            help="of " + ", ".join(report.ALERTS) + " (burn-rate pairs, REFERENCE §2)")})
st.caption(
    "SLI = good ÷ total events over each SLO's own window ending at the evaluation instant "
    "(occurrences budgeting; time-slice SLOs count good slices ÷ slices). Budget consumed = "
    "(1 − SLI) ÷ (1 − target); remaining = 1 − consumed (negative = overspent). Budget minutes = "
    "(1 − target) × window. Time to exhaustion = remaining × window ÷ burn rate over the last "
    f"{span(CURRENT_BURN_WINDOW)}. An alert pair fires when both its long window and its short "
    "window (long ÷ 12) burn faster than factor = budget share × window ÷ long window "
    "(REFERENCE §2).")

st.subheader("One SLO")
names = status.sort("slo")["slo"].to_list()
default = status.sort("budget_remaining", nulls_last=True)["slo"][0]
name = st.selectbox("SLO", names, index=names.index(default), key="slos_slo")
row = status.filter(pl.col("slo") == name).row(0, named=True)
slo = defs.filter(pl.col("slo") == name).row(0, named=True)
budgeting = (f"time slices of {slo['slice_minutes']} min good at ≥ {slo['slice_target']:.4%}"
             if slo["budgeting"] == "timeslices" else "occurrences (good ÷ total events)")
how = f"{row['window']} to {at:%Y-%m-%d %H:%M} UTC · target {row['target']:.3%} · {budgeting}"
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

down, rates = charts(filters.teams, filters.services, at, lo, slo["slo_id"])
left, right = st.columns(2)
with left:
    st.markdown("**Budget burn-down, current window**")
    if down.height == 0:
        st.info("No events in the current window: the budget is undefined.")
    else:
        st.altair_chart(burn_down_chart(down), width="stretch")
        st.caption("remaining(t) = 1 − bad events from the window start to t ÷ ((1 − target) × "
                   "all events in the window); the ideal line spends the budget evenly to the "
                   "period end. Below 0 the budget is overspent.")
with right:
    st.markdown("**Burn rate per alert window, with thresholds**")
    if rates["burn"].null_count() == rates.height:
        st.info("No events in the period: no burn rate to show.")
    else:
        st.altair_chart(burn_rate_chart(rates), width="stretch")
        st.caption("Burn rate = error ratio over the alert's long window ÷ (1 − target), hourly; "
                   "dashed rules are the factors " + ", ".join(
                       f"{a.name}: {a.factor(Window.of(slo).period(at)):.3g}"
                       for a in DEFAULT_ALERTS) + ". 1 spends the budget exactly by the window end.")

fired = history(filters.teams, filters.services, at, lo, hi)
mine = fired.filter(pl.col("slo_id") == slo["slo_id"])
st.markdown(f"**Alert history, {lo:%Y-%m-%d} – {hi:%Y-%m-%d %H:%M} UTC**")
if mine.height == 0:
    st.info("No burn-rate alert of this SLO fired in the period.")
else:
    st.dataframe(mine.with_columns(minutes=(pl.col("end") - pl.col("start")).dt.total_minutes())
                 .select("alert", "severity", "start", "end", "minutes", "ongoing",
                         "peak_long_burn").sort("start", descending=True),
                 hide_index=True, width="stretch",
                 column_config={"peak_long_burn": st.column_config.NumberColumn(format="%.2f")})
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
cand = candidates(filters, at, lo, hi)
st.caption(f"Deployments ({filters.environment or 'any environment'}) of the selected services, "
           "spanning started_at – finished_at, that overlap a firing interval of a page alert of "
           "the same service in the period: candidates for an automatic incident ticket.")
if cand.height == 0:
    st.info("No deployment overlapped a page-level burn alert in the period.")
else:
    st.metric("Candidate deployments", f"{cand['deployment_id'].n_unique():,}")
    st.dataframe(cand.sort("deploy_start", descending=True).select(
        "deployment_id", "service", "version", "deploy_start", "deploy_end", "alert",
        "alert_start", "alert_end"), hide_index=True, width="stretch",
        column_config={c: st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
                       for c in ("deploy_start", "deploy_end", "alert_start", "alert_end")})
