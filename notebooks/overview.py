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
# # Overview of the store
# The same numbers as the Overview page, from the same report functions
# (`analytics.reports.scorecard`): events in the default period (the bulk of the data, at most its last
# 365 days), their weekly counts and
# the release health scorecard. Set `DATABASE_URL` to point at another store.

# %%

from analytics import catalogue
from analytics.charts import delivery as charts
from analytics.metrics.activity import totals
from analytics.reports import periods
from analytics.reports import scorecard as report
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import get_engine

engine = get_engine(get_settings().database_url)
first, last = queries.data_extent(engine)
start, end = periods.span(first, last)  # the default period, as on the pages
filters = queries.Filters(start=start, end=end,
                          environment="production",
                          timezone=get_settings().timezone)
counts, weekly = report.activity(engine, filters)
events = {kind: queries.event_times(engine, kind, filters) for kind in report.ACTIVITY_KINDS}
print(f"{filters.start} – {filters.end}: {counts['deployments']} deployments, "
      f"{counts['incidents']} incidents")
counts

# %% [markdown]
# Weekly counts (weeks start on Monday in the workbench's time zone), drawn as on the page; a
# curious analyst would next look at which weeks stand out per kind.

# %%
charts.weekly_activity(weekly, {k: k.replace("_", " ") for k in counts}, tz=filters.timezone)

# %%
busiest = weekly.sort("count", descending=True).group_by("kind", maintain_order=True).first()
busiest

# %% [markdown]
# The release health scorecard per service (`report scorecard`), headings from the KPI catalogue.

# %%
cards = report.scorecard(engine, filters, level="service")
cfr = catalogue.get("change_failure_rate")
cards.select("service", "deployments", "cfr", "change_failure_rate_band", "escalate").rename(
    {"cfr": cfr.label, "change_failure_rate_band": f"{cfr.short} band"}).head(10)
