"""reports.voice_of_customer on a small store with two planted themes: counts by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.reports import NoData
from analytics.reports import voice_of_customer as report
from analytics.store.bulk import bulk_insert
from analytics.store.queries import Filters

START = datetime(2026, 3, 2, 9)  # a Monday
LOGIN = ("Cannot reset my password, the login page rejects it", "Password reset link expired, login fails")
PAYMENT = ("Payment declined at checkout, card charged twice", "Card payment failed and invoice wrong")


def _fill(engine: Engine) -> None:
    services = pl.DataFrame({
        "id": [1], "name": ["shop"], "team": ["core"], "tier": ["gold"], "criticality": [1],
        "customer_facing": [True], "timezone": ["UTC"], "confirmed": [True], "source": ["test"],
        "external_id": ["shop"]})
    rows = []
    # Days 0–13: 2 login tickets a day; payment tickets only from day 7 (1 a day before, 3 after).
    for day in range(14):
        texts = [LOGIN[0], LOGIN[1]] + [PAYMENT[i % 2] for i in range(3 if day >= 7 else 1)]
        for i, body in enumerate(texts):
            rows.append({"service_id": 1, "opened_at": START + timedelta(days=day, minutes=i),
                         "user_role": "end_user", "transaction_criticality": "low", "text": body,
                         "customer_id": f"c{day}-{i}", "source": "test", "external_id": f"t{day}-{i}"})
    with engine.begin() as conn:
        bulk_insert(conn, "service", services)
        bulk_insert(conn, "ticket", pl.DataFrame(rows))


def test_two_planted_themes_and_their_counts(engine: Engine) -> None:
    _fill(engine)
    fit = report.fit(engine, filters=Filters(start=date(2026, 3, 2), end=date(2026, 3, 15)), n_themes=2)
    # 14 days × 2 login tickets; payment 7 × 1 + 7 × 3
    assert (fit.total, fit.sampled) == (28 + 28, 56)
    table = report.theme_table(fit)
    by_name = {("password" in n or "login" in n or "reset" in n): d
               for n, d in table.select("name", "documents").iter_rows()}
    assert by_name == {True: 28, False: 28}
    weekly = report.weekly_volume(fit, tz="UTC")
    # Week of 2 March: 14 login + 7 payment; week of 9 March: 14 login + 21 payment.
    totals = weekly.group_by("period").agg(pl.col("documents").sum()).sort("period")["documents"].to_list()
    assert totals == [21, 35]
    ex = report.examples(fit)
    assert ex.group_by("theme").len()["len"].to_list() == [2, 2]  # two distinct texts per theme


def test_rising_theme_after_release_and_no_data(engine: Engine) -> None:
    _fill(engine)
    fit = report.fit(engine, filters=Filters(), n_themes=2)
    rising = report.rising(fit, release_at=START + timedelta(days=7) - timedelta(hours=1), service="shop", days=7)
    payment = rising.filter(~pl.col("name").str.contains("password|login|reset"))
    # payment: 7 of 21 tickets before, 21 of 35 after
    assert payment.select("before", "after").row(0) == (7, 21)
    assert payment["after_share"][0] == pytest.approx(21 / 35)
    with pytest.raises(NoData, match="^Cannot compare: .*no documents"):
        report.rising(fit, release_at=START, service="shop", days=7)


def test_empty_store_is_no_data(engine: Engine) -> None:
    with pytest.raises(NoData, match="No tickets in this period"):
        report.fit(engine, filters=Filters(), n_themes=4)
