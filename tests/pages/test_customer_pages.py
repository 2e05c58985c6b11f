"""Customer, Voice of customer and Experiments pages, headless from app.py: the numbers shown are
plain SQL's or the pure functions', the SRM alarm and upload errors show, examples follow the role."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import text

from analytics import catalogue
from analytics.metrics.control_charts import p_chart
from analytics.metrics.csat import csat_periods
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies.csat_ops import after_incident_comparison, cohort_comparison, survey_targets
from analytics.studies.experiments import analyse

CSAT, NPS = catalogue.get("csat"), catalogue.get("nps")
START, END = date(2026, 8, 25), date(2026, 11, 22)  # the last 90 days of the demo, picked
LAST_90 = (START.isoformat(), END.isoformat())


def _metric(at, label):
    return next(m for m in at.metric if m.label == label).value


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_customer_page_tiles_match_sql_and_pure_functions(demo_engine, app_for):
    at = app_for(demo_engine, "pages/customer.py", period=LAST_90)
    assert at.title[0].value == "Customer"
    lo, hi = datetime(2026, 8, 25), datetime(2026, 11, 23)
    n = _scalar(demo_engine, "SELECT count(*) FROM csat_response WHERE responded_at >= :lo AND responded_at < :hi",
                lo=lo, hi=hi)
    k = _scalar(demo_engine, "SELECT count(*) FROM csat_response WHERE score >= 4 AND responded_at >= :lo "
                "AND responded_at < :hi", lo=lo, hi=hi)
    assert _metric(at, "CSAT") == f"{k / n:.1%}"
    assert f"{k:,} of {n:,} answers scored 4–5" in at.caption[1].value
    promoters = _scalar(demo_engine, "SELECT count(*) FROM csat_response WHERE nps >= 9 AND responded_at >= :lo "
                        "AND responded_at < :hi", lo=lo, hi=hi)
    detractors = _scalar(demo_engine, "SELECT count(*) FROM csat_response WHERE nps <= 6 AND responded_at >= :lo "
                         "AND responded_at < :hi", lo=lo, hi=hi)
    answered = _scalar(demo_engine, "SELECT count(nps) FROM csat_response WHERE responded_at >= :lo "
                       "AND responded_at < :hi", lo=lo, hi=hi)
    assert _metric(at, NPS.short) == NPS.show(100 * (promoters - detractors) / answered)

    frame = queries.csat(demo_engine, Filters(START, END))
    weekly = p_chart(csat_periods(frame, "week", start=START, end=END))
    seen = weekly.filter(~pl.col("gap"))
    assert _metric(at, "Out-of-control weeks") == f"{seen['signal'].is_not_null().sum()} of {seen.height}"
    assert seen.height == 13  # 90 days from a Tuesday touch 13 ISO weeks, all with answers

    # The planted drop (0.82 → 0.62 for 7 days after a customer-facing incident) is shown.
    incidents = queries.incidents(demo_engine, Filters(START, END, environment="production"),
                                  pad_before=timedelta(days=7))
    drop = after_incident_comparison(frame, incidents)
    assert _metric(at, "CSAT after incidents") == f"{drop.affected_csat:.1%}"
    assert _metric(at, "Incident effect") == CSAT.show_change(drop.difference)
    assert drop.affected_csat == pytest.approx(0.62, abs=0.03) and drop.baseline_csat == pytest.approx(0.82, abs=0.03)

    # The release picked by default and its cohort comparison / targeting list, recomputed.
    release_id = at.selectbox(key="customer_release").value
    release_at, service = next(demo_engine.connect().execute(text(
        "SELECT d.finished_at, s.name FROM deployment d JOIN service s ON s.id = d.service_id "
        "WHERE d.id = :i"), {"i": release_id}))
    release_at = datetime.fromisoformat(str(release_at))
    assert release_at + timedelta(days=14) <= datetime(2026, 11, 23)  # follow-up complete
    window = Filters(START - timedelta(days=60), END)
    csat, tickets = queries.csat(demo_engine, window), queries.tickets(demo_engine, window)
    cc = cohort_comparison(csat, tickets, release_at, service=service)
    assert _metric(at, "Affected CSAT") == f"{cc.affected_csat:.1%}"
    assert _metric(at, "Difference") == CSAT.show_change(cc.difference)
    targets = survey_targets(csat, tickets, release_at, service=service, exclude_days=30)
    assert any(f"**{targets.height:,}** affected customers" in m.value for m in at.markdown)
    assert at.get("download_button")[0].proto.label == "Download targeting list (CSV)"


def test_customer_page_empty_store_says_so(engine, app_for):
    at = app_for(engine, "pages/customer.py")
    assert not at.metric
    assert "No survey answers" in at.info[0].value


def test_voice_of_customer_themes_and_examples_follow_the_role(demo_engine, app_for, monkeypatch):
    at = app_for(demo_engine, "pages/voice_of_customer.py", role="viewer", period=LAST_90)
    assert at.title[0].value == "Voice of customer"
    themes = at.dataframe[0].value
    assert len(themes) == 8
    tickets = _scalar(demo_engine, "SELECT count(*) FROM ticket WHERE opened_at >= :lo AND opened_at < :hi",
                      lo=datetime(2026, 8, 25), hi=datetime(2026, 11, 23))
    assert tickets < 50_000  # so every ticket of the period is fitted
    assert f"on all {tickets:,} tickets" in at.caption[1].value
    assert themes["documents"].sum() == tickets  # every demo ticket has text and a dominant theme
    names = " ".join(themes["name"])
    for planted in ("password", "payment", "slow", "export", "notifications"):
        assert planted in names
    assert any("Example tickets: person-level" in i.value for i in at.info)
    assert not at.expander
    leader_tables = len(at.dataframe)

    assert "role" not in [s.key for s in at.selectbox]  # no self-service role box
    monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", "analyst")
    at.run()
    assert not at.exception
    assert len(at.expander) == 8
    examples = pl.concat([pl.from_pandas(d.value) for d in at.dataframe[leader_tables:]])
    assert examples.height == 8 * 3
    joined = " ".join(examples["text"])
    assert "@" not in joined and "de Vries" not in joined  # scrubbed before display
    assert not any("person-level" in i.value for i in at.info)


def _obs(engine, exp_id):
    return pl.DataFrame(engine.connect().execute(text(
        "SELECT variant, value FROM experiment_observation WHERE experiment_id = :i ORDER BY id"),
        {"i": exp_id}).all(), schema=["variant", "value"], orient="row")


def test_experiments_stored_ab_matches_analyse_without_srm(demo_engine, app_for):
    at = app_for(demo_engine, "pages/experiments.py")
    assert at.title[0].value == "Experiments"
    assert not at.error
    table = at.dataframe[0].value
    expected = analyse(_obs(demo_engine, 1), "proportion", "control")
    row = table[table["variant"] == "treatment"].iloc[0]
    want = expected.variants.filter(pl.col("variant") == "treatment").row(0, named=True)
    for col in ("n", "mean", "abs_lift", "rel_ci_low", "rel_ci_high", "p_value"):
        assert row[col] == pytest.approx(want[col], rel=1e-9)
    assert expected.srm.p_value > 0.001
    # The plain-words conclusion, from the same numbers (checked against REFERENCE §4 in the
    # doctest of analytics.reports.experiments.conclusion).
    sentence = at.success[0].value.replace("\\", "")
    verb = "raises" if want["abs_lift"] > 0 else "lowers"
    assert sentence.startswith(f"treatment {verb} conversion by {abs(want['rel_lift']):.1%} against control")
    assert "Sample ratio OK" in sentence
    assert "None" not in table.astype(str).to_string()


def test_experiments_factorial_effects_match_cell_means(demo_engine, app_for):
    at = app_for(demo_engine, "pages/experiments.py")
    at.selectbox(key="exp_pick").set_value(2).run()
    assert not at.exception
    effects = at.dataframe[1].value.set_index("term")
    rows = demo_engine.connect().execute(text(
        "SELECT variant, avg(value) FROM experiment_observation WHERE experiment_id = 2 GROUP BY variant")).all()
    m = dict(rows)
    # Difference of differences and the email effect averaged over tour, by hand from cell means.
    interaction = (m["email=1,tour=1"] - m["email=0,tour=1"]) - (m["email=1,tour=0"] - m["email=0,tour=0"])
    email = ((m["email=1,tour=1"] - m["email=0,tour=1"]) + (m["email=1,tour=0"] - m["email=0,tour=0"])) / 2
    assert effects.loc["email:tour", "estimate"] == pytest.approx(interaction, rel=1e-9)
    assert effects.loc["email", "estimate"] == pytest.approx(email, rel=1e-9)
    assert any("averaged over the other factor" in c.value for c in at.caption)


def _upload(at, name, content):
    at.radio(key="exp_source").set_value("Upload a CSV").run()
    at.file_uploader(key="exp_upload").upload(name, content, "text/csv").run()
    assert not at.exception
    return at


def test_experiments_upload_with_srm_shows_red_warning_first(demo_engine, app_for):
    at = _upload(app_for(demo_engine, "pages/experiments.py"), "srm.csv",
                 b"variant,n,sum,sum_squares\ncontrol,1000,500,500\ntreatment,1200,640,640\n")
    at.selectbox(key="exp_metric_type").set_value("proportion").run()
    # Chi-square by hand: expected 1100 each, (100² / 1100) × 2 = 18.18 on 1 dof → p ≈ 2.0e-5.
    assert len(at.error) == 1 and "Sample ratio mismatch" in at.error[0].value
    assert "p = 2.01e-05" in at.error[0].value
    table = at.dataframe[0].value
    assert table["variant"].tolist() == ["treatment"]  # the control is the baseline, in the caption
    assert table["mean"].tolist() == pytest.approx([640 / 1200])
    assert table["abs_lift"].iloc[0] == pytest.approx(640 / 1200 - 0.5)
    assert any("Control 'control': n = 1,000, mean = 0.5." in c.value.replace("\\", "") for c in at.caption)


def test_experiments_upload_malformed_csv_names_row_and_column(demo_engine, app_for):
    at = _upload(app_for(demo_engine, "pages/experiments.py"), "bad.csv",
                 b"variant,value\nA,1.5\nA,2.5\nB,3.0\nB,abc\n")
    assert len(at.error) == 1
    assert "Nothing was changed" in at.error[0].value
    # The problem quotes the file's name and cells, so it is shown as text, not Markdown.
    assert "bad.csv, row 4 (line 5), column 'value': 'abc' is not a number" in at.text[0].value
    assert not at.dataframe
    assert _scalar(demo_engine, "SELECT count(*) FROM experiment") == 2


def test_customer_page_csat_by_segment_matches_sql(demo_engine, app_for):
    at = app_for(demo_engine, "pages/customer.py", period=LAST_90)
    lo, hi = datetime(2026, 8, 25), datetime(2026, 11, 23)
    with demo_engine.connect() as conn:
        sql = {seg: (n, k) for seg, n, k in conn.execute(text(
            "SELECT segment, count(*), sum(CASE WHEN score >= 4 THEN 1 ELSE 0 END) FROM csat_response "
            "WHERE responded_at >= :lo AND responded_at < :hi GROUP BY segment"), {"lo": lo, "hi": hi})}
    table = next(d.value for d in at.dataframe if "segment" in d.value.columns)
    shown = {r["segment"]: (r["n"], r["satisfied"]) for r in table.to_dict("records")}
    assert shown == sql and len(sql) > 1
    assert table["csat"].tolist() == pytest.approx([k / n for n, k in (sql[s] for s in table["segment"])])

    at.button_group(key="customer_by").set_value("tier").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "tier" in d.value.columns)
    with demo_engine.connect() as conn:
        answers = conn.execute(text("SELECT count(*) FROM csat_response WHERE responded_at >= :lo "
                                    "AND responded_at < :hi"), {"lo": lo, "hi": hi}).scalar_one()
    assert table["n"].sum() == answers


def test_experiments_page_power_matches_statsmodels(engine, app_for, tmp_path):  # noqa: ANN001
    """The Power section: the units per arm to detect a relative lift, against statsmodels'
    NormalIndPower on Cohen's h computed here by hand."""
    import math
    from pathlib import Path

    from statsmodels.stats.power import NormalIndPower

    from analytics.reports.experiments import analyse_csv, power

    example = Path(__file__).resolve().parents[2] / "analytics/ingest/examples/experiment.csv"
    result = analyse_csv(example, metric_type="proportion", control=None)
    planned = power(result, relative_lift=0.05)
    p1 = planned["baseline"]
    h = abs(2 * math.asin(math.sqrt(p1 * 1.05)) - 2 * math.asin(math.sqrt(p1)))
    n = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)
    assert planned["needed"] == math.ceil(n)
    assert planned["n"] == 12000
