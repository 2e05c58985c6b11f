"""Issue 19 point 5 on the demo: `contracts finance` finds exactly the planted billing differences
(analytics/demo/finance.py) — every other billed credit matches the computed one."""

from __future__ import annotations

import json

from analytics import demo
from analytics.cli import main


def test_contracts_finance_finds_exactly_the_planted_differences(demo_engine, capsys):
    truth = demo.read_truth(demo_engine)["billed_credits"]["value"]
    url = demo_engine.url.render_as_string(hide_password=False)
    # the demo runs 2025-11-23 … 2026-11-22: billed months 2025-11 … 2026-10
    assert main(["--db", url, "contracts", "finance", "--month", "2026-10", "--months", "12",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    differ = [(r["contract"], r["month"], r["computed"], r["billed"], r["status"])
              for r in rows if r["status"] != "match"]
    under, extra = truth["under_billed"], truth["billed_not_computed"]
    assert sorted(differ) == sorted([
        (under["contract"], under["month"], under["computed"], under["billed"], "differs"),
        (extra["contract"], extra["month"], 0.0, 250.0, "billed, none computed")])
    assert under["billed"] == round(under["computed"] / 2, 2)
    assert len(rows) == truth["rows"]  # every billed row, nothing computed left unbilled
