"""The demo's improvement register: two entries whose true effects are known (issue 18).

- the storefront team's canary adoption (planted in :mod:`analytics.demo.org`): its deployments
  fail half as often from ``CANARY_DAY`` on;
- a pre-deployment checklist for the logistics team from ``NULL_DAY`` on, with NO planted change:
  validation must find nothing.

Rows only: nothing here draws from a random stream or alters another table, so every other
demo number stays as it was.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl

from analytics.demo import org
from analytics.loop.improvements import risk_score

NULL_TEAM = "logistics"
NULL_DAY = 150  # day index (from the first day) of the checklist with no effect
KPI = "change_failure_rate"


def improvements(svc: pl.DataFrame, first: date) -> pl.DataFrame:
    """The two register rows (ids 1 and 2)."""
    start = datetime.combine(first, datetime.min.time())
    rows = []
    for i, (team, day, title, expected, cost, why) in enumerate((
            (org.CANARY_TEAM, org.CANARY_DAY, "Canary releases for the storefront team", -0.5,
             40_000.0, ["Bad releases reach every customer at once",
                        "Releases go to 100% of traffic in one step",
                        "There is no progressive delivery in the pipeline",
                        "The pipeline was built before the traffic router supported it",
                        "Nobody owned the pipeline's roadmap"]),
            (NULL_TEAM, NULL_DAY, "Pre-deployment checklist for the logistics team", -0.3,
             8_000.0, ["Releases fail on configuration mistakes",
                       "Configuration is edited by hand before release",
                       "There is no review step for configuration",
                       "The team believed a checklist would catch it",
                       "No root-cause data was looked at first"])), start=1):
        names = svc.filter(pl.col("team") == team).sort("id")
        at = start + timedelta(days=day)
        remediation = 2 if i == 1 else 1
        score, priority = risk_score(4, 4, remediation)
        rows.append({
            "id": i, "title": title, "owner": f"{team}-lead", "status": "check",
            "kpi_key": KPI, "service_id": int(names["id"][0]),
            "opened_at": at - timedelta(days=45), "do_at": at - timedelta(days=14),
            "intervention_at": at, "check_at": at + timedelta(days=90),
            "services": json.dumps(names["name"].to_list()), "kpis": json.dumps([KPI]),
            "expected_impact": expected, "business_impact": 4, "recurrence": 4,
            "remediation_cost": remediation, "risk_score": score, "priority": priority,
            "whys": json.dumps(why),
            "fishbone": json.dumps({"process": "release steps", "technology": "pipeline"}),
            "links": json.dumps({"incidents": [], "problems": [], "themes": ["release"]}),
            "cost": cost, "origin": "demo", "updated_at": at + timedelta(days=90),
            "description": f"Demo improvement for the {team} team.",
        })
    return pl.DataFrame(rows)


def truth(first: date) -> dict:
    """Ground truth of the two register rows."""
    return {
        "canary": {"improvement_id": 1, "team": org.CANARY_TEAM, "kpi": KPI,
                   "date": (first + timedelta(days=org.CANARY_DAY)).isoformat(),
                   "failure_probability_ratio": 0.5},
        "null": {"improvement_id": 2, "team": NULL_TEAM, "kpi": KPI,
                 "date": (first + timedelta(days=NULL_DAY)).isoformat(),
                 "failure_probability_ratio": 1.0},
    }
