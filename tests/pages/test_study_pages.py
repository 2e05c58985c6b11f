"""Release impact and Weekday effect pages, headless from app.py: numbers equal the CLI's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from analytics.reports.release_impact import release_impact
from analytics.reports.weekday import weekday
from analytics.store.queries import Filters
from tests.pages.test_workshop_page import demo_copy  # noqa: F401  (fixture: a private demo store)

END = date(2026, 11, 22)
# The last 90 days of the demo, picked on the page (the default period is the whole demo year).
DEFAULT = Filters(start=END - timedelta(days=89), end=END, environment="production")
LAST_90 = (DEFAULT.start.isoformat(), END.isoformat())


def test_release_impact_page_shows_verdict_and_top_release(demo_engine, app_for):
    at = app_for(demo_engine, "pages/release_impact.py", period=LAST_90)
    assert at.title[0].value == "Release impact"
    expected = release_impact(demo_engine, filters=DEFAULT, top=50)  # window: the setting
    assert at.subheader[0].value == expected["verdict"]
    table = at.dataframe[0].value
    # Ranked by the impact score it shows, highest first (not by another column).
    ranked = expected["per_release"].sort("impact_score", descending=True, nulls_last=True)
    assert table["id"].head(5).tolist() == ranked["id"].head(5).to_list()
    assert table["impact_score"].is_monotonic_decreasing
    # Drill-down: the top release's tickets in its window, counted as the study counted them.
    top = ranked.row(0, named=True)
    drill = next(t.value for t in at.text if "tickets and" in t.value)
    assert drill.startswith(f"{top['observed']} tickets") and top["service"] in drill


def test_weekday_page_shows_verdict_and_odds_ratio(demo_engine, app_for):
    at = app_for(demo_engine, "pages/weekday.py", period=LAST_90)
    assert at.title[0].value == "Weekday effect"
    expected = weekday(demo_engine, filters=DEFAULT)
    assert at.subheader[0].value == expected["verdict"]
    tile = next(m for m in at.metric if m.label == "Friday vs Mon–Thu (controlled)")
    assert tile.value == f"{expected['friday_vs_rest']['odds_ratio']:.2f}×"
    window = next(c.value for c in at.caption if "observation window" in c.value)
    assert f"within {expected['window_hours']:g} h" in window


def test_study_pages_on_empty_store_say_so(engine, app_for):
    for page, lead in (("pages/release_impact.py", "Nothing to study here: "),
                       ("pages/weekday.py", "Nothing to compare here: ")):
        at = app_for(engine, page)
        assert not at.exception, page
        assert [i.value for i in at.info if i.value.startswith(lead)], page
        assert not at.dataframe, page  # the page stopped at the note


HOSTILE = "**pwn** [click](http://evil.example) <b>x</b>"


@pytest.mark.parametrize("page", ["pages/weekday.py", "pages/release_impact.py"])
def test_hostile_service_name_is_shown_as_text(demo_copy, app_for, page):  # noqa: F811
    """A service named with Markdown and HTML is shown as typed, never rendered (Hardening 6)."""
    with demo_copy.begin() as conn:
        victim = conn.execute(text("SELECT name FROM service ORDER BY id LIMIT 1")).scalar_one()
        conn.execute(text("UPDATE service SET name = :n WHERE name = :v"), {"n": HOSTILE, "v": victim})
    at = app_for(demo_copy, page)
    at.multiselect(key="service").set_value([HOSTILE]).run()
    assert not at.exception, at.exception
    markdown = [e.value for kind in ("caption", "markdown", "info", "subheader", "success", "error")
                for e in getattr(at, kind)]
    shown = [m for m in markdown if "pwn" in m]
    assert shown, "the filter caption names the service"
    for m in shown:
        # Every Markdown/HTML character of the name arrives escaped, so it renders as typed.
        assert "**pwn**" not in m and "[click](" not in m and "<b>" not in m, m
        assert "\\*\\*pwn\\*\\*" in m


@pytest.mark.parametrize("page", ["pages/weekday.py", "pages/release_impact.py"])
def test_method_text_reads_as_prose(demo_engine, app_for, page):
    """The Method section names code as code: no Sphinx role markup, no indented code block."""
    at = app_for(demo_engine, page, period=LAST_90)
    method = next(e for e in at.expander if e.label == "Method")
    texts = [m.value for m in method.markdown]
    assert texts and any("`" in t for t in texts)
    for t in texts:
        assert not [r for r in (":func:", ":meth:", ":mod:", ":class:") if r in t], t[:200]
        assert not [line for line in t.splitlines() if line.startswith("    ")], t[:200]
