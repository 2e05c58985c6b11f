# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Release impact
# Do production releases raise ticket and incident rates? The same study as the Release impact
# page and `report release-impact`, over the whole store. Set `DATABASE_URL` for another store.

# %%
import polars as pl

from analytics.cli.report_release_impact import study
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
filters = queries.Filters(environment="production")
result = study(engine, filters)
result["verdict"]

# %% [markdown]
# Rate ratios with 95% intervals, by release outcome, with the placebo lead windows (these
# should sit at 1: if they do not, something other than the release drives the counts).

# %%
rows = []
for which in ("failed", "success"):
    for kind in ("tickets", "incidents"):
        est = result["by_outcome"][which][kind]
        rows.append({"outcome": which, "kind": kind, "rate_ratio": est["rate_ratio"],
                     "ci_low": est["ci_low"], "ci_high": est["ci_high"],
                     "placebo": est["placebo"]["rate_ratio"], "n_releases": est["n_releases"]})
pl.DataFrame(rows)

# %% [markdown]
# Sensitivity: does the answer depend on the window? A curious analyst tries 24 h and 72 h.

# %%
sensitivity = pl.DataFrame([
    {"window_hours": w, **{k: (result if w == 48 else study(engine, filters, w))
                           ["by_outcome"]["failed"]["tickets"][k] for k in ("rate_ratio", "ci_low", "ci_high")}}
    for w in (24, 48, 72)])
sensitivity

# %% [markdown]
# The event study around failed releases: observed against what the hour of week predicts.

# %%
es = result["event_study"].filter(pl.col("outcome") == "failed")
es.filter(pl.col("rel_hour").is_in([-24, -1, 1, 12, 24, 47, 49, 72]))

# %% [markdown]
# Which services' releases hurt most, by total excess tickets?

# %%
(result["per_release"].group_by("service")
 .agg(releases=pl.len(), excess=pl.col("excess").sum(), impact=pl.col("impact_score").sum())
 .sort("excess", descending=True).head(10))
