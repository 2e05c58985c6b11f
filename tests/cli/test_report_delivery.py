"""`report delivery` and `report scorecard` on a small store: hand arithmetic and plain SQL."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.cli import main
from analytics.store.bulk import bulk_insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))
from tests.metrics.delivery_builders import SERVICES, h, scenario  # noqa: E402

PERIOD = ("--from", "2024-01-01", "--to", "2024-01-14")


def _fill(engine: Engine) -> None:
    deps, chg, inc = scenario()
    tag = [pl.lit("test").alias("source"), pl.col("id").cast(pl.String).alias("external_id")]
    services = pl.DataFrame([{"id": k, "name": v[0], "team": v[1], "tier": v[2],
                              "criticality": v[3], "source": "test", "external_id": v[0]}
                             for k, v in SERVICES.items()])
    tickets = pl.DataFrame({"id": [1, 2, 3], "service_id": [1, 2, 1],
                            "opened_at": [h(12), h(90), h(100)]})
    csat = pl.DataFrame({"id": [1, 2], "service_id": [1, 1], "responded_at": [h(11), h(200)],
                         "score": [2, 5]})
    with engine.begin() as conn:
        bulk_insert(conn, "service", services)
        bulk_insert(conn, "deployment", deps.select(
            "id", "service_id", "environment", "finished_at", "status", "is_rollback",
            "unplanned", *tag))
        bulk_insert(conn, "change", chg.select("id", "commit_id", "committed_at",
                                               "deployment_id", *tag))
        bulk_insert(conn, "incident", inc.select(
            "id", "service_id", "environment", "severity", "opened_at", "detected_at",
            "resolved_at", "customer_facing", "caused_by_deployment_id", "problem_id",
            "root_cause", *tag))
        bulk_insert(conn, "ticket", tickets.with_columns(*tag))
        bulk_insert(conn, "csat_response", csat.with_columns(*tag))


def _run(engine: Engine, capsys: pytest.CaptureFixture, *argv: str,  # noqa: ANN202
         fmt: str = "json"):
    url = engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "report", *argv, "--format", fmt])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if fmt == "json" and code == 0 else out.out + out.err)


def _gap_within(engine: Engine, later: str, earlier: str, hours: float) -> str:
    if engine.dialect.name == "sqlite":
        # Whole seconds: julianday's float days would put an exact 10 h gap a hair above 10 h.
        return f"round((julianday({later}) - julianday({earlier})) * 86400) <= {hours * 3600}"
    return f"{later} - {earlier} <= interval '{hours} hours'"


def _sql_failed(engine: Engine, window: float) -> tuple[int, int, dict[str, int]]:
    """CFR counts and rule counts written directly in SQL (REFERENCE §1, §1.1)."""
    cand = ("SELECT id, service_id, finished_at FROM deployment WHERE environment = 'production'"
            " AND is_rollback = false AND finished_at IS NOT NULL"
            " AND status IN ('success', 'failed', 'rolled_back')")
    link = f"""
        SELECT i.id, i.opened_at, i.caused_by_deployment_id AS explicit,
               (SELECT c.id FROM cand c WHERE c.service_id = i.service_id
                  AND c.finished_at < i.opened_at
                  AND {_gap_within(engine, 'i.opened_at', 'c.finished_at', window)}
                ORDER BY c.finished_at DESC LIMIT 1) AS windowed
        FROM incident i WHERE i.environment = 'production'"""
    period = "finished_at >= '2024-01-01' AND finished_at < '2024-01-15'"
    with engine.connect() as conn:
        failed, total = conn.execute(text(f"""
            WITH cand AS ({cand}), link AS ({link})
            SELECT sum(CASE WHEN d.status IN ('failed', 'rolled_back') OR EXISTS (
                        SELECT 1 FROM link l WHERE COALESCE(l.explicit, l.windowed) = d.id)
                       THEN 1 ELSE 0 END), count(*)
            FROM deployment d WHERE d.id IN (SELECT id FROM cand) AND {period}""")).one()
        rules = conn.execute(text(f"""
            WITH cand AS ({cand}), link AS ({link})
            SELECT CASE WHEN explicit IS NOT NULL THEN 'explicit'
                        WHEN windowed IS NOT NULL THEN 'window' ELSE 'unattributed' END AS r,
                   count(*)
            FROM link WHERE opened_at >= '2024-01-01' AND opened_at < '2024-01-15'
            GROUP BY 1""")).all()
    return int(failed), int(total), {r: int(n) for r, n in rules}


def test_delivery_report_json_matches_hand_and_sql(engine: Engine, capsys) -> None:  # noqa: ANN001
    _fill(engine)
    code, r = _run(engine, capsys, "delivery", *PERIOD)
    assert code == 0
    failed, total, rules = _sql_failed(engine, 48)
    assert (r["change_failure_rate"]["failed"], r["change_failure_rate"]["deployments"]) == (
        failed, total) == (4, 7)
    assert r["attribution"] == {"explicit": 0, "window": 0, "unattributed": 0} | rules
    assert r["attribution"] == {"explicit": 1, "window": 4, "unattributed": 2}
    assert (r["deployments"], r["deploys_per_day"], r["deploy_days_per_week_median"]) == (
        7, 0.5, 2.5)
    assert r["lead_time_hours"] == {"median": 12.0, "p75": 24.0, "p90": pytest.approx(38.4),
                                    "n": 5}
    assert r["recovery_time_hours"] == {"median": 20.5, "p90": pytest.approx(136.3), "n": 4}
    assert r["mttr_hours"] == {"median": 2.5, "mean": pytest.approx(16 / 6), "n": 6}
    assert r["time_to_detect_hours"] == {"median": 11.0, "n": 5}
    assert r["incident_recurrence_rate"] == pytest.approx(3 / 7)  # i7 recurs P9 from December
    assert r["bands"]["change_failure_rate"] == "low"
    assert r["period"]["from"] == "2024-01-01" and r["period"]["to"] == "2024-01-14"
    assert [s["service"] for s in r["by_service"]] == ["billing", "checkout", "ledger", "search"]
    for key in ("deployments", "deploys_per_day", "deploy_days_per_week_median",
                "lead_time_hours", "change_failure_rate", "recovery_time_hours", "mttr_hours",
                "time_to_detect_hours", "rework_rate", "rollback_rate",
                "incident_recurrence_rate", "attribution", "bands"):
        assert key in r and key in r["by_service"][0]


def test_window_hours_option_changes_attribution(engine: Engine, capsys) -> None:  # noqa: ANN001
    _fill(engine)
    _, r = _run(engine, capsys, "delivery", *PERIOD, "--window-hours", "10")
    # i2 (11 h) and i9 (24 h) fall out; i1 (2 h) and i7 (10 h, the edge) stay.
    assert r["attribution"] == {"explicit": 1, "window": 2, "unattributed": 4}
    assert r["attribution"] == {"explicit": 0, "window": 0, "unattributed": 0} | \
        _sql_failed(engine, 10)[2]
    assert r["period"]["window_hours"] == 10.0


def test_service_filter(engine: Engine, capsys) -> None:  # noqa: ANN001
    _fill(engine)
    _, r = _run(engine, capsys, "delivery", *PERIOD, "--service", "search")
    assert (r["deployments"], r["change_failure_rate"]["failed"]) == (2, 1)
    assert [s["service"] for s in r["by_service"]] == ["search"]


def test_unknown_service_exits_2(engine: Engine, capsys) -> None:  # noqa: ANN001
    _fill(engine)
    code, out = _run(engine, capsys, "delivery", "--service", "nope")
    assert code == 2 and "unknown service nope" in out


def test_bad_window_exits_2(engine: Engine, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as err:
        _run(engine, capsys, "delivery", "--window-hours", "-3")
    assert err.value.code == 2
    assert "--window-hours must be positive" in capsys.readouterr().err


def test_empty_store_and_empty_period(engine: Engine, capsys) -> None:  # noqa: ANN001
    code, r = _run(engine, capsys, "delivery")
    assert code == 0 and r["deployments"] == 0 and r["lead_time_hours"]["n"] == 0
    _fill(engine)
    code, r = _run(engine, capsys, "delivery", "--from", "2030-01-01", "--to", "2030-01-31")
    assert code == 0
    assert (r["deployments"], r["deploys_per_day"], r["change_failure_rate"]["value"]) == (
        0, 0.0, None)
    assert r["mttr_hours"] == {"median": None, "mean": None, "n": 0}


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_other_formats(engine: Engine, capsys, fmt: str) -> None:  # noqa: ANN001
    _fill(engine)
    code, out = _run(engine, capsys, "delivery", *PERIOD, fmt=fmt)
    assert code == 0
    if fmt == "csv":  # machines keep the keys
        assert "change_failure_rate.failed" in out and "lead_time_hours.median" in out
    else:  # people read the catalogue's labels, in each KPI's unit
        from analytics import catalogue

        cfr = catalogue.get("change_failure_rate")
        assert cfr.label in out and catalogue.get("lead_time").label in out
        line = next(x for x in out.splitlines() if x.startswith(cfr.label))
        assert line.split()[3].endswith("%")


def test_scorecard_json(engine: Engine, capsys) -> None:  # noqa: ANN001
    _fill(engine)
    code, rows = _run(engine, capsys, "scorecard", *PERIOD)
    assert code == 0
    services = [r for r in rows if r["level"] == "service"]
    assert [r["service"] for r in services] == ["checkout", "ledger", "search", "billing"]
    checkout = services[0]
    # Tickets: t1 (2 h after d1) and t3 (30 h after d5) after releases; t2 is search.
    assert (checkout["tickets_after_releases"], checkout["tickets"]) == (2, 2)
    # CSAT = share of answers scoring 4 or 5: the one after-release answer is a 2, the other a 5.
    assert (checkout["csat_after_releases"], checkout["csat_other"]) == (0.0, 1.0)
    assert (checkout["cfr"], checkout["change_failure_rate_band"]) == (0.75, "low")
    assert checkout["customer_facing_minutes"] == 480.0
    teams = [(r["criticality"], r["team"]) for r in rows if r["level"] == "team"]
    assert teams == [(1, "finance"), (1, "payments"), (2, "storefront"), (3, "payments")]


def test_mttr_baselines_equal_sql_and_numpy(engine: Engine, capsys) -> None:  # noqa: ANN001
    from datetime import datetime

    import numpy as np

    from analytics.cli.report_mttr_baselines import DEFAULT_MONTHS as CLI_MONTHS
    from analytics.metrics.baselines import DEFAULT_MONTHS, DEFAULT_TIER_COMMITMENT_HOURS

    assert CLI_MONTHS == DEFAULT_MONTHS
    _fill(engine)
    code, rows = _run(engine, capsys, "mttr-baselines")
    assert code == 0
    # Second method: restored production incidents straight from the table, numpy percentiles.
    # The last incident opened 2024-01-09, so the six months run 2023-07-10 … 2024-01-09.
    with engine.connect() as conn:
        found = conn.execute(text(
            "SELECT s.name, s.tier, i.opened_at, i.resolved_at FROM incident i "
            "JOIN service s ON s.id = i.service_id WHERE i.environment = 'production' "
            "AND i.resolved_at IS NOT NULL AND i.opened_at >= '2023-07-10' "
            "AND i.opened_at < '2024-01-10'")).all()
    by_service: dict[str, list[float]] = {}
    tiers = {}
    for name, tier, opened, resolved in found:
        opened, resolved = (datetime.fromisoformat(v) if isinstance(v, str) else v
                            for v in (opened, resolved))
        by_service.setdefault(name, []).append((resolved - opened).total_seconds() / 3600)
        tiers[name] = tier
    assert {r["service"] for r in rows} == set(by_service) == {"checkout", "search"}
    for r in rows:
        x = np.array(by_service[r["service"]])
        assert r["n"] == len(x)
        assert r["p50_hours"] == pytest.approx(np.median(x))
        assert r["p80_hours"] == pytest.approx(np.percentile(x, 80))
        assert r["commitment_hours"] == DEFAULT_TIER_COMMITMENT_HOURS[tiers[r["service"]]]
        assert r["within_commitment"] == (np.percentile(x, 80) <= r["commitment_hours"])
    # By hand: checkout restores 3, 5, 1, 2, 1 h → p50 2 h, p80 3.4 h; search 1, 4 h → p80 3.4 h.
    checkout = next(r for r in rows if r["service"] == "checkout")
    assert (checkout["p50_hours"], checkout["p80_hours"]) == (2.0, pytest.approx(3.4))
    with pytest.raises(SystemExit) as err:
        _run(engine, capsys, "mttr-baselines", "--months", "0")
    assert err.value.code == 2 and "--months must be at least 1" in capsys.readouterr().err


def test_mttr_baselines_table_and_empty_store(engine: Engine, capsys) -> None:  # noqa: ANN001
    code, out = _run(engine, capsys, "mttr-baselines", fmt="table")
    assert code == 2 and "No restored incident" in out
    _fill(engine)
    code, out = _run(engine, capsys, "mttr-baselines", "--months", "1", fmt="table")
    assert code == 0 and "checkout" in out and "p80 restore (h)" in out


def test_report_help_does_not_import_the_heavy_stack() -> None:
    """`report --help` stays light: the delivery CLI modules import no report/polars stack."""
    import subprocess

    code = ("import sys; import analytics.cli.report_delivery, analytics.cli.report_scorecard, "
            "analytics.cli.report_mttr_baselines, analytics.cli.attribute; "
            "heavy = [m for m in ('analytics.reports.delivery', 'analytics.reports.scorecard', "
            "'statsmodels', 'scipy', 'sklearn', 'altair') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_pages_and_notebooks_do_not_import_the_cli() -> None:
    root = Path(__file__).resolve().parents[2]
    for name in ("pages/overview.py", "pages/delivery.py", "notebooks/overview.py",
                 "notebooks/delivery.py"):
        assert "analytics.cli" not in (root / name).read_text(), name


def test_scorecard_table_uses_the_catalogue(engine: Engine, capsys) -> None:  # noqa: ANN001
    """`report scorecard` for people: the catalogue's short headings, each value in its unit,
    the same figures as the JSON."""
    from analytics import catalogue

    _fill(engine)
    code, rows = _run(engine, capsys, "scorecard", *PERIOD)
    assert code == 0
    code, out = _run(engine, capsys, "scorecard", *PERIOD, fmt="table")
    assert code == 0
    header = out.splitlines()[0]
    for key in ("change_failure_rate", "lead_time", "recovery_time", "mttr"):
        assert catalogue.get(key).short in header
    checkout = next(line for line in out.splitlines() if " checkout " in line)
    want = next(r for r in rows if r.get("service") == "checkout")
    assert f"{want['cfr']:.1%} · {want['change_failure_rate_band']}" in checkout


def test_rollbacks_and_summary_tables_speak_in_labels(engine: Engine, capsys) -> None:  # noqa: ANN001
    """`--format table` of rollbacks and summary: headings in words and the catalogue's unit,
    the same figures as the JSON (no column keys, no raw fractions)."""
    from analytics import catalogue

    _fill(engine)
    code, rows = _run(engine, capsys, "rollbacks", *PERIOD)
    assert code == 0 and rows
    code, out = _run(engine, capsys, "rollbacks", *PERIOD, fmt="table")
    label = catalogue.get("rollback_rate").label
    assert code == 0 and out.splitlines()[0].split() == ["Service", "Rolled", "back",
                                                          "Deployments", *label.split()]
    for r in rows:
        line = next(x for x in out.splitlines() if x.startswith(f"{r['service']} "))
        assert line.split()[1:] == [f"{r['rolled_back']:,}", f"{r['deployments']:,}",
                                    f"{r['rollback_rate']:.1%}"]
    code, summary = _run(engine, capsys, "summary")
    code, out = _run(engine, capsys, "summary", fmt="table")
    assert code == 0 and "tables." not in out and "change requests" in out
    line = next(x for x in out.splitlines() if x.startswith("deployments "))
    assert line.split()[1] == f"{summary['tables']['deployments']:,}"
