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
# # The Friday effect
# Failure rate by weekday, the controlled Friday odds ratio and the naive one — the same report
# as the Weekday effect page and `report weekday` (`analytics.reports.weekday`), drawn with the
# page's chart. Set `DATABASE_URL` for another store.

# %%
from analytics.charts import studies as charts
from analytics.reports import weekday as report
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
filters = queries.Filters(environment="production")
result = report.weekday(engine, filters=filters)
print(f"Friday odds ratio {result['friday_vs_rest']['odds_ratio']:.6f}")
result["verdict"]

# %%
charts.weekday_rate_chart(result["by_weekday"])

# %%
result["by_weekday"]

# %% [markdown]
# Why the naive odds ratio differs: Friday changes are smaller, and size drives failure.

# %%
report.size_by_friday(engine, filters=filters)

# %% [markdown]
# Simpson's paradox check: the Friday effect team by team (each team's own model).

# %%
per_team = report.by_team(engine, filters=filters)
per_team

# %% [markdown]
# Incidents attributed within the observation window (`WORKBENCH_WINDOW_HOURS`), by weekday of
# the release that caused them.

# %%
result["window_hours"], result["incidents_by_weekday"]
