# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Customer satisfaction
# The Customer page's numbers from the same functions: CSAT and NPS with intervals, the weekly
# p-chart and daily EWMA, weekly seasonality, change points, the CSAT drop after customer-facing
# incidents, and CSAT against operations. Set `DATABASE_URL` to point at another store.

# %%
from datetime import timedelta

import polars as pl

from analytics.metrics.control_charts import change_points, ewma_chart, p_chart, weekly_seasonality
from analytics.metrics.csat import csat_periods, overall
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine
from analytics.studies.csat_ops import after_incident_comparison, lagged_correlations, weekly_operations

engine = get_engine(get_settings().database_url)
first, last = queries.data_extent(engine)
filters = queries.Filters(start=last - timedelta(days=179), end=last, environment="production")
responses = queries.csat(engine, filters)
total = overall(responses)
{k: total[k] for k in ("n", "csat", "csat_low", "csat_high", "nps_n", "nps", "nps_low", "nps_high")}

# %% [markdown]
# Weekly CSAT with its p-chart (Laney p′ when the median weekly n ≥ 1000); weeks without answers
# stay as gap rows.

# %%
weekly = p_chart(csat_periods(responses, "week", start=filters.start, end=filters.end))
weekly.select("period", "n", "csat", "csat_low", "csat_high", "lcl", "ucl", "signal", "gap")

# %% [markdown]
# The daily EWMA (λ 0.2) and the days it flags.

# %%
daily = csat_periods(responses, "day", start=filters.start, end=filters.end)
ewma = ewma_chart(daily)
ewma.filter(pl.col("out_of_control").fill_null(False)).select("period", "n", "csat", "ewma", "lcl", "ucl", "signal")

# %% [markdown]
# Is there a weekday pattern? STL with a 7-day period; strength near 0 means none.

# %%
season = weekly_seasonality(daily)
season.strength, season.by_weekday

# %%
change_points(weekly)

# %% [markdown]
# The planted effect: answers within 7 days after a customer-facing incident on the same service
# against all other answers.

# %%
drop = after_incident_comparison(responses, queries.incidents(engine, filters))
drop

# %% [markdown]
# CSAT against operations, with the drivers leading by 0–4 weeks.

# %%
tickets = queries.tickets(engine, filters, pad_before=timedelta(days=60))
ops = weekly_operations(responses, tickets, queries.incidents(engine, filters),
                        start=filters.start, end=filters.end)
correlations = lagged_correlations(ops)
correlations.sort("p_value").head(8)
