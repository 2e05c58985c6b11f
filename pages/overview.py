"""Overview: what happened in the period, then the release health scorecard (issue 4 item 6):
per service and per team the delivery KPIs next to customer impact, coloured by DORA band."""

from datetime import timedelta

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.cli.report_delivery import environments_of, read_inputs
from analytics.metrics.activity import totals, weekly_counts
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.metrics.delivery_report import Facts, build_facts
from analytics.metrics.drilldown import AFTER_RELEASE_KINDS, after_release_records, records
from analytics.metrics.scorecard import ESCALATION_RUN, scorecard
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters

LABELS = {"deployments": "Deployments", "incidents": "Incidents", "tickets": "Support tickets",
          "csat_responses": "CSAT responses"}
HOW = {
    "deployments": "deployments with finished_at in the period; rollback actions not counted",
    "incidents": "incidents opened in the period",
    "tickets": "support tickets opened in the period (environment filter does not apply)",
    "csat_responses": "survey answers received in the period (environment filter does not apply)",
}


@st.cache_data(ttl=300, show_spinner="Counting…")
def activity(filters: Filters) -> tuple[dict[str, int], pl.DataFrame]:
    """Totals and weekly counts per kind: aggregated here, never raw events to the browser."""
    events = {kind: queries.event_times(ui.engine(), kind, filters) for kind in LABELS}
    return totals(events), weekly_counts(events)


# Colour by band (REFERENCE §1.2): a cell background a leader reads at a glance (no emoji: they
# depend on the viewer's fonts), plus the band's word for the record.
COLOURS = {"elite": "#b9e4bc", "high": "#cfe2f7", "medium": "#ffe0b2", "low": "#ffcdd2"}
KPIS = {  # scorecard column → (heading, band column, format)
    "deploys_per_day": ("Deploys/day", "deployment_frequency_band", "{:.2f}"),
    "lead_time_median": ("Lead time", "lead_time_band", "{:.1f} h"),
    "cfr": ("CFR", "change_failure_rate_band", "{:.1%}"),
    "recovery_median": ("Recovery", "recovery_time_band", "{:.1f} h"),
}
IMPACT = {"attributed_incidents": "Incidents (attrib.)",
          "customer_facing_minutes": "Cust.-facing min",
          "tickets_after_releases": "Tickets after rel."}
CSAT = "CSAT after rel. / other"
NAMES = {"cfr": "CFR", "lead_time_median": "lead time", "recovery_median": "recovery",
         "mttr_median": "MTTR", "deploys_per_day": "deploy freq."}
EVERY = "month"
DRILL_ROWS = 500
EVENTS = {"tickets after releases": "tickets", "CSAT after releases": "csat"}  # kind → source


@st.cache_data(ttl=300, show_spinner="Computing the scorecard…")
def delivery_facts(filters: Filters, window: float) -> Facts:
    """Per-record delivery facts, as `report scorecard` computes them (kept on the server)."""
    deployments, changes, incidents = read_inputs(ui.engine(), filters, window)
    return build_facts(deployments, changes, incidents, start=filters.start, end=filters.end,
                       window_hours=window, environments=environments_of(filters))


@st.cache_data(ttl=300)
def customer_events(filters: Filters, window: float) -> dict[str, pl.DataFrame]:
    """Tickets and CSAT answers of the period and ``window`` hours past it (kept on the
    server), as `report scorecard` reads them."""
    pad = timedelta(hours=window)
    return {"tickets": queries.tickets(ui.engine(), filters, pad_after=pad),
            "csat": queries.csat(ui.engine(), filters, pad_after=pad)}


@st.cache_data(ttl=300)
def scorecards(filters: Filters, window: float) -> dict[str, pl.DataFrame]:
    """Service and team scorecard rows (aggregates only), as `report scorecard`."""
    facts = delivery_facts(filters, window)
    events = customer_events(filters, window)
    return {level: scorecard(facts, events["tickets"], events["csat"], level=level,
                             band_year=DEFAULT_YEAR, every=EVERY)
            for level in ("service", "team")}


@st.cache_data(ttl=300)
def drill(filters: Filters, window: float, kind: str, service: str | None,
          ) -> tuple[pl.DataFrame, int]:
    """At most DRILL_ROWS records behind a scorecard number of one service, and their count."""
    facts, where = delivery_facts(filters, window), {"service": service}
    if kind in AFTER_RELEASE_KINDS:
        events = customer_events(filters, window)[EVENTS[kind]]
        return after_release_records(facts, events, kind, where=where, limit=DRILL_ROWS)
    return records(facts, kind, where=where, limit=DRILL_ROWS)


def plain(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    """The scorecard as a leader reads it: value · band per KPI, impact, escalation."""
    kpis = [pl.concat_str(pl.col(col).map_elements(fmt.format, return_dtype=pl.String),
                          pl.lit(" · "), pl.col(band)).fill_null("—").alias(head)
            for col, (head, band, fmt) in KPIS.items()]
    flag = pl.when(pl.col("escalate")).then(
        pl.col("escalated_kpis").list.eval(pl.element().replace(NAMES)).list.join(", "))
    csat = pl.concat_str(*[pl.col(c).map_elements("{:.2f}".format, return_dtype=pl.String)
                           .fill_null("—") for c in ("csat_after_releases", "csat_other")],
                         separator=" / ")
    small = pl.when(pl.col("small_sample")).then(pl.lit(" *")).otherwise(pl.lit(""))
    return rows.select(
        (pl.col(name).fill_null("(no service)") + small).alias(name),
        flag.fill_null("").alias("Escalation"), pl.col("deployments").alias("Deploys"), *kpis,
        pl.col("mttr_median").alias("MTTR (h)"), *[pl.col(c).alias(h) for c, h in IMPACT.items()],
        csat.alias(CSAT))


def fitted(name: str) -> dict[str, object]:
    """Short headings (the full ones as tooltips) and widths that fit the scorecard into the
    page at 1400 px, so no column hides behind a horizontal scrollbar."""
    col = st.column_config.Column
    widths = {"Escalation": (100, "Escalate", "KPIs that got worse in each of the last "
                             f"{ESCALATION_RUN} {EVERY}s"),
              "Deploys": (60, "Deploys", "deployments in the period and environment"),
              "Deploys/day": (78, "Freq/day", "deployment frequency per day · DORA band"),
              "Lead time": (84, "Lead time", "median commit → production lead time · DORA band"),
              "CFR": (86, "CFR", "change failure rate · DORA band"),
              "Recovery": (84, "Recovery", "median failed-deployment recovery time · DORA band"),
              "MTTR (h)": (55, "MTTR h", "median incident time to restore, hours"),
              **{head: (w, short, head) for head, w, short in zip(
                  IMPACT.values(), (52, 68, 58), ("Incid.", "Cust. min", "Tickets"), strict=True)},
              CSAT: (86, "CSAT rel./oth.", "CSAT score after releases / at other times")}
    config: dict[str, object] = {name: col(name.capitalize(), width=120, pinned=True)}
    config |= {head: col(label, width=w, help=tip) for head, (w, label, tip) in widths.items()}
    return config


def coloured(table: pl.DataFrame):  # noqa: ANN201 (a pandas Styler)
    """Background of each KPI cell by its band, escalations in red."""
    def paint(cell: str) -> str:
        band = cell.rsplit(" · ", 1)[-1] if isinstance(cell, str) else ""
        return f"background-color: {COLOURS[band]}" if band in COLOURS else ""

    heads = [head for head, _, _ in KPIS.values()]
    return (table.to_pandas().style.map(paint, subset=heads)
            .map(lambda v: "background-color: #ffcdd2; font-weight: bold" if v else "",
                 subset=["Escalation"])
            .format(precision=1, subset=["MTTR (h)"], na_rep="—")
            .format(precision=0, subset=["Cust.-facing min"]))


filters = ui.global_filters()
st.title("Overview")
st.caption(ui.describe(filters))
counts, weekly = activity(filters)

for column, kind in zip(st.columns(len(LABELS)), LABELS, strict=True):
    ui.tile(column, LABELS[kind], f"{counts[kind]:,}", HOW[kind])

window = get_settings().window_hours
st.header("Release health")
cards = scorecards(filters, window)
escalated = cards["service"].filter(pl.col("escalate"))
if escalated.height:
    st.error("Escalate: " + "; ".join(
        f"**{r['service']}** ({', '.join(NAMES.get(k, k) for k in r['escalated_kpis'])})"
        for r in escalated.iter_rows(named=True)))
elif cards["service"].height:
    st.success(f"No service has a KPI that got worse {ESCALATION_RUN} {EVERY}s in a row.")
st.caption(f":green-background[elite] · :blue-background[high] · :orange-background[medium] · "
           f":red-background[low]: DORA {DEFAULT_YEAR} band of each KPI "
           "(gap-filling rule on the Delivery page). CFR = failed ÷ deployments (production), "
           f"incidents attributed within {window:g} h (REFERENCE §1.1); customer impact counts "
           f"attributed incidents, their customer-facing restore minutes, tickets and CSAT "
           f"answers within {window:g} h after a release. * = small sample. Escalation: the KPIs that got "
           f"worse in each of the "
           f"last {ESCALATION_RUN} {EVERY}s. Window and filters: {ui.describe(filters)}.")
by_service, by_team = st.tabs(["By service", "By team"])
for tab, level in ((by_service, "service"), (by_team, "team")):
    with tab:
        rows = cards[level]
        if rows.height == 0:
            st.info("No deployments or incidents in this period for these filters.")
        for crit in rows["criticality"].unique(maintain_order=True).to_list():
            part = rows.filter(pl.col("criticality").is_null() if crit is None
                               else pl.col("criticality") == crit)
            st.markdown(f"**Criticality {crit if crit is not None else 'unknown'}**")
            # Tall enough for every row (35 px a row plus the header): no inner scrollbar.
            st.dataframe(coloured(plain(part, level)), hide_index=True, width="stretch",
                         height=35 * (part.height + 1) + 3, column_config=fitted(level))

st.subheader("Records behind a number")
services_shown = cards["service"]["service"].to_list()
if services_shown:
    k1, k2 = st.columns(2)
    who = k1.selectbox("Service", services_shown, key="overview_drill_service",
                       format_func=lambda s: s or "(no service)")
    kind = k2.selectbox("Records", ["failed deployments", "deployments", "customer-facing incidents",
                                    "explicit", "window", "unattributed", "incidents",
                                    *AFTER_RELEASE_KINDS],
                        key="overview_drill_kind",
                        help=f"explicit / window: incidents attributed by that rule. After "
                             f"releases: opened (answered) within {window:g} h after one of "
                             "the service's releases in the period, or (CSAT) linked to one.")
    rows, total = drill(filters, window, kind, who)
    st.caption(f"{total:,} {kind} of {who or '(no service)'}; showing the newest "
               f"{min(total, DRILL_ROWS):,}.")
    st.dataframe(rows, hide_index=True, width="stretch")

with st.expander("Activity week by week", expanded=weekly.height == 0):
    if weekly.height == 0:
        st.info("Nothing happened in this period for these filters. Widen the period or clear "
                "filters.")
    else:
        chart = (
            alt.Chart(weekly.with_columns(kind=pl.col("kind").replace(LABELS)))
            .mark_line(point=True)
            .encode(x=alt.X("week:T", title="ISO week (Monday, UTC)"),
                    y=alt.Y("count:Q", title="Count per week"),
                    color=alt.Color("kind:N", title=None, legend=None),
                    tooltip=["week:T", "kind:N", "count:Q"])
            .properties(height=170, width=380)
            .facet(facet=alt.Facet("kind:N", title=None), columns=2)
            .resolve_scale(y="independent")
        )
        st.altair_chart(chart)
        st.caption("Weeks without any event of a kind are shown as gaps, not zeros; the first "
                   "and last week of the period may be partial.")
