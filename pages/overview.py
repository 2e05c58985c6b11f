"""Overview: what happened in the period, then the release health scorecard (issue 4 item 6):
per service and per team the delivery KPIs next to customer impact, coloured by DORA band."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import polars as pl
import streamlit as st

from analytics import access, catalogue, ui
from analytics.exports import csv_text
from analytics.charts import delivery as charts
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.metrics.drilldown import AFTER_RELEASE_KINDS
from analytics.metrics.scorecard import ESCALATION_RUN
from analytics.reports import ReportError
from analytics.reports import scorecard as report
from analytics.settings import get_settings
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

LABELS = {"deployments": "Deployments", "incidents": "Incidents", "tickets": "Support tickets",
          "csat_responses": "CSAT responses"}
HOW = {
    "deployments": "deployments with finished_at in the period; rollback actions not counted",
    "incidents": "incidents opened in the period",
    "tickets": "support tickets opened in the period (environment filter does not apply)",
    "csat_responses": "survey answers received in the period (environment filter does not apply)",
}


@ui.cached(show_spinner="Counting…")
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
CSAT_KPI = catalogue.get("csat")
# Customer impact columns: heading, short heading, tooltip (plain words, no abbreviations).
IMPACT = {"attributed_incidents": ("Incidents caused", "Incidents",
                                   "Incidents caused: attributed to one of the service's "
                                   "deployments (REFERENCE §1.1)"),
          "customer_facing_minutes": ("Customer-facing minutes", "Outage min",
                                      "Customer-facing minutes: restore time of customer-facing "
                                      "incidents caused by a deployment"),
          "tickets_after_releases": ("Tickets after releases", "Tickets",
                                     "Tickets after releases: support tickets opened within the "
                                     "observation window after one of the service's releases")}
ESCALATE_NAMED = 10  # services named in the Escalate box; the others by count
WORSE = " ▲"  # marks a KPI cell that escalates (worse in each of the last ESCALATION_RUN periods)
# The records a click on a cell of that column opens (other columns keep the chosen kind).
CELL_KIND = {"Deploys": "deployments", catalogue.get("change_failure_rate").label:
             "failed deployments", catalogue.get("recovery_time").label: "failed deployments",
             catalogue.get("mttr").label: "incidents", "Incidents caused": "incidents",
             "Customer-facing minutes": "customer-facing incidents",
             "Tickets after releases": "tickets after releases"}
CSAT = f"{CSAT_KPI.label} after releases / other"
EVERY = report.EVERY
DRILL_ROWS = 500
TALLEST = 25  # rows of a scorecard table in view without scrolling inside it
SHOWN = 100  # rows of a scorecard table sent to the browser; the CSV has every row
DRILL = "drill"  # URL query parameter: the service whose records are shown
# Resource caches: the per-record frames are large and only read, so every run shares them
# instead of unpickling a copy (a data cache) on each rerun and each new tab; the delivery
# facts are ui.delivery_facts, shared with the Delivery and Improvements pages.
delivery_facts = ui.delivery_facts


@ui.cached(resource=True)
def customer_events(filters: Filters, window: float) -> dict[str, pl.DataFrame]:
    """Tickets and CSAT answers of the period and ``window`` hours past it (kept on the
    server): read only when a list of them is asked for (the scorecard reads fewer columns)."""
    return report.customer_events(ui.engine(), filters, window_hours=window)


@ui.cached(resource=True)
def flagged_events(filters: Filters, window: float) -> dict[str, pl.DataFrame]:
    """The tickets and answers the scorecard counts, flagged after a release and counted per
    service once for both levels (kept on the server), as `report scorecard` reads them. They
    are read on another thread while the delivery facts are computed (both mostly wait on
    polars, which releases the GIL), as `report scorecard` does."""
    engine = ui.engine()
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(report.customer_events, engine, filters, window_hours=window,
                              counts_only=True)
        facts = delivery_facts(filters, window)
        return report.flag_events(facts, reading.result())


@ui.cached
def scorecard(filters: Filters, window: float, level: str) -> pl.DataFrame:
    """Scorecard rows of one level (aggregates only), as `report scorecard`: the team level
    only when its tab is opened. The escalation check (shared with the Improvements page) runs
    here while the level's summaries are computed on another thread."""
    flagged = flagged_events(filters, window)
    return report.level_from_flagged(
        delivery_facts(filters, window), flagged, level=level, band_year=DEFAULT_YEAR,
        every=EVERY, runs=partial(ui.escalations, filters, window, level,
                                  report.ESCALATION_RUN))


def events_for(filters: Filters, window: float, kind: str) -> dict[str, pl.DataFrame]:
    """The tickets and answers a record list reads: only the after-release lists do."""
    return customer_events(filters, window) if kind in AFTER_RELEASE_KINDS else {}


@ui.cached
def drill(filters: Filters, window: float, kind: str, service: str | None,
          ) -> tuple[pl.DataFrame, int]:
    """At most DRILL_ROWS records behind a scorecard number of one service, and their count."""
    return report.records(delivery_facts(filters, window), events_for(filters, window, kind),
                          kind, service=service, limit=DRILL_ROWS)


def drill_csv(facts, events: dict[str, pl.DataFrame], kind: str,  # noqa: ANN001
              service: str | None) -> str:
    """Every record behind the number (not only the rows shown), as neutralised CSV: built
    when the button is clicked (a deferred download), not on every run."""
    rows, _ = report.records(facts, events, kind, service=service, limit=None)
    return csv_text(rows)


def table_csv(rows: pl.DataFrame, level: str) -> str:
    """Every scorecard row as the table shows it, as neutralised CSV (built on the click)."""
    return csv_text(readable(rows, level))


def kpi_names(columns: list[str], short: bool = True) -> str:
    """Escalated KPI columns as the catalogue names them."""
    return ", ".join(getattr(catalogue.by_column(c), "short" if short else "label")
                     for c in columns)


def cell(kpi) -> Callable[[float | None], str]:  # noqa: ANN001 (a catalogue KPI)
    """The value as the KPI shows it, without a unit its heading names ("Deploys/day": 2.12)."""
    if kpi.format == "per_day" and kpi.short.endswith("/day"):
        return lambda v: kpi.show(v).removesuffix("/day")
    return kpi.show


def readable(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    """The scorecard as a leader reads it: value · band per KPI, impact, escalation."""
    worse = [pl.when(pl.col("escalated_kpis").list.contains(k.column)).then(pl.lit(WORSE))
             .otherwise(pl.lit("")) for k in BANDED.values()]
    kpis = [pl.concat_str(pl.col(k.column).map_elements(cell(k), return_dtype=pl.String),
                          pl.lit(" · "), pl.col(f"{band}_band"), w).fill_null("—").alias(k.label)
            for (band, k), w in zip(BANDED.items(), worse, strict=True)]
    flag = pl.when(pl.col("escalate")).then(
        pl.col("escalated_kpis").map_elements(kpi_names, return_dtype=pl.String))
    csat = pl.concat_str(*[pl.col(c).map_elements(CSAT_KPI.show, return_dtype=pl.String)
                           .fill_null("—") for c in ("csat_after_releases", "csat_other")],
                         separator=" / ")
    small = pl.when(pl.col("small_sample")).then(pl.lit(" *")).otherwise(pl.lit(""))
    return rows.select(
        (pl.col(name) + small).alias(name),
        flag.fill_null("").alias("Escalation"), pl.col("deployments").alias("Deploys"), *kpis,
        pl.col(MTTR.column).map_elements(MTTR.show, return_dtype=pl.String).fill_null("—")
        .alias(MTTR.label),
        *[pl.col(c).alias(head) for c, (head, _, _) in IMPACT.items()], csat.alias(CSAT))


KPI_WIDTHS = {"deployment_frequency": 84, "lead_time": 90, "change_failure_rate": 90,
              "recovery_time": 88}  # px: the widest "value · band ▲" of the demo fits


def fitted(name: str, longest: int = 0) -> dict[str, object]:
    """Headings from the catalogue's short names (the full ones as tooltips) and widths that
    fit the scorecard into the page at 1400 px (a 940 px panel: 786 px of KPI columns and a
    name of up to 18 characters, the longest at scale 30), so no column hides behind a
    scrollbar; the name
    column is as wide as its ``longest`` name (7 px a character and the cell's padding), so a
    name is never cut (a very long one scrolls the table, the name column pinned)."""
    col = st.column_config.Column
    widths = {"Deploys": (56, "Deploys", "deployments in the period and environment"),
              **{k.label: (KPI_WIDTHS.get(k.key, 84), k.short,
                           f"{k.label} ({k.unit}) · DORA {DEFAULT_YEAR} band")
                 for k in BANDED.values()},
              MTTR.label: (84, MTTR.short, f"{MTTR.label}, median ({MTTR.unit})"),
              **{head: (w, short, tip) for (head, short, tip), w in zip(
                  IMPACT.values(), (64, 76, 52), strict=True)},
              CSAT: (102, f"{CSAT_KPI.short} after/other",
                     f"{CSAT_KPI.label} ({CSAT_KPI.unit}) of answers within the window after a "
                     "release / of the other answers")}
    config: dict[str, object] = {name: col(name.capitalize(), width=max(100, 7 * longest + 16),
                                           pinned=True)}
    config |= {head: col(label, width=w, help=tip) for head, (w, label, tip) in widths.items()}
    # Escalations are the ▲ cells and the red box above: the column stays in the data only.
    config["Escalation"] = None
    return config



def coloured(table: pl.DataFrame):  # noqa: ANN201 (a pandas Styler)
    """Background of each KPI cell by its band; an escalating KPI (▲) in dark red."""
    def paint(cell: str) -> str:
        if not isinstance(cell, str):
            return ""
        band = cell.removesuffix(WORSE).rsplit(" · ", 1)[-1]
        style = f"background-color: {COLOURS[band]}" if band in COLOURS else ""
        return style + ("; color: #b71c1c" if cell.endswith(WORSE) else "")

    heads = [k.label for k in BANDED.values()]
    return (table.to_pandas().style.map(paint, subset=heads)
            .format(precision=0, subset=[IMPACT["customer_facing_minutes"][0]]))


def pick(key: str, names: list[str]) -> None:
    """A scorecard cell was clicked: its service's records open below (service in the URL),
    the kind of record following the column (failure rate → failed deployments, …)."""
    cells = st.session_state[key].selection.cells
    if cells:
        row, column = cells[0]
        st.query_params[DRILL] = names[row]
        if column in CELL_KIND:
            st.session_state["records"] = CELL_KIND[column]


filters = ui.global_filters()
st.title("Overview")
st.caption(ui.plain(ui.describe(filters)))
counts, weekly = activity(filters)

for column, kind in zip(st.columns(len(LABELS)), LABELS, strict=True):
    ui.tile(column, LABELS[kind], f"{counts[kind]:,}", HOW[kind])

st.subheader("Activity week by week")
if weekly.height == 0:
    st.info("Nothing happened in this period for these filters. Widen the period or clear "
            "filters.")
else:
    st.altair_chart(charts.weekly_activity(weekly, LABELS, tz=filters.timezone))
    st.caption("Weeks without any event of a kind are shown as gaps, not zeros; the first "
               "and last week of the period may be partial.")

window = get_settings().window_hours
st.header("Release health")
try:
    cards = {"service": scorecard(filters, window, "service")}
except ReportError as exc:
    st.info(str(exc))
    st.stop()
escalated = cards["service"].filter(pl.col("escalate"))
if escalated.height:
    # A leader reads a handful of names; at hundreds the rest are the ▲ cells of the table.
    named = escalated.head(ESCALATE_NAMED)
    more = escalated.height - named.height
    st.error("Escalate: " + "; ".join(
        f"**{ui.plain(r['service'])}** ({kpi_names(r['escalated_kpis'], short=False)})"
        for r in named.iter_rows(named=True))
        + (f"; and {more:,} more services (▲ in the table below)." if more else ""))
elif cards["service"].height:
    st.success(f"No service has a KPI that got worse {ESCALATION_RUN} {EVERY}s in a row.")
st.caption(f":green-background[elite] · :blue-background[high] · :orange-background[medium] · "
           f":red-background[low]: DORA {DEFAULT_YEAR} band of each KPI "
           "(gap-filling rule on the Delivery page). "
           f"{catalogue.get('change_failure_rate').label} = failed ÷ deployments (production), "
           f"incidents attributed within {window:g} h (REFERENCE §1.1). Customer impact: "
           f"incidents caused by a deployment, their customer-facing restore minutes, tickets "
           f"opened within {window:g} h after a release, and {CSAT_KPI.label} "
           f"({CSAT_KPI.unit}) of answers within {window:g} h after a release / of the others. "
           f"* = small sample. ▲ = escalate: the KPI got worse in each of the last "
           f"{ESCALATION_RUN} {EVERY}s. Click a service's cell to see the records behind it "
           "(the column picks the kind: failure rate → failed deployments, tickets → tickets "
           "after releases, …).")
# Lazy tabs (the choice in the URL): only the open one is computed and sent to the browser.
by_service, by_team = st.tabs(["By service", "By team"], key="level", bind="query-params")
for tab, level in ((by_service, "service"), (by_team, "team")):
    if not tab.open:
        continue
    with tab:
        rows = (cards.get(level) if level in cards else scorecard(filters, window, level)
                ).filter(pl.col(level).is_not_null())
        if rows.height == 0:
            st.info("No deployments or incidents in this period for these filters.")
        for crit in rows["criticality"].unique(maintain_order=True).to_list():
            part = rows.filter(pl.col("criticality").is_null() if crit is None
                               else pl.col("criticality") == crit)
            st.markdown(f"**Criticality {crit if crit is not None else 'unknown'}**")
            key = f"overview_card_{level}_{crit}"
            # A long table sends its escalating slices first, then the others by name, at
            # most SHOWN rows: styling and sending 1,200 rows cost the server and the browser
            # a second or more a visit at scale 30; the CSV has every row.
            shown = part
            if part.height > SHOWN:
                order = part.select(pl.col("escalate").not_(), pl.int_range(pl.len()).alias("i"))
                shown = part[order.sort(pl.all())["i"].head(SHOWN)]
            selectable = ({"on_select": partial(pick, key, shown["service"].to_list()),
                           "selection_mode": "single-cell", "key": key}
                          if level == "service" and access.can(access.PERSON_LEVEL) else {})
            # Tall enough for every row (35 px a row plus the header) up to TALLEST rows; a
            # longer table scrolls inside.
            st.dataframe(coloured(readable(shown, level)), placeholder="—", hide_index=True, width="stretch",
                         height=35 * (min(shown.height, TALLEST) + 1) + 3,
                         column_config=fitted(level, shown[level].str.len_chars().max() or 0),
                         **selectable)
            if part.height > SHOWN:
                st.caption(f"Showing {SHOWN:,} of {part.height:,} {level}s, escalating ones "
                           "first; the CSV has all of them.")
                st.download_button("Download as CSV", partial(table_csv, part, level),
                                   f"scorecard-{level}-criticality-{crit}.csv", mime="text/csv",
                                   key=f"{key}_csv")
loose = cards["service"].filter(pl.col("service").is_null())
if loose.height:
    r = loose.row(0, named=True)
    st.caption(f"Incidents with no service: {r['incidents'] or 0:,} in the period, "
               f"{MTTR.label.lower()} {MTTR.show(r[MTTR.column])} (no deployments, so no "
               "delivery KPI or band; the Data page lists them).")

st.subheader("Records behind a number")
services_shown = cards["service"]["service"].drop_nulls().to_list()
# Drill-down rows (tickets and answers carry customer ids) only for roles that may see them;
# the URL's drill/records parameters are read only below this check.
if services_shown and access.person_level("The records behind a number"):
    who = st.query_params.get(DRILL)
    who = who if who in services_shown else services_shown[0]
    kind = st.selectbox("Records", ["failed deployments", "deployments",
                                    "customer-facing incidents", "explicit", "window",
                                    "unattributed", "incidents", *AFTER_RELEASE_KINDS],
                        key="records", bind="query-params",
                        help=f"explicit / window: incidents attributed by that rule. After "
                             f"releases: opened (answered) within {window:g} h after one of "
                             "the service's releases in the period, or (CSAT) linked to one.")
    rows, total = drill(filters, window, kind, who)
    st.caption(f"Service **{ui.plain(who)}** (click another service's cell above to change): {total:,} "
               f"{kind}; showing the newest {min(total, DRILL_ROWS):,}, the CSV has all.")
    st.dataframe(rows, placeholder="—", hide_index=True, width="stretch", column_config=ui.headings(rows))
    st.download_button(f"Download all {total:,} as CSV",
                       partial(drill_csv, delivery_facts(filters, window),
                               events_for(filters, window, kind), kind, who),
                       f"{kind.replace(' ', '-')}.csv", mime="text/csv",
                       key="overview_records_csv", disabled=total == 0)

ui.definitions_caption(group="delivery")  # which definition versions the numbers above used
