"""The weekday report attributes incidents with the observation window of the settings (or the
argument), not a literal 48 h: on a small store built here, failure counts by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from analytics.cli import main
from analytics.reports import BadRequest, NoData
from analytics.reports import weekday as report
from analytics.store.models import Deployment, Incident, Service
from analytics.store.queries import Filters

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # four weeks of Mon–Fri deployments at 10:00 UTC
FILTERS = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31), environment="production")


def _build(engine: Engine) -> None:
    """20 successful deployments (Mon–Fri × 4 weeks). Each weekday has one deployment followed
    by an incident 1 h later and one followed by an incident 10 h later (attributed within 48 h,
    not within 2 h), in rotating weeks; the other two have none. So with a 2 h window 1 of 4
    deployments fails each weekday, with 48 h 2 of 4. Sizes and coverage are scrambled so that
    no control separates the failures (the model must fit)."""
    with Session(engine) as s:
        svc = Service(external_id="api", name="api", team="core")
        s.add(svc)
        s.flush()
        n = 0
        for week in range(4):
            for day in range(5):
                at = MONDAY + timedelta(weeks=week, days=day)
                dep = Deployment(external_id=f"d{week}{day}", service_id=svc.id, finished_at=at,
                                 started_at=at - timedelta(minutes=10), status="success",
                                 lines_changed=(week * 37 + day * 53) % 97 + 5,
                                 files_changed=1 + (week + 2 * day) % 5,
                                 test_coverage=60.0 + (week * 13 + day * 7) % 30)
                s.add(dep)
                gap = {day % 4: 1, (day + 2) % 4: 10}.get(week)
                if gap is not None:
                    n += 1
                    s.add(Incident(external_id=f"i{n}", service_id=svc.id, severity=3,
                                   opened_at=at + timedelta(hours=gap),
                                   resolved_at=at + timedelta(hours=gap + 1)))
        s.commit()


def _failed(result: dict) -> dict[str, int]:
    rows = result["by_weekday"]
    rows = rows.to_dicts() if hasattr(rows, "to_dicts") else rows
    return {r["weekday"]: r["failed"] for r in rows}


BY_HAND = {2.0: dict.fromkeys(("Mon", "Tue", "Wed", "Thu", "Fri"), 1),
           48.0: dict.fromkeys(("Mon", "Tue", "Wed", "Thu", "Fri"), 2)}


@pytest.mark.parametrize("hours", [2.0, 48.0])
def test_window_comes_from_the_setting(engine: Engine, monkeypatch, hours: float) -> None:  # noqa: ANN001
    _build(engine)
    monkeypatch.setenv("WORKBENCH_WINDOW_HOURS", f"{hours:g}")
    result = report.weekday(engine, filters=FILTERS, outcome="incident")
    assert result["window_hours"] == hours
    assert _failed(result) == BY_HAND[hours]
    assert result["by_weekday"]["deployments"].to_list() == [4] * 5


@pytest.mark.parametrize("hours", [2.0, 48.0])
def test_window_argument_wins(engine: Engine, monkeypatch, hours: float) -> None:  # noqa: ANN001
    _build(engine)
    monkeypatch.setenv("WORKBENCH_WINDOW_HOURS", "48")
    assert _failed(report.weekday(engine, filters=FILTERS, outcome="either",
                                  window_hours=hours)) == BY_HAND[hours]


@pytest.mark.parametrize("hours", ["2", "48"])
def test_cli_window_hours(engine: Engine, capsys, hours: str) -> None:  # noqa: ANN001
    _build(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "weekday", "--outcome", "incident", "--from", "2026-03-01",
                 "--to", "2026-03-31", "--window-hours", hours, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["window_hours"] == float(hours)
    assert _failed(out) == BY_HAND[float(hours)]


def test_errors(engine: Engine) -> None:
    with pytest.raises(NoData, match="no deployments"):
        report.weekday(engine, filters=FILTERS)
    _build(engine)
    with pytest.raises(BadRequest, match="outcome"):
        report.weekday(engine, filters=FILTERS, outcome="vibes")
    with pytest.raises(BadRequest, match="positive"):
        report.weekday(engine, filters=FILTERS, window_hours=0)


def test_outcomes_match_the_study() -> None:
    from analytics.cli.report_weekday import OUTCOME_CHOICES
    from analytics.studies.weekday import OUTCOMES

    assert report.OUTCOMES == OUTCOMES and tuple(OUTCOMES) == OUTCOME_CHOICES


def test_attribution_is_the_delivery_kpis_one(engine: Engine) -> None:
    """REFERENCE §1.1 as the delivery KPIs apply it: a root-cause commit is an explicit link, and
    "the latest deployment before" may have finished after the period ends. The page passes the
    delivery facts' attribution; the report alone computes the same one."""
    from analytics.reports.delivery import facts
    from analytics.store.models import Change

    _build(engine)
    with Session(engine) as s:
        svc = s.exec(Service.__table__.select()).first()
        first = s.exec(Deployment.__table__.select().where(Deployment.external_id == "d00")).first()
        tue = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)  # a fifth Tuesday, in the period
        s.add(Deployment(external_id="tue", service_id=svc.id, finished_at=tue,
                         started_at=tue - timedelta(minutes=10), status="success", lines_changed=9))
        after = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)  # after the period, before the incident
        s.add(Deployment(external_id="apr", service_id=svc.id, finished_at=after,
                         started_at=after - timedelta(minutes=10), status="success", lines_changed=9))
        s.add(Change(external_id="c1", commit_id="abc", committed_at=MONDAY - timedelta(hours=1),
                     deployment_id=first.id))
        # Caused by the first Monday's commit, long after any window: explicit → Monday.
        s.add(Incident(external_id="late", service_id=svc.id, severity=3, root_cause_commit="abc",
                       opened_at=datetime(2026, 3, 31, 20, 0, tzinfo=UTC)))
        # 30 min after the April deployment, 15 h after Tuesday's: the April one's.
        s.add(Incident(external_id="edge", service_id=svc.id, severity=3,
                       opened_at=after + timedelta(minutes=30)))
        s.commit()
    out = report.weekday(engine, filters=FILTERS, outcome="incident", window_hours=48)
    assert _failed(out) == BY_HAND[48.0]  # the first Monday had an incident already
    per_day = out["incidents_by_weekday"].select("weekday", "releases", "incidents").rows()
    # By hand: two incidents per weekday from _build, the late one on the first Monday (its
    # commit), the edge one on no deployment of the period (the April one is later).
    assert per_day == [("Mon", 4, 3), ("Tue", 5, 2), ("Wed", 4, 2), ("Thu", 4, 2), ("Fri", 4, 2)]
    data = facts(engine, FILTERS, window_hours=48)
    assert data.attribution["rule"].to_list().count("explicit") == 1
    # The facts read lean (no commit hashes but the root-cause ones, fewer deployment columns):
    # the same attribution as on the full inputs.
    from analytics.metrics.attribution import attribute
    from analytics.reports.delivery import inputs

    deps, chg, inc = inputs(engine, FILTERS, window_hours=48)
    assert "commit_id" in chg.columns and "version" in deps.columns
    assert data.attribution.equals(attribute(inc, deps, chg, window_hours=48,
                                             environments=("production",)))
    passed = report.weekday(engine, filters=FILTERS, outcome="incident", window_hours=48,
                            attribution=data.attribution)
    assert json.dumps(passed, default=str, sort_keys=True) == json.dumps(out, default=str, sort_keys=True)
