"""`attribute`: stored attribution counts against plain SQL (REFERENCE §1.1), audit entry."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text
from tests.cli.test_report_delivery import _fill, _gap_within

from analytics.cli import main


def _attribute(engine: Engine, capsys: pytest.CaptureFixture, *argv: str):  # noqa: ANN202
    code = main(["--db", engine.url.render_as_string(hide_password=False), "attribute", *argv,
                 "--format", "json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else out.err)


def _sql_rules(engine: Engine, window: float) -> dict[str, int]:
    """Rule per production incident written in SQL: explicit link, else the latest production
    deployment of the service finished before it opened within the window."""
    cand = ("SELECT id, service_id, finished_at FROM deployment WHERE environment = 'production'"
            " AND is_rollback = false AND finished_at IS NOT NULL"
            " AND status IN ('success', 'failed', 'rolled_back')")
    sql = f"""
        WITH cand AS ({cand})
        SELECT CASE WHEN i.caused_by_deployment_id IS NOT NULL THEN 'explicit'
                    WHEN i.environment = 'production' AND EXISTS (
                                 SELECT 1 FROM cand c WHERE c.service_id = i.service_id
                                 AND c.finished_at < i.opened_at
                                 AND {_gap_within(engine, 'i.opened_at', 'c.finished_at', window)})
                    THEN 'window' ELSE 'unattributed' END AS r, count(*)
        FROM incident i GROUP BY 1"""
    with engine.connect() as conn:
        return {r: int(n) for r, n in conn.execute(text(sql)).all()}


def _stored(engine: Engine, window: float) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT rule, count(*) FROM incident_attribution "
                                 "WHERE window_hours = :w GROUP BY rule"), {"w": window}).all()
    return {r: int(n) for r, n in rows}


@pytest.mark.parametrize(("window", "expected"), [
    # Hand count on the scenario of tests/metrics/delivery_builders.py (all nine incidents):
    # explicit i4; window i1 (2 h), i2 (11 h), i7 (10 h), i9 (24 h); unattributed i3 (120 h),
    # i5 (no deployments), i6 (before any deployment), i8 (staging: production scope).
    (48.0, {"explicit": 1, "window": 4, "unattributed": 4}),
    # 10 h: i2 and i9 fall out; i7's 10 h gap is on the edge and stays.
    (10.0, {"explicit": 1, "window": 2, "unattributed": 6}),
])
def test_stored_counts_match_sql(engine: Engine, capsys, window, expected) -> None:  # noqa: ANN001
    _fill(engine)
    code, out = _attribute(engine, capsys, "--window-hours", str(window))
    assert code == 0
    sql = _sql_rules(engine, window)
    assert _stored(engine, window) == sql
    assert {r: out[r] for r in ("explicit", "window", "unattributed")} == \
        {"explicit": 0, "window": 0, "unattributed": 0} | sql
    assert {r: out[r] for r in expected} == expected
    assert out["incidents"] == sum(sql.values())
    with engine.connect() as conn:
        action, detail = conn.execute(text("SELECT action, detail FROM audit_log "
                                           "ORDER BY id DESC LIMIT 1")).one()
    assert action == "attribute"
    assert json.loads(detail)["window_hours"] == window


def test_rerun_replaces_one_window_and_keeps_others(engine: Engine, capsys) -> None:  # noqa: ANN001
    _fill(engine)
    for window in ("48", "10", "48"):
        assert _attribute(engine, capsys, "--window-hours", window)[0] == 0
    with engine.connect() as conn:
        per_window = dict(conn.execute(text("SELECT window_hours, count(*) FROM "
                                            "incident_attribution GROUP BY 1")).all())
        incidents = conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
    assert per_window == {48.0: incidents, 10.0: incidents}


@pytest.mark.parametrize("bad", ["0", "-3", "abc"])
def test_bad_window_is_one_clear_error(engine: Engine, capsys, bad) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:  # argparse usage errors exit before the command runs
        _attribute(engine, capsys, "--window-hours", bad)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and ("must be positive" in err or "invalid hours" in err)
