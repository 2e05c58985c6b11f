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
# # Customer satisfaction
# The Customer page's numbers from the same report functions (`analytics.reports.csat`) and the
# same charts (`analytics.charts.customer`): CSAT and NPS with intervals, the weekly p-chart and
# daily EWMA, CSAT by segment, weekly seasonality, change points, the CSAT drop after
# customer-facing incidents, and CSAT against operations. Set `DATABASE_URL` to point at another
# store and `WORKBENCH_TIMEZONE` to draw days in another zone.

# %%

import polars as pl

from analytics.charts import customer as charts
from analytics.metrics.control_charts import change_points, weekly_seasonality
from analytics.metrics.csat import csat_periods
from analytics.reports import csat as report
from analytics.reports import periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

settings = get_settings()
engine = get_engine(settings.database_url)
first, last = queries.data_extent(engine)
# The sidebar's default period (the bulk of the data, at most its last 365 days); incidents
# from production.
start, end = periods.span(first, last)  # the default period, as on the pages
filters = queries.Filters(start=start, end=end,
                          environment="production", timezone=settings.timezone)
result = report.csat_report(engine, filters=filters)
total = result.total
print(f"{filters.start} – {filters.end}: CSAT {total['csat']:.6f} of {total['n']} answers")
{k: total[k] for k in ("n", "csat", "csat_low", "csat_high", "nps_n", "nps", "nps_low", "nps_high")}

# %% [markdown]
# Weekly CSAT with its p-chart (Laney p′ when the median weekly n ≥ 1000); weeks without answers
# stay as gap rows.

# %%
weekly = result.weekly
weekly.select("period", "n", "csat", "csat_low", "csat_high", "lcl", "ucl", "signal", "gap")

# %%
charts.csat_weekly(weekly)

# %% [markdown]
# The daily EWMA (λ 0.2) and the days it flags.

# %%
ewma = result.daily
ewma.filter(pl.col("out_of_control").fill_null(False)).select("period", "n", "csat", "ewma", "lcl", "ucl", "signal")

# %%
charts.ewma_daily(ewma) | charts.nps_weekly(weekly)

# %% [markdown]
# CSAT by segment over the whole period (`report csat --by segment`).

# %%
segments = report.csat_by(engine, filters=filters, by="segment")
charts.csat_by_group(segments, "segment")

# %% [markdown]
# Is there a weekday pattern? STL with a 7-day period; strength near 0 means none.

# %%
daily = csat_periods(report.responses(engine, filters=filters), "day", tz=filters.timezone,
                     start=filters.start, end=filters.end)
season = weekly_seasonality(daily)
season.strength, season.by_weekday

# %%
change_points(weekly)

# %% [markdown]
# The planted effect: answers within 7 days after a customer-facing incident on the same service
# against all other answers.

# %%
drop = report.after_incidents(engine, filters=filters)
drop

# %% [markdown]
# CSAT against operations, with the drivers leading by 0–4 weeks.

# %%
ops = report.operations(engine, filters=filters)
correlations = ops.correlations
charts.driver_correlations(correlations)

# %%
correlations.sort("p_value").head(8)
