# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Overview of the store
# The same numbers as the Overview page, from the same functions: events in the last 90 days of
# data and their weekly counts. Set `DATABASE_URL` to point at another store.

# %%
from datetime import timedelta

from analytics.metrics.activity import totals, weekly_counts
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
first, last = queries.data_extent(engine)
filters = queries.Filters(start=last - timedelta(days=89), end=last, environment="production")
events = {kind: queries.event_times(engine, kind, filters)
          for kind in ("deployments", "incidents", "tickets", "csat_responses")}
totals(events)

# %% [markdown]
# Weekly counts; a curious analyst would next look at which weeks stand out per kind.

# %%
weekly = weekly_counts(events)
weekly.pivot(on="kind", index="week", values="count").sort("week")

# %%
busiest = weekly.sort("count", descending=True).group_by("kind", maintain_order=True).first()
busiest
