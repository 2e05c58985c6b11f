"""The study CLI modules stay light at import time: `report --help` and `gate --help` must not
load statsmodels, scipy, scikit-learn or the report modules (they load when a report runs)."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("analytics.cli.report_release_impact", "analytics.cli.report_weekday",
           "analytics.cli.report_threshold_replay", "analytics.cli.report_rollback_replay",
           "analytics.cli.gate")
HEAVY = ("statsmodels", "scipy", "sklearn", "analytics.reports.release_impact",
         "analytics.reports.weekday", "analytics.reports.thresholds", "analytics.reports.gate",
         "analytics.studies.weekday", "analytics.studies.release_impact", "analytics.studies.risk")


def test_study_cli_modules_import_no_heavy_modules() -> None:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in MODULES)
            + f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_study_cli_modules_import_only_stdlib_and_common() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # analytics.settings sits at the ground (stdlib only): a CLI help may quote its defaults.
    allowed = {"__future__", "argparse", "re", "datetime", "typing", "analytics.cli.common",
               "analytics.settings", "analytics.cli.report_release_impact",
               "analytics.cli.report_threshold_replay"}
    for name in MODULES:
        tree = ast.parse((root / (name.replace(".", "/") + ".py")).read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        mods = {n.module for n in top if isinstance(n, ast.ImportFrom)} | {
            a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        assert mods <= allowed, (name, mods - allowed)
