"""`python -m analytics experiment FILE`: reference values, format detection and bad files (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analytics.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "experiments"
ROOT = FIXTURES.parent.parent.parent


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["experiment", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_means_summary_reproduces_reference(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, str(FIXTURES / "means_summary.csv"))
    a, b = out["variants"]
    assert (a["variant"], a["n"], a["abs_lift"]) == ("A", 3407, None)
    assert a["mean"] == pytest.approx(1396.87 / 3407)
    assert b["abs_lift"] == pytest.approx(0.29, abs=5e-5)
    assert (b["abs_ci_low"], b["abs_ci_high"]) == pytest.approx((0.04538, 0.53462), abs=5e-5)
    assert b["p_value"] == pytest.approx(0.02016, abs=5e-5)
    # SRM for 3407 vs 3461 under 50/50: chi² = 2 × 27² / 3434
    assert out["srm_p_value"] == pytest.approx(stats.chi2.sf(2 * 27 ** 2 / 3434, 1))
    assert set(b) >= {"variant", "n", "mean", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift",
                      "rel_ci_low", "rel_ci_high", "p_value", "chance_to_win"}


def test_proportion_summary_reproduces_reference(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, str(FIXTURES / "proportion_summary.csv"), "--metric-type", "proportion")
    b = out["variants"][1]
    assert b["rel_lift"] == pytest.approx(0.06667, abs=5e-5)
    assert (b["rel_ci_low"], b["rel_ci_high"]) == pytest.approx((-0.47767, 0.61101), abs=5e-5)
    assert b["rel_p_value"] == pytest.approx(0.80707, abs=5e-5)


def test_per_unit_rows_detected_and_match_scipy(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, str(FIXTURES / "units_abn.csv"))
    assert out["control"] == "control"
    control = np.array([3, 5, 4, 6, 2])
    by_name = {v["variant"]: v for v in out["variants"]}
    for name, values in {"fast": [5, 7, 6, 8, 4, 6], "slow": [1, 2, 3, 2]}.items():
        ref = stats.ttest_ind(values, control, equal_var=False)
        assert by_name[name]["p_value"] == pytest.approx(ref.pvalue)
        assert by_name[name]["abs_ci_low"] == pytest.approx(ref.confidence_interval().low)
    assert by_name["fast"]["mean"] == pytest.approx(6.0) and by_name["slow"]["abs_lift"] == pytest.approx(-2.0)
    # 5, 6, 4 units against an equal 1/3 split: chi² = (0 + 1 + 1) / 5
    assert out["srm_p_value"] == pytest.approx(stats.chi2.sf(0.4, 2))


def test_per_unit_proportions_and_control_option(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, str(FIXTURES / "units_proportion.csv"), "--metric-type", "proportion", "--control", "B")
    a = next(v for v in out["variants"] if v["variant"] == "A")
    # A 2/4 = 0.5 against control B 4/5 = 0.8: lift −0.3, relative 0.5/0.8 − 1 = −0.375
    assert a["abs_lift"] == pytest.approx(-0.3) and a["rel_lift"] == pytest.approx(-0.375)


def test_table_format_shows_srm_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", str(FIXTURES / "means_summary.csv")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["variant", "n", "mean"]
    assert "0.02016" in out and "sample ratio p = 0.514662 · ok" in out


@pytest.mark.parametrize(("name", "extra", "message"), [
    ("bad_missing_column.csv", [], "bad_missing_column.csv: missing column(s): need variant,n,sum,sum_squares"),
    ("bad_non_numeric.csv", [], "bad_non_numeric.csv, row 4 (line 5), column 'value': 'abc' is not a number"),
    ("bad_one_variant.csv", [], "bad_one_variant.csv, column 'variant': need at least two variants"),
    ("units_abn.csv", ["--control", "nope"], "units_abn.csv, column 'variant': control 'nope' not found"),
    ("units_abn.csv", ["--metric-type", "proportion"], "units_abn.csv, row 1 (line 2), column 'value': '3' must be 0 or 1"),
    ("absent.csv", [], "absent.csv: no such file"),
])
def test_bad_files_exit_2_naming_file_row_column(capsys: pytest.CaptureFixture[str], name: str,
                                                 extra: list[str], message: str) -> None:
    assert main(["experiment", str(FIXTURES / name), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_duplicate_summary_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("variant,n,sum,sum_squares\nA,10,5,5\nA,10,6,6\nB,10,4,4\n")
    assert main(["experiment", str(path)]) == 2
    assert "'A' appears on more than one row" in capsys.readouterr().err


def test_module_entry_point_exit_code() -> None:
    proc = subprocess.run([sys.executable, "-m", "analytics", "experiment",
                           str(FIXTURES / "bad_non_numeric.csv")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "column 'value'" in proc.stderr
