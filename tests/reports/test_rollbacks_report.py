"""`report rollbacks` (REFERENCE §1 rollback frequency) against plain SQL counts on the demo store."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.reports import BadRequest, NoData
from analytics.reports.rollbacks import rollbacks
from analytics.store.queries import Filters

START, END = date(2026, 9, 1), date(2026, 10, 31)
PERIOD = Filters(start=START, end=END)
# The deployments every KPI counts, written out in SQL: final state, finished in the period,
# not itself a rollback (a remediation).
COUNTED = """
    FROM deployment d JOIN service s ON s.id = d.service_id
    WHERE d.status IN ('success', 'failed', 'rolled_back') AND NOT d.is_rollback
      AND d.finished_at >= :lo AND d.finished_at < :hi {extra}
    GROUP BY {key} ORDER BY {key}"""


def _sql(engine, key: str, extra: str = "") -> list[tuple]:  # noqa: ANN001
    query = (f"SELECT {key}, SUM(CASE WHEN d.status = 'rolled_back' THEN 1 ELSE 0 END), "
             f"COUNT(*) {COUNTED.format(key=key, extra=extra)}")
    with engine.connect() as conn:
        rows = conn.execute(text(query), {"lo": datetime(2026, 9, 1),
                                          "hi": datetime(2026, 11, 1)}).all()
    return [(name, int(rolled), n, rolled / n) for name, rolled, n in rows]


def test_per_service_is_production_only(demo_engine) -> None:  # noqa: ANN001
    got = rollbacks(demo_engine, PERIOD).rows()
    expected = _sql(demo_engine, "s.name", "AND d.environment = 'production'")
    assert [r[:3] for r in got] == [r[:3] for r in expected]
    assert [r[3] for r in got] == pytest.approx([r[3] for r in expected])
    assert sum(r[1] for r in got) > 0  # the demo rolls some deployments back


def test_per_environment_shows_every_environment(demo_engine) -> None:  # noqa: ANN001
    got = rollbacks(demo_engine, PERIOD, by="environment").rows()
    expected = _sql(demo_engine, "d.environment")
    assert [r[:3] for r in got] == [r[:3] for r in expected]
    assert [r[3] for r in got] == pytest.approx([r[3] for r in expected])
    assert len(got) > 1  # non-production is shown by default in this view
    # An environment filter does not narrow this view.
    assert rollbacks(demo_engine, Filters(start=START, end=END, environment="production"),
                     by="environment").rows() == got


def test_cli_json_equals_the_report(demo_engine, capsys) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    service = rollbacks(demo_engine, PERIOD)["service"][0]
    argv = ["--db", url, "report", "rollbacks", "--from", str(START), "--to", str(END),
            "--service", service, "--format", "json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    expected = _sql(demo_engine, "s.name",
                    f"AND d.environment = 'production' AND s.name = '{service}'")
    assert [(r["service"], r["rolled_back"], r["deployments"]) for r in out] == [
        r[:3] for r in expected]
    assert main([*argv[:-2], "--by", "environment", "--format", "json"]) == 0
    envs = json.loads(capsys.readouterr().out)
    assert {r["environment"] for r in envs} == {r[0] for r in _sql(
        demo_engine, "d.environment", f"AND s.name = '{service}'")}


def test_no_data_and_bad_requests(demo_engine, capsys) -> None:  # noqa: ANN001
    with pytest.raises(NoData, match="No finished deployment"):
        rollbacks(demo_engine, Filters(start=date(2001, 1, 1), end=date(2001, 1, 31)))
    with pytest.raises(BadRequest, match="service or environment"):
        rollbacks(demo_engine, PERIOD, by="team")
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "rollbacks", "--from", "2001-01-01", "--to",
                 "2001-01-31"]) == 2
    assert "No finished deployment" in capsys.readouterr().err
