"""Post-incident learning (issue 18 point 5) and the `improve` CLI: major-incident rules as
data, the root-cause trend's exact binomial test by hand, the MTTR target check, candidates
with their evidence counted in SQL."""

from __future__ import annotations

import json
from datetime import date, datetime
from math import comb

import polars as pl
import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.reports.learning import classify_major, root_cause_trend, rules

NOW = datetime(2026, 5, 1)


def _incidents(**cols):
    base = {"customer_facing": [True], "criticality": [3], "affected_customers": [0],
            "severity": [3], "opened_at": [datetime(2026, 4, 1)],
            "resolved_at": [datetime(2026, 4, 1, 1)]}
    return pl.DataFrame({**base, **cols})


@pytest.mark.parametrize("cols, major, rule", [
    ({}, False, None),                                                    # 1 h, criticality 3
    ({"criticality": [1], "resolved_at": [datetime(2026, 4, 1, 4)]}, True,
     "customer-facing disruption of a critical service"),                # 4 h on criticality 1
    ({"criticality": [1], "resolved_at": [datetime(2026, 4, 1, 3, 59)]}, False, None),
    ({"affected_customers": [30]}, True, "many customers affected"),
    ({"affected_customers": [29]}, False, None),
    ({"resolved_at": [None]}, True, "long customer-facing disruption"),   # open for 30 days
    ({"severity": [1], "criticality": [2], "customer_facing": [False]}, True,
     "severity 1 on a critical service"),
    ({"severity": [1], "criticality": [3]}, False, None),                # severity alone is not enough
])
def test_major_incident_rules_use_business_impact(cols, major, rule):
    out = classify_major(_incidents(**cols), now=NOW).row(0, named=True)
    assert out["major"] is major
    assert out["major_rules"] == ([rule] if rule else [])


def _failed(counts: dict[tuple[date, str], int]) -> pl.DataFrame:
    rows = [{"id": i, "service": "a", "team": "t", "finished_at": datetime(m.year, m.month, 10),
             "category": c} for i, ((m, c), n) in enumerate(counts.items()) for _ in range(n)]
    return pl.DataFrame(rows).with_columns(pl.int_range(pl.len()).alias("id"))


def test_root_cause_trend_binomial_by_hand():
    months = [date(2026, m, 1) for m in range(1, 7)]
    counts = {**{(m, "configuration"): 2 for m in months[:3]},
              **{(m, "configuration"): 6 for m in months[3:]},
              **{(m, "capacity"): 3 for m in months}}
    monthly, summary = root_cause_trend(_failed(counts), recent_months=3, alpha=0.05)
    rows = {r["category"]: r for r in summary.to_dicts()}
    k1, n = 18, 24  # configuration: 18 recently, 6 before
    p_by_hand = sum(comb(n, k) for k in range(k1, n + 1)) / 2 ** n
    assert (rows["configuration"]["recent"], rows["configuration"]["before"]) == (18, 6)
    assert rows["configuration"]["p_value"] == pytest.approx(p_by_hand, rel=1e-12)
    assert rows["configuration"]["rising"] and not rows["capacity"]["rising"]
    assert rows["configuration"]["checklist_item"] == rules()["checklist"]["configuration"]
    assert monthly.filter(pl.col("category") == "configuration")["failed_deployments"].sum() == 24


def test_root_cause_trend_needs_a_before_window():
    counts = {(date(2026, m, 1), "capacity"): 5 for m in (4, 5, 6)}
    _, summary = root_cause_trend(_failed(counts), recent_months=3)
    assert summary["p_value"].to_list() == [None] and summary["rising"].to_list() == [False]


def test_root_cause_trend_leaves_out_a_cut_month():
    counts = {(date(2026, m, 1), "capacity"): 5 for m in range(1, 8)}
    monthly, _ = root_cause_trend(_failed(counts), end=datetime(2026, 7, 15))
    assert monthly["month"].max() == date(2026, 6, 1)


def _run(engine, *args, capsys):
    url = engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "improve", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_list_validate_and_bad_input(demo_engine, capsys):
    code, out, _ = _run(demo_engine, "list", "--format", "json", capsys=capsys)
    assert code == 0
    assert [r["title"][:6] for r in json.loads(out)] == ["Pre-de", "Canary"]  # risk 80, then 64
    code, out, _ = _run(demo_engine, "validate", "2", "--no-roi", "--format", "json", capsys=capsys)
    assert code == 0
    got = json.loads(out)
    assert got["roi"] is None and got["difference_in_differences"]["units"] == 35
    assert got["difference_in_differences"]["p_value"] > 0.05
    code, _, err = _run(demo_engine, "validate", "99", capsys=capsys)
    assert code == 2 and err.strip() == "error: There is no improvement with id 99."
    code, _, err = _run(demo_engine, "add", "--title", "x", "--service", "nope", "--owner", "o",
                        "--impact", "3", "--recurrence", "3", "--remediation", "3", capsys=capsys)
    assert code == 2 and "no service named 'nope'" in err
    with pytest.raises(SystemExit) as exc:
        _run(demo_engine, "add", "--title", "x", "--service", "cart", "--owner", "o",
             "--impact", "9", "--recurrence", "3", "--remediation", "3", capsys=capsys)
    assert exc.value.code == 2


def test_candidates_evidence_counts_match_sql(demo_engine, capsys):
    code, out, _ = _run(demo_engine, "candidates", "--no-themes", "--format", "json",
                        capsys=capsys)
    assert code == 0
    rows = json.loads(out)
    kinds = {r["kind"] for r in rows}
    assert {"recurring_problem", "mttr_target", "kpi_escalation"} <= kinds
    prob = next(r for r in rows if r["kind"] == "recurring_problem")
    n = int(prob["evidence"].split(" ")[0])
    with demo_engine.connect() as conn:
        by_sql = conn.execute(text("""SELECT count(*) FROM incident i JOIN service s
            ON s.id = i.service_id WHERE i.problem_id = :p AND s.name = :s
            AND i.opened_at >= '2026-08-25' AND i.opened_at < '2026-11-23'"""),
            {"p": prob["subject"], "s": prob["services"]}).scalar_one()
    assert n == by_sql >= 3
    assert all(r["risk_score"] > 0 and r["priority"] for r in rows)


def test_escalation_candidates_from_the_scorecards_rows_equal_their_own(demo_engine):
    """The Improvements page hands candidates the scorecard's service escalations (shared with
    the Overview): the same candidate rows as summarising every month here."""
    from analytics.loop.csi_candidates import candidates, escalations
    from analytics.reports import periods
    from analytics.reports.delivery import facts
    from analytics.reports.learning import history
    from analytics.reports.scorecard import escalations as scorecard_escalations
    from analytics.store.queries import Filters

    filters, _ = periods.fill(demo_engine, Filters(environment="production"))
    data = facts(demo_engine, history(filters))
    runs = scorecard_escalations(data, level="service", run=3)
    own = escalations(data, run=3)
    assert own and sorted(escalations(data, run=3, runs=runs), key=str) == sorted(own, key=str)
    given = candidates(demo_engine, filters=filters, themes=False, data=data, escalated=runs)
    assert given.equals(candidates(demo_engine, filters=filters, themes=False, data=data))
