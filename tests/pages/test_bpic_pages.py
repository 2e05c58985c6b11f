"""BPIC 2014 (real data) in the Delivery, Release impact and Weekday effect pages, headless from
app.py with the sidebar period 2013-10-01 … 2014-03-31: no exception, the numbers the SQL gives."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from analytics import catalogue
from tests.pages.test_delivery_pages import _cfr_caption

pytestmark = pytest.mark.bpic
PERIOD = (date(2013, 10, 1), date(2014, 3, 31))


def _open(app_for, engine, page: str):  # noqa: ANN001, ANN202
    at = app_for(engine, page)
    at.sidebar.date_input(key="period").set_value(PERIOD).run()
    assert not at.exception, at.exception
    return at


def _sql(engine, sql: str) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _deployments(engine) -> int:  # noqa: ANN001
    return _sql(engine, "SELECT count(*) FROM deployment WHERE environment = 'production' AND "
                        "is_rollback = false AND finished_at >= '2013-10-01' AND "
                        "finished_at < '2014-04-01'")


def test_delivery_page_on_bpic(bpic_engine, app_for) -> None:  # noqa: ANN001
    at = _open(app_for, bpic_engine, "pages/delivery.py")
    shown = _cfr_caption(at)
    assert shown["deployments"] == _deployments(bpic_engine) > 0
    assert 0 < shown["failed"] <= shown["explicit"] + shown["window"]
    cfr = next(m.value for m in at.metric
               if m.label == catalogue.get("change_failure_rate").short)
    assert cfr == f"{shown['failed'] / shown['deployments']:.1%}"


def test_release_impact_page_on_bpic(bpic_engine, app_for) -> None:  # noqa: ANN001
    at = _open(app_for, bpic_engine, "pages/release_impact.py")
    assert at.subheader[0].value.startswith("Tickets are already elevated in the 48 h before "
                                            "successful releases (")
    ranking = next(d.value for d in at.dataframe if "excess" in d.value.columns)
    assert len(ranking) == 50 and ranking["observed"].sum() > 0


def test_weekday_page_on_bpic(bpic_engine, app_for) -> None:  # noqa: ANN001
    at = _open(app_for, bpic_engine, "pages/weekday.py")
    assert at.subheader[0].value.startswith("No deployment in this data is recorded as failed")
    counts = at.dataframe[0].value
    assert counts["deployments"].sum() == _deployments(bpic_engine) and counts["failed"].sum() == 0
    at.radio(key="wd_outcome").set_value("incident").run()
    assert not at.exception, at.exception
    assert "Failure means an incident attributed to the deployment." in at.subheader[0].value
    assert 0 < at.dataframe[0].value["failed"].sum() < _deployments(bpic_engine)
