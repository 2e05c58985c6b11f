"""The demo's planted canary effect is recovered by the delivery metrics (issue 4, "Must show").

Truth: the 'storefront' team adopted canary releases on 2026-06-11; from then its deployments
end failed/rolled_back half as often. The ratio of proportions after ÷ before gets a Katz log
interval computed here by hand and checked against statsmodels.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from statsmodels.stats.proportion import confint_proportions_2indep

from analytics.reports.delivery import environments_of, inputs
from analytics.demo import read_truth
from analytics.metrics.delivery_report import build_facts, summarize
from analytics.metrics.stability import Z95
from analytics.store.queries import Filters

FIRST, LAST = date(2025, 11, 23), date(2026, 11, 22)  # the demo's year (seed 7)


def _katz(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """Ratio (x1/n1)/(x0/n0) and its Katz 95% interval: exp(log r ± z·√(1/x1−1/n1+1/x0−1/n0))."""
    r = (x1 / n1) / (x0 / n0)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    return r, r * math.exp(-Z95 * se), r * math.exp(Z95 * se)


@pytest.fixture(scope="module")
def canary(demo_engine):
    truth = read_truth(demo_engine)["canary_adoption"]["value"]
    switch = date.fromisoformat(truth["date"])
    out = {"truth": truth}
    for name, (lo, hi) in {"before": (FIRST, switch - timedelta(days=1)),
                           "after": (switch, LAST)}.items():
        f = Filters(start=lo, end=hi, teams=(truth["team"],), environment="production")
        deployments, changes, incidents = inputs(demo_engine, f, window_hours=48.0)
        facts = build_facts(deployments, changes, incidents, start=lo, end=hi,
                            environments=environments_of(f))
        row = summarize(facts).row(0, named=True)
        with demo_engine.connect() as conn:  # status-based failures, in plain SQL
            status_failed, total = conn.execute(text("""
                SELECT sum(CASE WHEN d.status IN ('failed', 'rolled_back') THEN 1 ELSE 0 END),
                       count(*)
                FROM deployment d JOIN service s ON s.id = d.service_id
                WHERE s.team = :team AND d.environment = 'production' AND d.is_rollback = false
                  AND d.status IN ('success', 'failed', 'rolled_back')
                  AND d.finished_at >= :lo AND d.finished_at < :hi"""),
                {"team": truth["team"], "lo": lo, "hi": hi + timedelta(days=1)}).one()
        out[name] = {"cfr_failed": row["cfr_failed"], "n": row["cfr_deployments"],
                     "status_failed": int(status_failed), "sql_n": int(total),
                     "facts_status_failed": int(facts.deployments["status"]
                                                .is_in(["failed", "rolled_back"]).sum())}
    return out


def test_counts_agree_with_sql(canary):
    for side in ("before", "after"):
        c = canary[side]
        assert c["n"] == c["sql_n"] > 300
        assert c["facts_status_failed"] == c["status_failed"]
        assert c["cfr_failed"] >= c["status_failed"]  # CFR adds incident-attributed failures


def test_status_based_failure_share_halves_within_katz_interval(canary):
    b, a = canary["before"], canary["after"]
    r, lo, hi = _katz(a["status_failed"], a["n"], b["status_failed"], b["n"])
    sm_lo, sm_hi = confint_proportions_2indep(a["status_failed"], a["n"], b["status_failed"],
                                              b["n"], method="log", compare="ratio")
    assert (lo, hi) == (pytest.approx(sm_lo, rel=1e-9), pytest.approx(sm_hi, rel=1e-9))
    assert lo < canary["truth"]["failure_probability_ratio"] < hi
    assert hi < 1  # and the improvement is significant


def test_change_failure_rate_halves_within_katz_interval(canary):
    """REFERENCE's CFR (status, or an attributed incident) halves too: the demo halves every
    source of failure for the canary team, so 0.5 lies inside the ratio's 95% interval."""
    b, a = canary["before"], canary["after"]
    r_cfr, lo, hi = _katz(a["cfr_failed"], a["n"], b["cfr_failed"], b["n"])
    assert lo < canary["truth"]["failure_probability_ratio"] < hi
    assert hi < 1
