"""Overview: what happened in the period, then the release health scorecard (issue 4 item 6):
per service and per team the delivery KPIs next to customer impact, coloured by DORA band."""

import polars as pl
import streamlit as st

from analytics import catalogue, ui
from analytics.charts import delivery as charts
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.metrics.drilldown import AFTER_RELEASE_KINDS
from analytics.metrics.scorecard import ESCALATION_RUN
from analytics.reports import ReportError
from analytics.reports import delivery as delivery_report
from analytics.reports import scorecard as report
from analytics.settings import get_settings
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
    return report.activity(ui.engine(), filters)


# Colour by band (REFERENCE §1.2): a cell background a leader reads at a glance (no emoji: they
# depend on the viewer's fonts), plus the band's word for the record.
COLOURS = {"elite": "#b9e4bc", "high": "#cfe2f7", "medium": "#ffe0b2", "low": "#ffcdd2"}
# The banded KPIs of the scorecard, in catalogue order: heading = the catalogue label (the
# column config shows its short form), value = the catalogue's format · band.
BANDED = {band: catalogue.by_column(col) for band, col in catalogue.banded().items()}
MTTR = catalogue.get("mttr")
IMPACT = {"attributed_incidents": "Incidents (attrib.)",
          "customer_facing_minutes": "Cust.-facing min",
          "tickets_after_releases": "Tickets after rel."}
CSAT = "CSAT after rel. / other"
EVERY = report.EVERY
DRILL_ROWS = 500


@st.cache_data(ttl=300, show_spinner="Computing the scorecard…")
def delivery_facts(filters: Filters, window: float):  # noqa: ANN201 (Facts: kept on the server)
    """Per-record delivery facts, as `report scorecard` computes them (kept on the server)."""
    return delivery_report.facts(ui.engine(), filters, window_hours=window)


@st.cache_data(ttl=300)
def customer_events(filters: Filters, window: float) -> dict[str, pl.DataFrame]:
    """Tickets and CSAT answers of the period and ``window`` hours past it (kept on the
    server), as `report scorecard` reads them."""
    return report.customer_events(ui.engine(), filters, window_hours=window)


@st.cache_data(ttl=300)
def scorecards(filters: Filters, window: float) -> dict[str, pl.DataFrame]:
    """Service and team scorecard rows (aggregates only), as `report scorecard`."""
    facts = delivery_facts(filters, window)
    events = customer_events(filters, window)
    return {level: report.from_facts(facts, events, level=level, band_year=DEFAULT_YEAR,
                                     every=EVERY)
            for level in report.LEVELS}


@st.cache_data(ttl=300)
def drill(filters: Filters, window: float, kind: str, service: str | None,
          ) -> tuple[pl.DataFrame, int]:
    """At most DRILL_ROWS records behind a scorecard number of one service, and their count."""
    return report.records(delivery_facts(filters, window), customer_events(filters, window),
                          kind, service=service, limit=DRILL_ROWS)


def kpi_names(columns: list[str], short: bool = True) -> str:
    """Escalated KPI columns as the catalogue names them."""
    return ", ".join(getattr(catalogue.by_column(c), "short" if short else "label")
                     for c in columns)


def plain(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    """The scorecard as a leader reads it: value · band per KPI, impact, escalation."""
    kpis = [pl.concat_str(pl.col(k.column).map_elements(k.show, return_dtype=pl.String),
                          pl.lit(" · "), pl.col(f"{band}_band")).fill_null("—").alias(k.label)
            for band, k in BANDED.items()]
    flag = pl.when(pl.col("escalate")).then(
        pl.col("escalated_kpis").map_elements(kpi_names, return_dtype=pl.String))
    csat = pl.concat_str(*[pl.col(c).map_elements("{:.2f}".format, return_dtype=pl.String)
                           .fill_null("—") for c in ("csat_after_releases", "csat_other")],
                         separator=" / ")
    small = pl.when(pl.col("small_sample")).then(pl.lit(" *")).otherwise(pl.lit(""))
    return rows.select(
        (pl.col(name).fill_null("(no service)") + small).alias(name),
        flag.fill_null("").alias("Escalation"), pl.col("deployments").alias("Deploys"), *kpis,
        pl.col(MTTR.column).map_elements(MTTR.show, return_dtype=pl.String).fill_null("—")
        .alias(MTTR.label),
        *[pl.col(c).alias(h) for c, h in IMPACT.items()], csat.alias(CSAT))


KPI_WIDTHS = {"deployment_frequency": 96, "lead_time": 82, "change_failure_rate": 88,
              "recovery_time": 78}  # px: the widest "value · band" of the demo fits


def fitted(name: str) -> dict[str, object]:
    """Short headings (the full ones as tooltips) and widths that fit the scorecard into the
    page at 1400 px, so no column hides behind a horizontal scrollbar."""
    col = st.column_config.Column
    widths = {"Escalation": (86, "Escalate", "KPIs that got worse in each of the last "
                             f"{ESCALATION_RUN} {EVERY}s"),
              "Deploys": (60, "Deploys", "deployments in the period and environment"),
              # KPI columns: the catalogue's short heading, its label and unit as the tooltip.
              **{k.label: (KPI_WIDTHS.get(k.key, 84), k.short,
                           f"{k.label} ({k.unit}) · DORA {DEFAULT_YEAR} band")
                 for k in BANDED.values()},
              MTTR.label: (80, MTTR.short, f"{MTTR.label}, median ({MTTR.unit})"),
              **{head: (w, short, head) for head, w, short in zip(
                  IMPACT.values(), (50, 62, 56), ("Incid.", "Cust. min", "Tickets"), strict=True)},
              CSAT: (88, "CSAT rel./oth.", "CSAT score after releases / at other times")}
    config: dict[str, object] = {name: col(name.capitalize(), width=100, pinned=True)}
    config |= {head: col(label, width=w, help=tip) for head, (w, label, tip) in widths.items()}
    return config


def coloured(table: pl.DataFrame):  # noqa: ANN201 (a pandas Styler)
    """Background of each KPI cell by its band, escalations in red."""
    def paint(cell: str) -> str:
        band = cell.rsplit(" · ", 1)[-1] if isinstance(cell, str) else ""
        return f"background-color: {COLOURS[band]}" if band in COLOURS else ""

    heads = [k.label for k in BANDED.values()]
    return (table.to_pandas().style.map(paint, subset=heads)
            .map(lambda v: "background-color: #ffcdd2; font-weight: bold" if v else "",
                 subset=["Escalation"])
            .format(precision=0, subset=["Cust.-facing min"]))


def md_text(value: object) -> str:
    """User data (a service name) made inert before it goes into Markdown: every character
    Markdown or HTML could act on is backslash-escaped."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]()<>|~:$" else c for c in str(value))


filters = ui.global_filters()
st.title("Overview")
st.caption(ui.describe(filters))
counts, weekly = activity(filters)

for column, kind in zip(st.columns(len(LABELS)), LABELS, strict=True):
    ui.tile(column, LABELS[kind], f"{counts[kind]:,}", HOW[kind])

window = get_settings().window_hours
st.header("Release health")
try:
    cards = scorecards(filters, window)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
escalated = cards["service"].filter(pl.col("escalate"))
if escalated.height:
    st.error("Escalate: " + "; ".join(
        f"**{md_text(r['service'])}** ({kpi_names(r['escalated_kpis'], short=False)})"
        for r in escalated.iter_rows(named=True)))
elif cards["service"].height:
    st.success(f"No service has a KPI that got worse {ESCALATION_RUN} {EVERY}s in a row.")
st.caption(f":green-background[elite] · :blue-background[high] · :orange-background[medium] · "
           f":red-background[low]: DORA {DEFAULT_YEAR} band of each KPI "
           "(gap-filling rule on the Delivery page). "
           f"{catalogue.get('change_failure_rate').label} = failed ÷ deployments (production), "
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
    st.caption(f"{total:,} {kind} of {md_text(who) if who else '(no service)'}; showing the newest "
               f"{min(total, DRILL_ROWS):,}.")
    st.dataframe(rows, hide_index=True, width="stretch")

with st.expander("Activity week by week", expanded=weekly.height == 0):
    if weekly.height == 0:
        st.info("Nothing happened in this period for these filters. Widen the period or clear "
                "filters.")
    else:
        chart = charts.weekly_activity(weekly, LABELS, tz=filters.timezone)
        st.altair_chart(chart)
        st.caption("Weeks without any event of a kind are shown as gaps, not zeros; the first "
                   "and last week of the period may be partial.")
