# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Delivery KPIs
# The headline numbers of the Delivery page, from the same functions (REFERENCE §1): the last
# 90 days of data, production, the configured observation window, DORA 2024 bands. Set
# `DATABASE_URL` to point at another store.

# %%
from dataclasses import replace
from datetime import timedelta

from analytics.cli.report_delivery import environments_of, read_inputs
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.metrics.delivery_report import build_facts, figures, summarize
from analytics.metrics.trends import compare, previous_period, trend
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
window = get_settings().window_hours
first, last = queries.data_extent(engine)
filters = queries.Filters(start=last - timedelta(days=89), end=last, environment="production")


def facts_for(f):
    """The page's facts: the same reads and function as `report delivery`."""
    deployments, changes, incidents = read_inputs(engine, f, window)
    return build_facts(deployments, changes, incidents, start=f.start, end=f.end,
                       window_hours=window, environments=environments_of(f))


facts = facts_for(filters)
row = summarize(facts).row(0, named=True)
headline = figures(row, DEFAULT_YEAR)
{k: headline[k] for k in ("deployments", "deploys_per_day", "lead_time_hours",
                          "change_failure_rate", "recovery_time_hours", "rework_rate",
                          "mttr_hours", "time_to_detect_hours", "rollback_rate",
                          "incident_recurrence_rate", "attribution", "bands")}

# %% [markdown]
# Against the previous 90 days (the page's tile deltas).

# %%
prev_start, prev_end = previous_period(filters.start, filters.end)
previous = summarize(facts_for(replace(filters, start=prev_start, end=prev_end))).row(0, named=True)
compare(row, previous)

# %% [markdown]
# Weekly trend, and the services with the highest change failure rate among those with enough
# deployments to say so (the small-sample rule).

# %%
weekly = trend(facts, "week").select("period", "deployments", "cfr", "lead_time_median",
                                     "recovery_median", "mttr_median")
weekly

# %%
by_service = summarize(facts, by=("service",))
by_service.filter(~by_service["small_sample"]).sort("cfr", descending=True).select(
    "service", "team", "deployments", "cfr", "cfr_ci_low", "cfr_ci_high").head(10)
