"""`gate` on the demo organisation: JSON shape, exit codes 0 / 1 / 3, and 2 for bad input."""

from __future__ import annotations

import json

import pytest

from analytics.cli import main

AT = "2026-11-22T12:00"  # no freeze; the demo has no open Sev1 on "accounts" then (checked below)


def _run(engine, capsys, *extra: str) -> tuple[int, dict | str]:  # noqa: ANN001
    url = engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "gate", "--service", "accounts", "--at", AT, *extra])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else out.err)


@pytest.mark.parametrize(("args", "code", "decision"), [
    (("--lines-changed", "40", "--files-changed", "2", "--coverage", "95"), 0, "pass"),
    (("--lines-changed", "40", "--files-changed", "2", "--coverage", "60"), 1, "fail"),
    (("--lines-changed", "50000", "--files-changed", "400", "--coverage", "86"), 3, "escalate"),
    (("--lines-changed", "40", "--files-changed", "2", "--coverage", "60", "--emergency"), 0, "pass"),
])
def test_gate_decisions(demo_engine, capsys, args: tuple[str, ...], code: int, decision: str) -> None:  # noqa: ANN001
    from analytics.store.queries import Filters, incidents
    from analytics.studies.gates import open_sev1_count
    from analytics.cli.common import parse_timestamp

    assert open_sev1_count(incidents(demo_engine, Filters(services=("accounts",))), "accounts",
                           parse_timestamp(AT)) == 0
    got, body = _run(demo_engine, capsys, *args, "--format", "json")
    assert got == code
    assert body["decision"] == decision and 0.0 <= body["risk"] <= 1.0 and body["reasons"]


def test_gate_risk_grows_with_the_change(demo_engine, capsys) -> None:  # noqa: ANN001
    _, small = _run(demo_engine, capsys, "--lines-changed", "10", "--files-changed", "1",
                    "--coverage", "95", "--format", "json")
    _, large = _run(demo_engine, capsys, "--lines-changed", "20000", "--files-changed", "200",
                    "--coverage", "95", "--format", "json")
    assert small["risk"] < large["risk"]
    # The JSON names what drives the score: one coefficient per feature of the model, and the
    # size coefficient is what made the larger change riskier.
    from analytics.studies.risk import FEATURES

    coefficients = large["risk_model"]["coefficients"]
    assert list(coefficients) == list(FEATURES)
    assert coefficients["log_lines"] > 0 or coefficients["log_files"] > 0


def test_unknown_service_is_one_line_exit_2(demo_engine, capsys) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "gate", "--service", "nope", "--lines-changed", "1",
                 "--files-changed", "1", "--coverage", "90"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: unknown service nope (--service)"


def test_bad_coverage_exit_2(demo_engine, capsys) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "gate", "--service", "accounts", "--lines-changed", "1",
                 "--files-changed", "1", "--coverage", "120"])
    assert code == 2 and "--coverage" in capsys.readouterr().err
