"""Threshold reports on the demo store: the rollback-trigger replay against a plain Python replay
over SQL-read samples, the saved alert rule through the store's definition functions, and the
suggested thresholds against numpy percentiles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.cli import main
from analytics.reports import BadRequest, NoData
from analytics.reports import thresholds as report
from analytics.store.definitions import latest_definition, save_definition

STEP = timedelta(minutes=5)


def _utc(value) -> datetime:  # noqa: ANN001
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _reference_rollback(engine, service: str, thr: float, within: timedelta) -> dict[int, str]:  # noqa: ANN001
    """Outcome per production deployment by a plain loop over per-sample error ratios read with
    SQL: fired when any 5-minute sample closing in (finished, finished + within] is above thr."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT x.ts, sum(x.total - x.good), sum(x.total) FROM sli_sample x "
            "JOIN slo o ON o.id = x.slo_id JOIN service s ON s.id = o.service_id "
            "WHERE s.name = :s GROUP BY x.ts ORDER BY x.ts"), {"s": service}).all()
        deps = conn.execute(text(
            "SELECT d.id, d.finished_at, d.status FROM deployment d JOIN service s ON s.id = d.service_id "
            "WHERE s.name = :s AND d.environment = 'production' AND d.is_rollback = false "
            "AND d.finished_at IS NOT NULL"), {"s": service}).all()
    ratio = {_utc(ts) + STEP: (bad / tot if tot else None) for ts, bad, tot in rows}
    first, last = min(ratio) - STEP, max(ratio)
    out = {}
    for dep_id, fin, status in deps:
        fin = _utc(fin)
        if not first <= fin < last:
            continue
        fired = any(v is not None and v > thr for t, v in ratio.items() if fin < t <= fin + within)
        failed = status in ("failed", "rolled_back")
        out[dep_id] = {(True, True): "caught", (True, False): "false rollback",
                       (False, True): "missed", (False, False): "quiet"}[(fired, failed)]
    return out


@pytest.mark.parametrize(("thr", "within"), [(0.05, "15m"), (0.01, "30m")])
def test_rollback_replay_cli_matches_reference(demo_engine, capsys, thr: float, within: str) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "rollback-replay", "--service", "accounts", "--threshold",
                 str(thr), "--within", within, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = _reference_rollback(demo_engine, "accounts", thr, timedelta(minutes=int(within[:-1])))
    assert {r["id"]: r["outcome"] for r in out["rows"]} == expected
    counts = {o: list(expected.values()).count(o) for o in ("caught", "false rollback", "missed", "quiet")}
    assert {o: out[o] for o in counts} == counts and out["deployments"] == len(expected)
    fired = counts["caught"] + counts["false rollback"]
    assert out["precision"] == pytest.approx(counts["caught"] / fired)
    assert out["recall"] == pytest.approx(counts["caught"] / (counts["caught"] + counts["missed"]))
    assert out["impact_minutes_saved"] == sum(r["impact_minutes_saved"] for r in out["rows"])


@pytest.mark.parametrize(("args", "message"), [
    (["--service", "nope", "--threshold", "0.05"], "unknown service nope (--service)"),
    (["--service", "accounts", "--threshold", "0.05", "--within", "0"], "within must be positive"),
    (["--service", "accounts", "--threshold", "0.05", "--window", "7m"], "window"),
    (["--service", "accounts", "--threshold", "0.05", "--from", "2026-05-02", "--to", "2026-05-01"],
     "is after --to"),
])
def test_rollback_replay_bad_input_exit_2(demo_engine, capsys, args: list[str], message: str) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "report", "rollback-replay", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_rollback_replay_outside_history_is_no_data(demo_engine) -> None:  # noqa: ANN001
    from datetime import date

    with pytest.raises(NoData):
        report.rollback_replay(demo_engine, service="accounts", threshold=0.05,
                               within=timedelta(minutes=15), start=date(2020, 1, 1), end=date(2020, 1, 31))


def test_saved_rule_round_trip(engine) -> None:  # noqa: ANN001
    from analytics.store.models import Service

    with Session(engine) as s:
        s.add(Service(external_id="api", name="api"))
        s.commit()
    assert report.current_rule(engine, metric="error_rate", service="api") == (report.DEFAULT_RULE, 0)
    rule = {"threshold": 0.02, "window_minutes": 10, "for_minutes": 5, "cooldown_minutes": 60}
    with Session(engine) as s:
        row = save_definition(session=s, **report.rule_definition("error_rate", "api", rule),
                              actor="sre", reason="fewer pages")
        s.commit()
        assert (row.version, row.direction) == (1, "lower")
    assert report.current_rule(engine, metric="error_rate", service="api") == (rule, 1)
    with Session(engine) as s:
        stored = latest_definition(session=s, key="alert_rule.error_rate.api")
        assert stored.direction == "lower" and json.loads(stored.thresholds) == rule
    with engine.connect() as conn:
        detail = json.loads(conn.execute(text("SELECT detail FROM audit_log WHERE action = "
                                              "'kpi_threshold_changed'")).scalar_one())
    assert detail["old"] is None and detail["new"] == rule and detail["version"] == 1


def test_suggestions_by_hand(demo_engine) -> None:  # noqa: ANN001
    data = report.replay_inputs(demo_engine, service="accounts")
    got = {r["source"].split(" ")[0]: r for r in
           report.suggestions(data, window_minutes=15).iter_rows(named=True)}
    values = data.series.values(3)[0]
    values = values[~np.isnan(values)]
    assert got["history"]["warn"] == pytest.approx(np.percentile(values, 99))
    assert got["history"]["critical"] == pytest.approx(np.percentile(values, 99.9))
    with demo_engine.connect() as conn:
        target = conn.execute(text("SELECT max(o.target) FROM slo o JOIN service s ON s.id = "
                                   "o.service_id WHERE s.name = 'accounts'")).scalar_one()
    assert got["SLO"]["critical"] == pytest.approx(1 - target)
    assert got["SLO"]["warn"] == pytest.approx(0.8 * (1 - target))


def test_bad_metric_and_service(demo_engine) -> None:  # noqa: ANN001
    with pytest.raises(BadRequest, match="metric"):
        report.series(demo_engine, service="accounts", metric="latency")
    with pytest.raises(BadRequest, match="unknown service"):
        report.series(demo_engine, service="nope")


def test_cli_mirrors_report_constants() -> None:
    from analytics.cli import gate, report_threshold_replay
    from analytics.studies import gates

    assert report_threshold_replay.METRICS == report.METRICS
    assert report_threshold_replay.INCIDENT_SCOPES == report.INCIDENT_SCOPES
    assert gate.EXIT_CODES == gates.EXIT_CODES
