"""Contracts & vendors and Service review pages (issue 19), headless from app.py."""

from __future__ import annotations

PAGES = ("pages/contracts.py", "pages/review.py")


def test_pages_render_on_the_demo(demo_engine, app_for):
    at = app_for(demo_engine, PAGES[0])
    assert at.title[0].value == "Contracts & vendors"
    assert [h.value for h in at.header] == ["Agreements", "Coverage gaps", "Effective targets",
                                            "Vendor scorecard", "Review calendar"]
    assert next(m for m in at.metric if m.label == "Vendors").value == "3"
    gaps = int(next(m for m in at.metric if m.label == "Coverage gaps").value)
    full = next(e for e in at.expander if e.label.startswith("Every gap in full"))
    assert full.label == f"Every gap in full ({gaps})"
    # the whole sentence of each gap, not a cut-off cell
    assert "can jointly deliver" in full.markdown[0].value
    at = app_for(demo_engine, PAGES[1])
    assert at.title[0].value == "Service review"
    assert [h.value for h in at.header][:2] == ["SLA performance, last 12 months",
                                                "SLO performance, last 12 months"]


def test_pages_without_agreements(engine, app_for):
    at = app_for(engine, PAGES[0])
    assert any("No agreement in the store" in i.value for i in at.info)


def test_review_tables_show_headings_not_column_names(demo_engine, app_for):
    """A leader reads "contracted %" and "downtime (min)", not contracted_pct."""
    import json

    for page in PAGES:
        at = app_for(demo_engine, page)
        tables = list(at.dataframe)
        assert len(tables) >= 5, page
        for table in tables:
            config = json.loads(table.proto.columns or "{}")
            shown = [config.get(c, {}).get("label") or c for c in table.value.columns]
            assert not [h for h in shown if "_" in h], (page, shown)
