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
# # Release impact
# Do production releases raise ticket and incident rates? The same report as the Release impact
# page and `report release-impact` (`analytics.reports.release_impact`), over the whole store,
# drawn with the page's charts. Set `DATABASE_URL` for another store.

# %%
import polars as pl

from analytics.charts import studies as charts
from analytics.reports import release_impact as report
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
filters = queries.Filters(environment="production")
window = get_settings().window_hours
result = report.release_impact(engine, filters=filters, window_hours=window)
failed = result["by_outcome"]["failed"]["tickets"]
print(f"tickets after failed releases: rate ratio {failed['rate_ratio']:.6f}")
result["verdict"]

# %% [markdown]
# Rate ratios with 95% intervals, by release outcome, with the placebo lead windows (these
# should sit at 1: if they do not, something other than the release drives the counts).

# %%
rates = report.rate_ratios(result)
charts.rate_ratio_chart(rates)

# %%
rates

# %% [markdown]
# Sensitivity: does the answer depend on the window? A curious analyst tries half and one and
# a half times the observation window.

# %%
sensitivity = pl.DataFrame([
    {"window_hours": w, **{k: (result if w == window else
                               report.release_impact(engine, filters=filters, window_hours=w))
                           ["by_outcome"]["failed"]["tickets"][k] for k in ("rate_ratio", "ci_low", "ci_high")}}
    for w in (window / 2, window, window * 1.5)])
sensitivity

# %% [markdown]
# The event study around releases: observed against what the hour of week predicts.

# %%
charts.event_study_chart(result["event_study"])

# %%
es = result["event_study"].filter(pl.col("outcome") == "failed")
es.filter(pl.col("rel_hour").is_in([-24, -1, 1, 12, 24, 47, 49, 72]))

# %% [markdown]
# Which services' releases hurt most, by total excess tickets?

# %%
(result["per_release"].group_by("service")
 .agg(releases=pl.len(), excess=pl.col("excess").sum(), impact=pl.col("impact_score").sum())
 .sort("excess", descending=True).head(10))
