"""Issue 19 on the demo: planted vendor outages and dispute found, the review pack (CLI, HTML)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from analytics import demo
from analytics.cli import main
from analytics.contracts.review_html import SECTIONS
from analytics.reports import vendors as rv

def test_demo_vendor_truth_is_what_the_scorecard_finds(demo_engine):
    truth = demo.read_truth(demo_engine)["vendor_outages"]["value"]
    months = sorted({m for by in truth["downtime_minutes"].values() for m in by})
    card, unlinked = rv.vendor_scorecard(demo_engine, month=months[-1], months=12)
    assert unlinked.height == 0  # every third-party outage has exactly one vendor component
    down = {f"{r['vendor']}|{r['component'].split('/')[0]}": {} for r in card.iter_rows(named=True)}
    for r in card.filter(pl.col("downtime_minutes") > 0).iter_rows(named=True):
        down[f"{r['vendor']}|{r['component'].split('/')[0]}"][r["month"]] = r["downtime_minutes"]
    in_span = {k: {m: v for m, v in by.items() if m in card["month"].to_list()}
               for k, by in truth["downtime_minutes"].items()}
    assert {k: v for k, v in down.items() if v} == {k: v for k, v in in_span.items() if v}
    disputed = card.filter(pl.col("disputed"))
    assert sorted(disputed.select("vendor", "month").rows()) == sorted(
        (v, m) for v, _, m in truth["disputed"] if m in card["month"].to_list())
    assert set(disputed["vendor"]) == {"PayGate"}


def test_review_cli_writes_a_self_contained_escaped_pack(demo_engine, tmp_path, capsys):
    out = tmp_path / "review.html"
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "review", "--month", "2026-10", "--out", str(out),
                 "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sections"] == [t for _, t in SECTIONS]
    page = out.read_text()
    for _, title in SECTIONS:
        assert f">{title}</h2>" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert summary["breaches"] > 0 and summary["csat_pairs"] > 0
    assert -1 < summary["csat_uptime_r_95"][0] < summary["csat_uptime_r"] < summary["csat_uptime_r_95"][1] < 1
    with pytest.raises(SystemExit) as exc:
        main(["--db", url, "review", "--month", "2026-13", "--out", str(out)])
    assert exc.value.code == 2


def test_user_text_is_escaped_in_the_pack():
    from analytics.contracts.review_html import table

    html = table(pl.DataFrame({"service": ["<img src=x onerror=alert(1)>"]}), left=("service",))
    assert "<img" not in html and "&lt;img src=x" in html
