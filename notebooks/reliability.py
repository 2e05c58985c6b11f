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
# # SLOs and SLAs
# The numbers and charts of the SLOs and SLAs pages, from the same report functions
# (`analytics.reports.slo`, `analytics.reports.sla`, `analytics.reports.ticket_sla`; REFERENCE
# §2, §3) and drawn with the same builders (`analytics.charts.reliability`). SLOs are evaluated
# at the end of the newest SLI bucket, as on the page. Set `DATABASE_URL` for another store.

# %%
from datetime import timedelta

import altair as alt
import polars as pl

from analytics.charts import reliability as charts
from analytics.reports import sla, slo, ticket_sla
from analytics.reports import periods
from analytics.settings import DEFAULT_PERIOD_DAYS, get_settings
from analytics.store import queries
from analytics.store.db import get_engine

# Hourly burn rates over 90 days are ~9,000 points: embed them all, as Streamlit does.
alt.data_transformers.disable_max_rows()
settings = get_settings()
engine = get_engine(settings.database_url)
at = queries.newest_sample_ts(engine)
since = at - timedelta(days=DEFAULT_PERIOD_DAYS)
inputs = slo.load(engine, at=at, since=since)
status = slo.evaluate(inputs)
spent = status.status.filter(pl.col("budget_remaining") <= 0)
print(f"SLOs evaluated at {at:%Y-%m-%d %H:%M} UTC: {status.status.height}")
print(f"SLOs with the error budget spent: {spent.height}")

# %%
status.status.select("slo", "service", "target", "window", "sli", "budget_remaining",
                     "exhaustion_hours").sort("budget_remaining", nulls_last=True).head(10)

# %% [markdown]
# The SLO with the least budget left: its burn-down through the current window and the burn
# rate of each alert pair against its factor (symlog scale), as on the page.

# %%
worst = status.status.sort("budget_remaining", nulls_last=True).row(0, named=True)
down, rates = slo.series(inputs, worst["slo_id"], since)
print(f"least budget left: {worst['slo']} ({worst['budget_remaining']:.1%} remaining)")
charts.burn_down_chart(down) | charts.burn_rate_chart(rates)

# %% [markdown]
# Burn-rate alerts that fired over the last DEFAULT_PERIOD_DAYS days, and a composite SLO over every SLO of the
# same service (equal weights).

# %%
fired = slo.history(inputs, since, at)
fired.group_by("alert", "severity").agg(intervals=pl.len()).sort("intervals", descending=True)

# %%
comp = slo.composite(status, service=worst["service"])
charts.composite_chart(comp["components"])

# %% [markdown]
# SLA compliance for the last complete contract month (calendar months in each contract's
# zone): breaches and credits owed per currency (`report sla --month … --totals`).

# %%
month_start = (at.date().replace(day=1) - timedelta(days=1)).replace(day=1)
monthly = sla.sla_compliance(engine, year=month_start.year, month=month_start.month)
print(f"SLA breaches in {monthly.label}: {monthly.breaches}")
monthly.totals

# %%
monthly.rows.filter(pl.col("breached")).select(
    "contract", "service", "uptime_pct", "target_pct", "credit_pct", "credit_amount", "currency"
).sort("uptime_pct")

# %% [markdown]
# Support tickets against their business-hours resolution targets per priority, over the last
# 90 days of data (`report ticket-sla`).

# %%
first, last = queries.data_extent(engine)
start, end = periods.span(first, last)  # the default period, as on the pages
filters = queries.Filters(start=start, end=end,
                          timezone=settings.timezone)
tickets = ticket_sla.ticket_sla(engine, filters=filters)
charts.ticket_sla_chart(tickets.summary)

# %%
tickets.summary
