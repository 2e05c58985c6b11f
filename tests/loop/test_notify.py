"""notify run: signals on a planted store (numbers computed by hand), delivery to a real local
HTTP receiver and SMTP server, retry after a 500, a rerun sending nothing, dry runs writing
nothing, configuration errors exiting 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.loop import channels as ch
from analytics.loop import signals_rules
from analytics.loop.signals_stats import sla_projection
from analytics.reports.signals import open_signals
from tests.loop.test_notify_support import (AT, audit_files, channels_toml,  # noqa: F401
                                            mailbox, plant, receiver)  # fixtures by name

SECRETS = {"TEST_SNOW_PASSWORD": "s3cret", "TEST_JIRA_TOKEN": "tok-1"}


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _run(engine, capsys, *argv: str) -> tuple[int, dict]:
    code = main(["--db", _url(engine), "notify", "run", "--at", AT.isoformat(),
                 "--format", "json", *argv])
    out = capsys.readouterr().out
    return code, (json.loads(out) if code == 0 else {})


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


@pytest.fixture
def setup(engine, receiver, mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    plant(engine)
    path = tmp_path / "channels.toml"
    path.write_text(channels_toml(receiver.url, mailbox.port))
    return engine, receiver, mailbox, str(path)


def test_planted_signals_with_hand_computed_evidence(engine):
    plant(engine)
    report = open_signals(engine, signals_rules.load(), at=AT)
    assert report.counts() == {"slo_burn_during_deploy": 1, "sla_at_risk": 1, "sla_breached": 1,
                               "kpi_worsening": 1, "budget_exhausted": 1,
                               "outage_without_postmortem": 1}
    by = {s.kind: s for s in report.signals}
    # December so far = 9 days = 12,960 min, December = 31 days = 44,640 min.
    risk = by["sla_at_risk"].evidence
    assert risk["projected_uptime_pct"] == round((1 - 20 / 12960) * 100, 4) == 99.8457
    assert risk["best_case_uptime_pct"] == round((1 - 20 / 44640) * 100, 4) == 99.9552
    assert risk["allowance_minutes"] == pytest.approx(44640 * 0.001)
    breach = by["sla_breached"]
    assert (breach.subject, breach.team) == ("acme:idp", "identity")
    assert breach.evidence["best_case_uptime_pct"] == round((1 - 60 / 44640) * 100, 4) == 99.8656
    kpi = by["kpi_worsening"]
    assert (kpi.subject, kpi.period) == ("idp:change_failure_rate", "2026-11")
    assert [p["value"] for p in kpi.evidence["series"]] == [0.04, 0.10, 0.20, 0.40]
    from statsmodels.stats.proportion import proportions_ztest  # a second implementation

    _, p = proportions_ztest([20, 2], [50, 50], alternative="larger")
    assert kpi.evidence["p_value"] == pytest.approx(p, abs=1e-6)
    burn = by["slo_burn_during_deploy"]
    assert (burn.subject, burn.period) == ("pay:pay-42", "2026-12-09")
    assert burn.evidence["alerts"] == ["pay-availability: page 2% in 1h",
                                       "pay-availability: page 5% in 6h"]
    # SLI 0.8 against 0.99: consumed 0.2 / 0.01 = 20, remaining −19.
    assert by["budget_exhausted"].evidence["budget_remaining"] == pytest.approx(-19)
    assert by["outage_without_postmortem"].subject == "pay:INC1"


def test_three_drops_without_significance_are_not_a_signal(engine):
    """CFR 1/50 → 2/50 → 3/50 → 4/50 is worse three months running, but 1/50 vs 4/50 is not
    significant (one-sided p ≈ 0.18): no kpi_worsening signal."""
    from sqlmodel import Session

    from analytics.store.models import Deployment

    plant(engine)
    with Session(engine) as s:
        for d in s.exec(__import__("sqlmodel").select(Deployment).where(Deployment.service_id == 2)):
            month, i = d.finished_at.month, (d.id - 1) % 50
            d.status = "failed" if i % 2 == 0 and i < 2 * (month - 7) else "success"
            s.add(d)
        s.commit()
    report = open_signals(engine, signals_rules.load(), at=AT)
    assert "kpi_worsening" not in report.counts()


def test_projection_is_linear():
    # 10 days into a 30-day month, 20 minutes down.
    assert sla_projection(20, 14400, 43200) == pytest.approx((99.86111, 99.95370), abs=1e-5)


def test_run_delivers_to_every_channel_and_a_rerun_sends_nothing(setup, capsys):
    engine, receiver, mailbox, channels = setup
    receiver.fail_once.add("/hook")  # the first webhook POST gets a 500, the retry a 200
    code, out = _run(engine, capsys, "--channels", channels)
    assert code == 0
    # payments: 4 signals × (hook, slack, mail, snow); identity: 2 × (jira, hook).
    assert out["queued"] == {"total": 20, "hook": 6, "slack": 4, "mail": 4, "snow": 4, "jira": 2}
    assert out["sent"]["total"] == 20 and out["failed"]["total"] == 0
    hooks = receiver.bodies("/hook")
    assert len(hooks) == 6 and len([r for r in receiver.requests if r["status"] == 500]) == 1
    assert {h["kind"] for h in hooks} == {"slo_burn_during_deploy", "sla_at_risk",
                                          "sla_breached", "kpi_worsening", "budget_exhausted",
                                          "outage_without_postmortem"}
    assert all(h["source"] == "service-level-workbench" for h in hooks)
    slack = receiver.bodies("/slack")
    assert any(b["text"].startswith("[ticket] SLA acme: pay is projected to end below 99.9%")
               for b in slack)
    assert all(b["blocks"][0]["type"] == "header" for b in slack)
    snow = receiver.bodies("/snow/api/now/table/incident")
    assert len(snow) == 4 and {s["assignment_group"] for s in snow} == {"payments"}
    page = next(s for s in snow if s["correlation_id"].startswith("burn-during-deploy|"))
    assert (page["urgency"], page["cmdb_ci"], page["caller_id"]) == ("1", "pay", "slw")
    auth = next(r for r in receiver.requests if r["path"].startswith("/snow"))["headers"]
    assert auth["Authorization"].startswith("Basic ")
    jira = receiver.bodies("/jira/rest/api/2/issue")
    assert {j["fields"]["project"]["key"] for j in jira} == {"OPS"}
    assert sorted(j["fields"]["summary"] for j in jira) == [
        "Change failure rate of idp worse 3 months running",
        "SLA acme: idp will end below 99.9% in 2026-12"]
    assert next(r for r in receiver.requests if r["path"].startswith("/jira"))["headers"][
        "Authorization"] == "Bearer tok-1"
    assert len(mailbox.messages) == 4
    rcpt, msg = next(m for m in mailbox.messages if "no post-mortem" in m[1]["Subject"])
    assert rcpt == ["payments-oncall@example.org"]
    assert msg["Subject"] == "[ticket] Outage INC1 of pay has no post-mortem"
    retried = _scalar(engine, "SELECT attempts FROM notification_outbox WHERE channel = 'hook' "
                              "ORDER BY id LIMIT 1")
    assert retried == 2
    assert _scalar(engine, "SELECT count(*) FROM audit_log WHERE action = "
                           "'notification.delivered'") == 20
    # A rerun: the same signals, nothing new queued, nothing sent.
    before = len(receiver.requests), len(mailbox.messages)
    code, again = _run(engine, capsys, "--channels", channels)
    assert code == 0 and again["queued"] == {"total": 0} and again["sent"] == {"total": 0}
    assert again["already_in_outbox"] == 20
    assert (len(receiver.requests), len(mailbox.messages)) == before


def test_dry_run_writes_and_sends_nothing(setup, capsys):
    engine, receiver, mailbox, channels = setup
    code, out = _run(engine, capsys, "--channels", channels, "--dry-run")
    assert code == 0 and out["would_queue"]["total"] == 20
    assert out["signals"]["total"] == 6
    assert _scalar(engine, "SELECT count(*) FROM notification_outbox") == 0
    assert _scalar(engine, "SELECT count(*) FROM audit_log") == 0
    assert receiver.requests == [] and mailbox.messages == []


def test_delivery_failure_is_reported_not_fatal_and_retried_next_run(setup, capsys):
    engine, receiver, mailbox, channels = setup
    receiver.fail_always.add("/jira/rest/api/2/issue")
    code, out = _run(engine, capsys, "--channels", channels)
    assert code == 0 and out["failed"] == {"total": 2, "jira": 2}
    assert {e["attempts"] for e in out["errors"]} == {3}  # retry.attempts in the test file
    assert all("HTTP 500" in e["error"] for e in out["errors"])
    assert _scalar(engine, "SELECT count(*) FROM audit_log WHERE action = "
                           "'notification.failed'") == 2
    receiver.fail_always.clear()
    code, again = _run(engine, capsys, "--channels", channels)
    assert again["sent"] == {"total": 2, "jira": 2}
    assert _scalar(engine, "SELECT max(attempts) FROM notification_outbox "
                           "WHERE channel = 'jira'") == 4


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t.replace("[retry]", "[retry"), "is not valid TOML"),
    (lambda t: t.replace('channels = ["jira", "hook"]', 'channels = ["pager"]'),
     "team 'identity': field 'channels': unknown channel 'pager'"),
    (lambda t: t.replace('type = "webhook"\nurl', 'type = "webhook"\nuri'),
     "channel 'hook': field 'uri' is not a setting of a webhook channel"),
    (lambda t: t.replace('token_env = "TEST_JIRA_TOKEN"', 'token_env = "NOT_SET_ANYWHERE"'),
     "channel 'jira': field 'token_env': environment variable 'NOT_SET_ANYWHERE' is not set"),
    (lambda t: t.replace('type = "slack"', 'type = "pigeon"'), "unknown channel type 'pigeon'"),
])
def test_configuration_errors_exit_2_naming_the_field(setup, capsys, edit, needle):
    engine, receiver, _, channels = setup
    Path(channels).write_text(edit(Path(channels).read_text()))
    code = main(["--db", _url(engine), "notify", "run", "--channels", channels])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
    assert receiver.requests == []


def test_rule_errors_name_the_rule_and_field(tmp_path: Path, engine, capsys):
    bad = tmp_path / "rules.toml"
    bad.write_text('version = 1\n[[rule]]\nname = "late"\nkind = "outage_without_postmortem"\n'
                   'after_days = 0\n')
    code = main(["--db", _url(engine), "notify", "run", "--dry-run", "--rules", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "rule 'late': field 'after_days' must be at least 1" in err
    with pytest.raises(signals_rules.ConfigError, match="rule 'x': field 'window' is not a "
                                                        "parameter of budget_exhausted"):
        signals_rules.parse({"version": 1, "rule": [{"name": "x", "kind": "budget_exhausted",
                                                      "window": 3}]})
    with pytest.raises(signals_rules.ConfigError, match="field 'version'"):
        signals_rules.parse({"rule": [{"name": "x", "kind": "budget_exhausted"}]})


def test_shipped_files_load_and_backoff_is_exponential():
    rules = signals_rules.load()
    assert rules.version == 1 and {r.kind for r in rules.rules} == set(signals_rules.KINDS)
    config = ch.load(env={})
    assert [config.retry.delay(k) for k in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert config.route("no-such-team", "sla_breached")[1][0].name == "ops-webhook"
