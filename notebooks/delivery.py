# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Delivery KPIs
# The headline numbers of the Delivery page, from the same report functions
# (`analytics.reports.delivery`, REFERENCE §1): the default period (the bulk of the data, at most its
# last 365 days), production, the
# configured observation window and time zone, DORA 2024 bands. Set `DATABASE_URL` to point at
# another store.

# %%

from analytics import catalogue
from analytics.charts import delivery as charts
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.reports import delivery as report
from analytics.reports import periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
window = get_settings().window_hours
first, last = queries.data_extent(engine)
start, end = periods.span(first, last)  # the default period, as on the pages
filters = queries.Filters(start=start, end=end,
                          environment="production", timezone=get_settings().timezone)

facts = report.facts(engine, filters, window_hours=window)
row = report.summary(facts).row(0, named=True)
headline = report.headline(row, DEFAULT_YEAR)
cfr = headline["change_failure_rate"]
print(f"{filters.start} – {filters.end}: {cfr['deployments']} deployments, change failure "
      f"rate {cfr['value']:.6f}")
{k: headline[k] for k in ("deployments", "deploys_per_day", "lead_time_hours",
                          "change_failure_rate", "recovery_time_hours", "rework_rate",
                          "mttr_hours", "time_to_detect_hours", "rollback_rate",
                          "incident_recurrence_rate", "attribution", "bands")}

# %% [markdown]
# Against the previous 90 days (the page's tile deltas), labelled from the KPI catalogue.

# %%
previous = report.summary(report.facts(engine, report.previous(filters), window_hours=window)
                          ).row(0, named=True)
changes = report.comparison(row, previous)
changes.insert_column(0, changes["metric"].map_elements(lambda c: catalogue.by_column(c).label,
                                                        return_dtype=str).alias("KPI"))

# %% [markdown]
# Weekly trend of the change failure rate (drawn exactly as on the page), and the services with
# the highest CFR among those with enough deployments to say so (the small-sample rule).

# %%
weekly = report.summary(facts, every="week")
charts.kpi_trend(weekly, "change_failure_rate", every="week", previous=previous["cfr"],
                 tz=filters.timezone)

# %%
by_service = report.summary(facts, by=("service",))
by_service.filter(~by_service["small_sample"]).sort("cfr", descending=True).select(
    "service", "team", "deployments", "cfr", "cfr_ci_low", "cfr_ci_high").head(10)

# %% [markdown]
# MTTR baselines: per service, p50/p80 restore time of the last six months against the tier's
# commitment (`report mttr-baselines`).

# %%
baselines = report.mttr_baselines(engine, filters)
charts.mttr_baselines(baselines)
