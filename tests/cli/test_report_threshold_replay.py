"""`report threshold-replay` on the demo, checked against a plain state-machine replay in Python
over the samples read with plain SQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from analytics.cli import main

STEP = timedelta(minutes=5)


def _utc(value) -> datetime:  # noqa: ANN001
    """A naive UTC datetime from what the driver returns (text on SQLite, aware on PostgreSQL)."""
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _reference(engine, service: str, thr: float, window: int, for_: timedelta,  # noqa: ANN001
               cooldown: timedelta) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT x.ts, sum(x.total - x.good), sum(x.total) FROM sli_sample x "
            "JOIN slo o ON o.id = x.slo_id JOIN service s ON s.id = o.service_id "
            "WHERE s.name = :s GROUP BY x.ts ORDER BY x.ts"), {"s": service}).all()
        inc = conn.execute(text(
            "SELECT i.opened_at, i.resolved_at FROM incident i JOIN service s ON s.id = i.service_id "
            "WHERE s.name = :s AND i.environment = 'production'"), {"s": service}).all()
    ts = [_utc(r[0]) for r in rows]
    bad, tot = [float(r[1]) for r in rows], [float(r[2]) for r in rows]
    alerts, pending, firing, quiet_until, start = [], None, False, datetime.min, None
    for i, t in enumerate(ts):
        now = t + STEP  # a bucket is evaluated when it closes
        b, n = sum(bad[max(i - window + 1, 0):i + 1]), sum(tot[max(i - window + 1, 0):i + 1])
        cond = i >= window - 1 and n > 0 and b / n > thr
        if not cond:
            if firing:
                alerts.append((start, now))
                quiet_until = now + cooldown
            pending, firing = None, False
            continue
        pending = pending or now
        if not firing and now - pending >= for_ and now >= quiet_until:
            firing, start = True, now
    if firing:
        alerts.append((start, ts[-1] + STEP))
    end = ts[-1] + STEP
    incidents = [(_utc(o), _utc(r) if r else end) for o, r in inc]
    incidents = [(o, r) for o, r in incidents if o < end and r > ts[0]]
    return alerts, incidents


@pytest.mark.parametrize(("thr", "window", "for_", "cooldown"), [
    (0.05, "15m", "5m", "30m"), (0.01, "5m", "0", "0"), (0.002, "10m", "10m", "1h")])
def test_matches_reference_replay(demo_engine, capsys, thr: float, window: str, for_: str,  # noqa: ANN001
                                  cooldown: str) -> None:
    url = demo_engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "report", "threshold-replay", "--metric", "error_rate",
                 "--service", "accounts", "--threshold", str(thr), "--window", window, "--for", for_,
                 "--cooldown", cooldown, "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    minutes = {"0": 0, "5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60}
    alerts, incidents = _reference(demo_engine, "accounts", thr, minutes[window] // 5,
                                   timedelta(minutes=minutes[for_]), timedelta(minutes=minutes[cooldown]))
    got = [(datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"])) for a in out["alert_intervals"]]
    assert got == alerts and out["alerts"] == len(alerts)
    true_alerts = [a for a in alerts if any(a[0] < r and a[1] > o for o, r in incidents)]
    caught = [(o, r) for o, r in incidents if any(a[0] < r and a[1] > o for a in alerts)]
    assert out["precision"] == pytest.approx(len(true_alerts) / len(alerts))
    assert out["recall"] == pytest.approx(len(caught) / len(incidents))
    assert len(out["missed_incidents"]) == len(incidents) - len(caught)
    assert len(out["false_alerts"]) == len(alerts) - len(true_alerts)
    delays = sorted(max((min(a[0] for a in alerts if a[0] < r and a[1] > o) - o).total_seconds() / 60, 0)
                    for o, r in caught)
    mid = len(delays) // 2
    median = delays[mid] if len(delays) % 2 else (delays[mid - 1] + delays[mid]) / 2
    assert out["detection_delay_minutes"]["median"] == pytest.approx(median, abs=1e-6)
    # the demo holds exactly 90 days of 5-minute samples: 90/7 weeks
    assert out["alerts_per_week"] == pytest.approx(len(alerts) / (90 / 7))
    off = [a for a in alerts if a[0].weekday() >= 5 or not 8 <= a[0].hour < 18]
    assert out["off_hours_alerts"] == len(off)


def test_lower_threshold_more_alerts_and_recall(demo_engine, capsys) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    res = []
    for thr in ("0.2", "0.002"):
        main(["--db", url, "report", "threshold-replay", "--service", "accounts", "--threshold", thr,
              "--window", "15m", "--incidents", "outage", "--format", "json"])
        res.append(json.loads(capsys.readouterr().out))
    assert res[1]["alerts"] > res[0]["alerts"] and res[1]["recall"] >= res[0]["recall"]
    # Bootstrap intervals bracket each point estimate; one alert-or-incident-free side is None.
    for out in res:
        for name in ("precision", "recall"):
            interval = out["intervals_95"][name]
            if out[name] is None or interval is None:
                continue
            lo, hi = interval
            assert 0.0 <= lo <= out[name] <= hi <= 1.0
        n_true = sum(a["true_alert"] for a in out["alert_intervals"])
        if out["alerts"] and n_true in (0, out["alerts"]):  # all alike: no spread to resample
            assert out["intervals_95"]["precision"] == [n_true / out["alerts"]] * 2


@pytest.mark.parametrize(("args", "message"), [
    (["--service", "nope", "--threshold", "0.1"], "unknown service nope (--service)"),
    (["--service", "accounts", "--threshold", "0.1", "--window", "7m"], "window"),
])
def test_bad_input_exit_2(demo_engine, capsys, args: list[str], message: str) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "report", "threshold-replay", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_bad_duration_is_a_usage_error(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        main(["report", "threshold-replay", "--service", "a", "--threshold", "0.1", "--window", "fast"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--window: invalid duration 'fast'" in err and err.count("\n") == 1
