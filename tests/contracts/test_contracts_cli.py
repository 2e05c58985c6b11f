"""`import contracts|vendor-data|billed-credits` with the documented examples, then the
`contracts` views: the example's gap is 0.999 × 0.9995 = 0.9985005 below its 99.9% SLA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "analytics" / "ingest" / "examples"


def _json(capsys, argv: list[str]):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_examples_import_and_contract_views(engine, capsys):
    db = ["--db", engine.url.render_as_string(hide_password=False)]
    first = _json(capsys, [*db, "import", "contracts", str(EXAMPLES / "agreements.toml")])
    assert first["inserted"] == 2 + 3 + 4 + 2 + 1  # vendors, components, agreements, supports, rule
    assert _json(capsys, [*db, "import", "contracts", str(EXAMPLES / "agreements.toml")])["inserted"] == 0
    assert _json(capsys, [*db, "import", "vendor-data", str(EXAMPLES / "vendor-data.csv")])["inserted"] == 2
    assert _json(capsys, [*db, "import", "billed-credits", str(EXAMPLES / "billed-credits.csv")])["inserted"] == 1
    gaps = _json(capsys, [*db, "contracts", "gaps", "--format", "json"])
    tight = next(g for g in gaps if g["kind"] == "tighter_than_underpinning")
    assert tight["subject"] == "acme-checkout"
    assert tight["deliverable_pct"] == pytest.approx(0.999 * 0.9995 * 100) == pytest.approx(99.85005)
    assert [g["subject"] for g in gaps if g["kind"] == "window_mismatch"] == ["paygate-uc"]
    assert [g["subject"] for g in gaps if g["kind"] == "component_without_agreement"] == ["checkout/app"]
    due = _json(capsys, [*db, "contracts", "due", "--today", "2026-12-10", "--days", "30", "--format", "json"])
    assert [(d["agreement"], d["event"], d["days_left"]) for d in due] == [
        ("corporate", "review", 5), ("acme-checkout", "review", 10), ("acme-checkout", "renewal", 22)]
    out = _json(capsys, [*db, "contracts", "decommission", "acme-checkout", "--today", "2026-12-11",
                         "--format", "json"])
    assert out["rules_retired"] == 1
    tree = _json(capsys, [*db, "contracts", "tree", "--format", "json"])
    assert {t["agreement"]: t["status"] for t in tree}["acme-checkout"] == "decommissioned"
    assert main([*db, "contracts", "decommission", "nope"]) == 2
    assert "unknown agreement 'nope'" in capsys.readouterr().err


def test_bad_files_exit_2_naming_file_and_field(engine, tmp_path, capsys):
    db = ["--db", engine.url.render_as_string(hide_password=False)]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[agreement]]\nname = "x"\nkind = "uc"\ntarget_pct = 101\neffective_from = 2026-01-01\n')
    assert main([*db, "import", "contracts", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml, column 'target_pct', value '101': agreement 'x': must be a number in [0, 100]" in err
    assert "agreement 'x': an OLA or UC must name the SLAs it supports" in err
    csv = tmp_path / "billed.csv"
    csv.write_text("contract,customer,month,amount,currency\na,A,2026-11,lots,EUR\n")
    assert main([*db, "import", "billed-credits", str(csv)]) == 2
    assert "row 2, column 'amount', value 'lots': must be a number" in capsys.readouterr().err
