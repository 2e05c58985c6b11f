"""Gaming detectors on hand-built data; statistics checked by hand (binomial tails with
math.comb) and the report/CLI on a hand-built store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from math import comb

import polars as pl
import pytest

from analytics.cli import main
from analytics.reports import NoData
from analytics.reports.gaming import RESOLUTION_TARGET_HOURS, gaming
from analytics.studies.gaming import bunching, bunching_table
from tests.governance import builders as b

T0 = datetime(2026, 3, 2, 10)


def _upper_tail(k: int, n: int) -> float:
    """P(X ≥ k) for X ~ Binomial(n, ½), by hand."""
    return sum(comb(n, i) for i in range(k, n + 1)) / 2 ** n


@pytest.mark.parametrize(("values", "below", "above"), [
    ([55, 56, 57, 58, 59, 59.9, 60, 61, 100, 10], 6, 2),      # 100 and 10 are outside δ = 6
    ([54, 60, 65.9, 66], 1, 2),                               # edges: 54 in, 66 out
    ([1, 2, 3], 0, 0),
])
def test_bunching_counts_and_p_value_by_hand(values, below, above):
    got = bunching(pl.Series(values, dtype=pl.Float64), target=60, delta=6)
    assert (got.below, got.above) == (below, above)
    if below + above:
        assert got.p_value == pytest.approx(_upper_tail(below, below + above), abs=1e-12)
    else:
        assert got.p_value is None and not got.flagged


def test_flag_needs_small_p_and_a_large_ratio():
    # 30 just below, 5 just above: P(X ≥ 30 | n=35) = 35·34·…/… ≈ 1.5e-5, ratio 6.
    strong = bunching(pl.Series([59.0] * 30 + [61.0] * 5), 60, 6)
    assert strong.p_value == pytest.approx(_upper_tail(30, 35)) and strong.p_value < 0.01
    assert strong.ratio == 6.0 and strong.flagged
    # 600 vs 480: p < 0.01 but a ratio of 1.25 is what a falling density gives: not flagged.
    mild = bunching(pl.Series([59.0] * 600 + [61.0] * 480), 60, 6)
    assert mild.p_value < 0.01 and mild.ratio == 1.25 and not mild.flagged


def test_bunching_table_per_severity():
    opened = [T0] * 6
    minutes = [110, 115, 119, 121, 475, 500]  # sev 1 target 120 (δ 12): 3 below, 1 above
    inc = pl.DataFrame({"severity": [1, 1, 1, 1, 2, 2], "opened_at": opened,
                        "resolved_at": [T0 + timedelta(minutes=m) for m in minutes]})
    got = bunching_table(inc, {1: 2.0, 2: 8.0}, delta_share=0.1).to_dicts()
    assert got[0] | {"p_value": None} == {"severity": 1, "target_hours": 2.0, "delta_minutes": 12.0,
                                          "just_below": 3, "just_above": 1, "ratio": 3.0,
                                          "p_value": None, "flagged": False}
    assert got[0]["p_value"] == pytest.approx(_upper_tail(3, 4))  # 5/16
    assert (got[1]["just_below"], got[1]["just_above"]) == (1, 1)  # 475 < 480 ≤ 500 < 528


def test_report_flags_planted_bunching_and_lists_rows(engine, capsys):
    b.services(engine)
    target = RESOLUTION_TARGET_HOURS[2] * 60  # 480 minutes
    # 20 severity-2 incidents closed 1–10 minutes before the target, 2 just after it.
    for i in range(20):
        b.incident(engine, i + 1, 1, T0 + timedelta(hours=i), T0 + timedelta(hours=i, minutes=target - 1 - i % 10),
                   severity=2)
    for i in (20, 21):
        b.incident(engine, i + 1, 1, T0 + timedelta(hours=i), T0 + timedelta(hours=i, minutes=target + 5),
                   severity=2)
    b.incident(engine, 23, None, T0, T0 + timedelta(hours=1), title="<b>no service</b>")
    got = {f.key: f for f in gaming(engine).findings}
    sev2 = got["bunching"].stats.filter(pl.col("severity") == 2).row(0, named=True)
    assert (sev2["just_below"], sev2["just_above"]) == (20, 2)
    assert sev2["p_value"] == pytest.approx(_upper_tail(20, 22)) and sev2["flagged"]
    assert got["bunching"].flagged and "severity 2: 20 just below vs 2 just above" in got["bunching"].sentence
    assert got["bunching"].rows.height == 20
    close = got["closed_before_breach"].stats.filter(pl.col("severity") == 2).row(0, named=True)
    assert (close["just_below"], close["just_above"]) == (20, 2)  # all within 15 min
    assert "no severity history" in got["closed_before_breach"].sentence
    assert not got["reopened"].flagged and "no reopen data" in got["reopened"].sentence
    assert got["no_service"].rows["external_id"].to_list() == ["INC23"]
    assert got["no_service"].sentence.startswith("1 of 23 incidents have no service")
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "gaming", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["incidents"] == 23
    assert [f["key"] for f in out["findings"]] == ["bunching", "closed_before_breach", "reopened",
                                                   "no_service"]


def test_no_incidents_is_no_data(engine):
    with pytest.raises(NoData, match="No incidents"):
        gaming(engine)
