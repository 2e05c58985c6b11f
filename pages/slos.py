"""SLOs: error budgets, time to exhaustion and burn-rate alerts per SLO (REFERENCE §2)."""

from datetime import datetime, timedelta

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.metrics.slo import CURRENT_BURN_WINDOW, Window, slo_status
from analytics.metrics.slo_alerts import (DEFAULT_ALERTS, alert_history, alert_status,
                                          alert_warnings, deployments_during_burn, span)
from analytics.metrics.slo_series import burn_down, burn_rates
from analytics.store import queries
from analytics.store.queries import Filters

# The longest alert window: samples before a period start that its first evaluations need.
LOOKBACK = max(max(a.long_window for a in DEFAULT_ALERTS), CURRENT_BURN_WINDOW)
ALERTS = [a.name for a in DEFAULT_ALERTS]


@st.cache_data(ttl=300)
def newest() -> datetime | None:
    """The instant SLOs are evaluated at: the end of the newest SLI bucket."""
    return queries.newest_sample_ts(ui.engine())


@st.cache_data(ttl=300)
def definitions(teams: tuple[str, ...], services: tuple[str, ...]) -> pl.DataFrame:
    """SLO definitions of the services the sidebar selects."""
    svc = ui.services()
    pool = svc.filter(pl.col("team").is_in(teams)) if teams else svc
    if services:
        pool = pool.filter(pl.col("service").is_in(services))
    return queries.slos(ui.engine()).filter(pl.col("service").is_in(pool["service"].implode()))


@st.cache_resource(ttl=300, max_entries=2, show_spinner="Reading SLI samples…")
def samples(slo_ids: tuple[int, ...], lo: datetime, at: datetime) -> pl.DataFrame:
    """SLI samples of the SLOs in [lo, at), read once and kept on the server (a resource, so it
    is shared, not copied); only the aggregates the functions below return reach the browser."""
    return (queries.sli_samples(ui.engine(), Filters(start=lo.date(), end=at.date()),
                                slo_ids=list(slo_ids))
            .filter(pl.col("ts") < at).select("slo_id", "service", "ts", "good", "total"))


def read_from(defs: pl.DataFrame, at: datetime, lo: datetime) -> datetime:
    """First instant any status window, or the alert windows of a period starting at ``lo``, needs."""
    return min(min(Window.of(r).bounds(at)[0] for r in defs.iter_rows(named=True)), lo) - LOOKBACK


def _defs(slo_ids: tuple[int, ...]) -> pl.DataFrame:
    return queries.slos(ui.engine()).filter(pl.col("slo_id").is_in(list(slo_ids)))


@st.cache_data(ttl=300, show_spinner="Evaluating SLOs…")
def evaluate(slo_ids: tuple[int, ...], at: datetime, first: datetime
             ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Status, alert states and warnings of the SLOs at ``at`` (one row per SLO or alert)."""
    defs, data = _defs(slo_ids), samples(slo_ids, first, at)
    return (slo_status(data, defs, at), alert_status(data, defs, at),
            alert_warnings(defs, at, data))


@st.cache_data(ttl=300, show_spinner="Replaying burn-rate alerts…")
def history(slo_ids: tuple[int, ...], at: datetime, first: datetime, lo: datetime,
            hi: datetime) -> pl.DataFrame:
    """Firing intervals that reach into [lo, hi) (the samples start ``LOOKBACK`` before lo, so
    the first evaluations see full windows)."""
    data = samples(slo_ids, first, at).filter(pl.col("ts") < hi)
    return alert_history(data, _defs(slo_ids)).filter(pl.col("end") > lo)


@st.cache_data(ttl=300)
def candidates(filters: Filters, slo_ids: tuple[int, ...], at: datetime, first: datetime,
               lo: datetime, hi: datetime) -> pl.DataFrame:
    """Deployments in the period during which a page-level burn alert of their service fired."""
    deps = queries.deployments(ui.engine(), filters)
    return deployments_during_burn(deps, history(slo_ids, at, first, lo, hi), severity="page",
                                   environment=filters.environment)


@st.cache_data(ttl=300)
def charts(slo_id: int, slo_ids: tuple[int, ...], at: datetime, first: datetime,
           lo: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hourly burn-down of the current window and burn rates from ``lo`` to ``at``."""
    defs = _defs((slo_id,))
    data = samples(slo_ids, first, at).filter(pl.col("slo_id") == slo_id)
    return burn_down(data, defs, slo_id, at), burn_rates(data, defs, slo_id, lo, at)


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
defs = definitions(filters.teams, filters.services)
if at is None or defs.height == 0:
    st.info("No SLO with SLI samples for these filters. Import SLOs and samples, or clear filters.")
    st.stop()

ids = tuple(defs["slo_id"].to_list())
lo, hi = filters.bounds()
hi = min(hi, at)
lo = min(lo, hi - timedelta(days=1))
first = read_from(defs, at, lo)
status, alerts, warnings = evaluate(ids, at, first)
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
            "alerts firing", help="of " + ", ".join(ALERTS) + " (burn-rate pairs, REFERENCE §2)")})
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

down, rates = charts(slo["slo_id"], ids, at, first, lo)
left, right = st.columns(2)
with left:
    st.markdown("**Budget burn-down, current window**")
    if down.height == 0:
        st.info("No events in the current window: the budget is undefined.")
    else:
        long = down.unpivot(index="ts", on=["remaining", "ideal"], variable_name="line")
        st.altair_chart(
            alt.Chart(long).mark_line().encode(
                x=alt.X("ts:T", title="UTC"),
                y=alt.Y("value:Q", title="Error budget remaining", axis=alt.Axis(format="%")),
                color=alt.Color("line:N", title=None, legend=alt.Legend(orient="bottom")),
                strokeDash=alt.StrokeDash("line:N", legend=None, scale=alt.Scale(
                    domain=["remaining", "ideal"], range=[[1, 0], [6, 4]])),
                tooltip=["ts:T", "line:N", alt.Tooltip("value:Q", format=".1%")],
            ).properties(height=300), width="stretch")
        st.caption("remaining(t) = 1 − bad events from the window start to t ÷ ((1 − target) × "
                   "all events in the window); the ideal line spends the budget evenly to the "
                   "period end. Below 0 the budget is overspent.")
with right:
    st.markdown("**Burn rate per alert window, with thresholds**")
    if rates["burn"].null_count() == rates.height:
        st.info("No events in the period: no burn rate to show.")
    else:
        base = alt.Chart(rates).encode(color=alt.Color("alert:N", title=None,
                                                       legend=alt.Legend(orient="bottom",
                                                                         columns=2)))
        lines = base.mark_line(strokeWidth=1).encode(
            x=alt.X("ts:T", title="UTC"),
            y=alt.Y("burn:Q", title="Burn rate (symlog scale)", scale=alt.Scale(type="symlog"),
                    axis=alt.Axis(values=[0, 1, 3, 10, 30, 100, 300, 1000])),
            tooltip=["ts:T", "alert:N", alt.Tooltip("burn:Q", format=".2f"),
                     alt.Tooltip("factor:Q", format=".3f")])
        rules = base.mark_rule(strokeDash=[6, 3]).encode(y="mean(factor):Q")
        st.altair_chart((lines + rules).properties(height=300), width="stretch")
        st.caption("Burn rate = error ratio over the alert's long window ÷ (1 − target), hourly; "
                   "dashed rules are the factors " + ", ".join(
                       f"{a.name}: {a.factor(Window.of(slo).period(at)):.3g}"
                       for a in DEFAULT_ALERTS) + ". 1 spends the budget exactly by the window end.")

fired = history(ids, at, first, lo, hi)
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
    for w in mine_w.iter_rows(named=True):
        st.warning(f"{w['alert']}: {w['warning']}")
else:
    st.caption("Warnings: none — every alert can fire for this target, and no short window is "
               "finer than the data.")

st.subheader("Deployments during a page-level burn alert")
cand = candidates(filters, ids, at, first, lo, hi)
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
