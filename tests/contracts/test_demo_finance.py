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


def test_demo_outage_and_ticket_agreements(demo_engine):
    """The demo's outages SLA counts the outages starting each month on its service (counted here
    straight from the outage table); its ticket SLAs are evaluated every month."""
    import polars as pl

    from analytics.reports.contracts import sli_history
    from analytics.store.db import read_frame

    h = sli_history(demo_engine, month="2026-10", months=11)
    out = h.filter(pl.col("sli") == "outages")
    service = out["service"][0]
    raw = read_frame(demo_engine, "SELECT o.start FROM outage o JOIN service s ON s.id = "
                                  "o.service_id WHERE s.name = ?", [service])
    by_month = raw.group_by(pl.col("start").dt.strftime("%Y-%m").alias("month")).len()
    want = dict(by_month.iter_rows())
    assert {r["month"]: r["events"] for r in out.iter_rows(named=True)} == {
        m: want.get(m, 0) for m in out["month"]}
    assert (out["met"] == (out["events"] <= 2)).all()
    fix = h.filter(pl.col("sli") == "resolution")
    assert set(fix["segment"].to_list()) == {None, "enterprise"} and fix.height == 22
    assert fix.filter(pl.col("segment") == "enterprise")["events"].sum() < fix.filter(
        pl.col("segment").is_null())["events"].sum()
