# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The Friday effect
# Failure rate by weekday, the controlled Friday odds ratio and the naive one — the same study
# as the Weekday effect page and `report weekday`. Set `DATABASE_URL` for another store.

# %%
import polars as pl

from analytics.cli.report_weekday import study
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine
from analytics.studies.weekday import weekday_study

engine = get_engine(get_settings().database_url)
filters = queries.Filters(environment="production")
result = study(engine, filters)
result["verdict"]

# %%
result["by_weekday"]

# %% [markdown]
# Why the naive odds ratio differs: Friday changes are smaller, and size drives failure.

# %%
deployments = queries.deployments(engine, filters).filter(~pl.col("is_rollback"))
(deployments.with_columns(friday=pl.col("finished_at").dt.weekday() == 5,
                          log_lines=pl.col("lines_changed").clip(1).log())
 .group_by("friday").agg(deployments=pl.len(), mean_log_lines=pl.col("log_lines").mean()))

# %% [markdown]
# Simpson's paradox check: the Friday effect team by team (each team's own model).

# %%
per_team = []
for team in deployments["team"].unique().sort().to_list():
    try:
        f = weekday_study(deployments.filter(pl.col("team") == team))["friday_vs_rest"]
    except ValueError:
        continue
    per_team.append({"team": team, **f})
pl.DataFrame(per_team)

# %%
result["incidents_by_weekday"]
