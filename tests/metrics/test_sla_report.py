"""The monthly SLA compliance report: its inputs add up to its totals, by hand (REFERENCE §3)."""

from __future__ import annotations

import io
from datetime import date, datetime

import polars as pl
import pytest

from analytics.metrics.sla import Contract, CreditBand, sla_report
from analytics.metrics.sla_report import sla_details, to_csv, to_html, version_for

LADDER = (CreditBand(99.95, 10), CreditBand(99.0, 30), CreditBand(95.0, 100))
MAINTENANCE_SCHEMA = {"service": pl.String, "start": pl.Datetime("us"),
                      "end": pl.Datetime("us"), "kind": pl.String, "recurrence": pl.String,
                      "description": pl.String}


def empty_maintenance() -> pl.DataFrame:
    """No maintenance windows, typed as the SLA metrics take them."""
    return pl.DataFrame(schema=MAINTENANCE_SCHEMA)


def _contract(mode: str = "exclude", third: bool = False, **kw) -> Contract:
    base = dict(name="acme-gold", customer="ACME", services=("checkout",), tier="gold",
                target_pct=99.95, effective_from=date(2026, 1, 1), timezone="UTC",
                exclusion_mode=mode, exclude_third_party=third, monthly_fee=1000.0,
                credits=LADDER, escalation="account-manager")
    return Contract(**{**base, **kw})


def _outages(*spans: tuple[datetime, datetime, str]) -> pl.DataFrame:
    return pl.DataFrame({"service": ["checkout"] * len(spans), "start": [s[0] for s in spans],
                         "end": [s[1] for s in spans], "cause": [s[2] for s in spans]},
                        schema={"service": pl.String, "start": pl.Datetime("us"),
                                "end": pl.Datetime("us"), "cause": pl.String})


def _maintenance(start: datetime, end: datetime, recurrence: str | None = None,
                 kind: str = "scheduled") -> pl.DataFrame:
    return pl.DataFrame({"service": ["checkout"], "start": [start], "end": [end], "kind": [kind],
                         "recurrence": [recurrence], "description": ["patch window"]},
                        schema=empty_maintenance().schema)


# REFERENCE §3 example in April 2026 (30 days = 43,200 min, UTC contract): 240 min maintenance
# 02:00–06:00 on the 5th with 30 min of outage inside it (05:30–06:00), 60 min outside (12:00–13:00).
EXAMPLE_OUT = _outages((datetime(2026, 4, 5, 5, 30), datetime(2026, 4, 5, 6, 0), "internal"),
                       (datetime(2026, 4, 10, 12), datetime(2026, 4, 10, 13), "internal"))
EXAMPLE_MW = _maintenance(datetime(2026, 4, 5, 2), datetime(2026, 4, 5, 6))


@pytest.mark.parametrize(("mode", "uptime", "downtime"), [
    ("exclude", 99.8603, 60.0),       # (43,200 − 240 − 60) ÷ (43,200 − 240) = 42,900 ÷ 42,960
    ("count_as_up", 99.8611, 60.0),   # (43,200 − 60) ÷ 43,200
])
def test_reference_example_details_add_up(mode: str, uptime: float, downtime: float) -> None:
    c = _contract(mode)
    report = sla_report([c], EXAMPLE_OUT, EXAMPLE_MW, 2026, 4)
    excl, down = sla_details(report, [c], EXAMPLE_OUT, EXAMPLE_MW)
    row = report.row(0, named=True)
    assert row["uptime_pct"] == pytest.approx(uptime, abs=5e-5)
    assert excl.select("reason", "minutes", "counted_minutes").rows() == [("scheduled", 240.0, 240.0)]
    assert down.select("minutes", "inside_exclusion_minutes", "counted_minutes").rows() == [
        (30.0, 30.0, 0.0), (60.0, 0.0, 60.0)]
    assert down["counted_minutes"].sum() == row["downtime_minutes"] == downtime
    # 99.86% is below 99.95 and not below 99.0 → 10% of 1,000 EUR.
    assert (row["credit_pct"], row["credit_amount"]) == (10.0, 100.0)


def test_duplicate_and_overlapping_outages_count_once() -> None:
    # Same 60 min twice (an outage and its incident) plus 12:30–14:00 overlapping by 30 min:
    # union 12:00–14:00 = 120 min; counted 60 + 0 + 60.
    c = _contract()
    out = _outages((datetime(2026, 4, 10, 12), datetime(2026, 4, 10, 13), "internal"),
                   (datetime(2026, 4, 10, 12), datetime(2026, 4, 10, 13), "internal"),
                   (datetime(2026, 4, 10, 12, 30), datetime(2026, 4, 10, 14), "internal"))
    report = sla_report([c], out, empty_maintenance(), 2026, 4)
    _excl, down = sla_details(report, [c], out, empty_maintenance())
    assert down["already_counted_minutes"].to_list() == [0.0, 60.0, 30.0]
    assert down["counted_minutes"].to_list() == [60.0, 0.0, 60.0]
    assert report["downtime_minutes"][0] == 120.0


def test_recurring_window_and_third_party_outage_become_reasons() -> None:
    # Weekly Sunday 02:00–04:00 UTC from 2026-03-01: April 2026 Sundays 5, 12, 19, 26 → 4 × 120.
    # A 45-min third-party outage on the 20th is an exclusion when the contract says so.
    c = _contract(third=True)
    mw = _maintenance(datetime(2026, 3, 1, 2), datetime(2026, 3, 1, 4), "FREQ=WEEKLY;BYDAY=SU")
    out = _outages((datetime(2026, 4, 20, 9), datetime(2026, 4, 20, 9, 45), "third_party"))
    report = sla_report([c], out, mw, 2026, 4)
    excl, down = sla_details(report, [c], out, mw)
    assert excl["reason"].to_list() == ["scheduled"] * 3 + ["third_party", "scheduled"]
    assert [s.day for s in excl["start"]] == [5, 12, 19, 20, 26]  # in start order
    assert excl["counted_minutes"].sum() == report["excluded_minutes"][0] == 4 * 120 + 45
    assert down.height == 0 and report["downtime_minutes"][0] == 0.0


def test_csv_lists_every_input_and_the_summary() -> None:
    c = _contract()
    report = sla_report([c], EXAMPLE_OUT, EXAMPLE_MW, 2026, 4)
    excl, down = sla_details(report, [c], EXAMPLE_OUT, EXAMPLE_MW)
    frame = pl.read_csv(io.StringIO(to_csv(report, excl, down)), infer_schema=False)
    summary = dict(frame.filter(pl.col("section") == "summary").select("item", "value").rows())
    assert summary["period_minutes"] == "43200"
    assert summary["excluded_minutes"] == "240"
    assert summary["downtime_minutes"] == "60"
    assert float(summary["uptime_pct"]) == pytest.approx(42_900 / 42_960 * 100, abs=1e-6)
    assert summary["escalation"] == "account-manager" and summary["breached"] == "True"
    assert frame.filter(pl.col("section") == "exclusion").select(
        "reason", "start_utc", "end_utc", "minutes").rows() == [
        ("scheduled", "2026-04-05 02:00", "2026-04-05 06:00", "240")]
    assert frame.filter(pl.col("section") == "downtime")["counted_minutes"].to_list() == ["0", "60"]


def test_html_shows_the_formula_with_numbers_and_escapes_names() -> None:
    c = _contract(customer="A&B <Co>")
    report = sla_report([c], EXAMPLE_OUT, EXAMPLE_MW, 2026, 4)
    excl, down = sla_details(report, [c], EXAMPLE_OUT, EXAMPLE_MW)
    page = to_html(report, excl, down, "SLA compliance 2026-04")
    assert "(43,200.00 − 240.00 − 60.00) ÷ (43,200.00 − 240.00) × 100" in page
    assert "99.8603%" in page and "BREACHED" in page and "account-manager" in page
    assert "A&amp;B &lt;Co&gt;" in page and "A&B <Co>" not in page
    assert "100.00 EUR" in page and page.count("<tr>") == (1 + 5) + (1 + 1) + (1 + 2)  # inputs, exclusions, downtime


def test_empty_month_renders_a_note() -> None:
    report = sla_report([], _outages(), empty_maintenance(), 2026, 4)
    assert "No contract was in force" in to_html(report, pl.DataFrame(), pl.DataFrame(), "x")


def test_bad_inputs_name_the_field() -> None:
    c = _contract()
    report = sla_report([c], EXAMPLE_OUT, EXAMPLE_MW, 2026, 4)
    with pytest.raises(ValueError, match=r"outages: missing columns \['end'\]"):
        sla_details(report, [c], EXAMPLE_OUT.drop("end"), EXAMPLE_MW)
    with pytest.raises(ValueError, match="contract: unknown contract 'nope'"):
        version_for([c], "nope", datetime(2026, 4, 1), datetime(2026, 5, 1))
    with pytest.raises(ValueError, match="no version in force"):
        version_for([c], "acme-gold", datetime(2025, 4, 1), datetime(2025, 5, 1))


def test_csv_neutralises_formulas_in_user_text() -> None:
    # Contract, customer, escalation and window descriptions come from users: a cell a
    # spreadsheet would run (=, +, -, @) gets a leading quote; negative numbers stay numbers.
    c = _contract(name="=HYPERLINK(\"http://x\")", customer="@ACME", escalation="+call me")
    mw = EXAMPLE_MW.with_columns(description=pl.lit("-1+1 cmd|' /C calc'!A0"))
    report = sla_report([c], EXAMPLE_OUT, mw, 2026, 4)
    excl, down = sla_details(report, [c], EXAMPLE_OUT, mw)
    frame = pl.read_csv(io.StringIO(to_csv(report, excl, down)), infer_schema=False)
    assert set(frame["contract"]) == {"'=HYPERLINK(\"http://x\")"}
    assert set(frame["customer"]) == {"'@ACME"}
    summary = dict(frame.filter(pl.col("section") == "summary").select("item", "value").rows())
    assert summary["escalation"] == "'+call me"
    assert frame.filter(pl.col("section") == "exclusion")["note"].to_list() == [
        "'-1+1 cmd|' /C calc'!A0"]
    assert summary["uptime_pct"].startswith("99.86")  # numbers untouched


def _minute_set(start: datetime, end: datetime, lo: datetime, hi: datetime) -> set[int]:
    """Minutes (from ``lo``) of [start, end) inside [lo, hi)."""
    a, b = max(start, lo), min(end, hi)
    return set(range(int((a - lo).total_seconds() // 60), int((b - lo).total_seconds() // 60)))


@pytest.mark.parametrize("seed", range(6))
def test_details_and_uptime_match_minute_by_minute_counting(seed: int) -> None:
    """Random minute-aligned windows (recurring, one-off, for every service or one) and outages
    (overlapping, touching, third-party, across the month's edges) over three services:
    every uptime row and every detail row equals counting sets of minutes."""
    import random

    from datetime import timedelta

    rng = random.Random(seed)
    mode, third = ["exclude", "count_as_up", "none"][seed % 3], seed % 2 == 0
    services = ("checkout", "search", "login")
    c = _contract(mode, third, services=services)
    lo, hi = datetime(2026, 4, 1), datetime(2026, 5, 1)

    def span() -> tuple[datetime, datetime]:
        start = lo + timedelta(minutes=rng.randrange(-3000, 43_200 + 1000))
        return start, start + timedelta(minutes=rng.choice([0, 1, 30, 240, 2000, rng.randrange(1, 600)]))

    rows = []
    for _ in range(rng.randrange(3, 9)):
        s, e = span()
        rows.append({"service": rng.choice([None, *services]), "start": s, "end": max(e, s + timedelta(minutes=1)),
                     "kind": rng.choice(["scheduled", "customer", "force_majeure", "other"]),
                     "recurrence": rng.choice([None, None, "FREQ=WEEKLY;BYDAY=SU"]),
                     "description": f"w{len(rows)}"})
    mw = pl.DataFrame(rows, schema=MAINTENANCE_SCHEMA)
    out_rows = []
    for _ in range(rng.randrange(4, 14)):
        s, e = span()
        out_rows.append((rng.choice(services), s, e, rng.choice(["internal", "third_party"])))
    last = out_rows[-1]
    out_rows.append((last[0], last[2], last[2] + timedelta(minutes=45), "internal"))  # touching
    out = pl.DataFrame({"service": [r[0] for r in out_rows], "start": [r[1] for r in out_rows],
                        "end": [r[2] for r in out_rows], "cause": [r[3] for r in out_rows]},
                       schema={"service": pl.String, "start": pl.Datetime("us"),
                               "end": pl.Datetime("us"), "cause": pl.String})
    report = sla_report([c], out, mw, 2026, 4)
    excl, down = sla_details(report, [c], out, mw)
    from analytics.metrics.sla import expand_exclusions

    windows = expand_exclusions(mw, lo, hi, "UTC")
    kinds = {"scheduled", "customer", "force_majeure"} | ({"third_party"} if third else set())
    for service in services:
        mine = [w for w in windows.iter_rows(named=True)
                if (w["service"] in (None, service)) and w["kind"] in kinds]
        mine = [(w["kind"], w["start"], w["end"]) for w in mine]
        outs = [(s, e, cause) for svc, s, e, cause in out_rows if svc == service]
        if third:
            mine += [("third_party", s, e) for s, e, cause in outs if cause == "third_party"]
            outs = [o for o in outs if o[2] != "third_party"]
        # Exclusion rows: in start order, each counting the minutes no earlier row covered.
        seen: set[int] = set()
        want_excl = []
        for kind, s, e in sorted(mine, key=lambda w: w[1]):
            m = _minute_set(s, e, lo, hi)
            if m:
                want_excl.append((kind, float(len(m)), float(len(m - seen))))
                seen |= m
        got_excl = excl.filter(pl.col("service") == service)
        assert got_excl.select("reason", "minutes", "counted_minutes").rows() == want_excl
        excluded, counted_down, want_down = seen, set(), []
        for s, e, _cause in sorted(outs, key=lambda o: o[0]):
            m = _minute_set(s, e, lo, hi)
            if not m:
                continue
            new = m - counted_down
            want_down.append((float(len(m)), float(len(m & excluded)),
                              float(len(m & counted_down)),
                              float(len(new if mode == "none" else new - excluded))))
            counted_down |= m
        got_down = down.filter(pl.col("service") == service)
        assert got_down.select("minutes", "inside_exclusion_minutes", "already_counted_minutes",
                               "counted_minutes").rows() == want_down
        row = report.filter(pl.col("service") == service).row(0, named=True)
        period, ex = 43_200.0, (0.0 if mode == "none" else float(len(excluded)))
        outside = float(len(counted_down - excluded))
        assert row["excluded_minutes"] == float(len(excluded))
        assert row["downtime_minutes"] == (float(len(counted_down)) if mode == "none" else outside)
        uptime = {"exclude": (period - ex - outside) / (period - ex) * 100,
                  "count_as_up": (period - outside) / period * 100,
                  "none": (period - len(counted_down)) / period * 100}[mode]
        assert row["uptime_pct"] == pytest.approx(uptime, rel=1e-12)
