"""Support for the notify tests (no tests here): audit key files in the test's folder, a real
HTTP receiver and SMTP server on loopback, a small store with one planted signal of every kind.

A module of its own rather than tests/loop/conftest.py (the improvement register's tests share
the folder): the test modules import these fixtures by name."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

AT = datetime(2026, 12, 10)  # the evaluation instant of the planted store


@pytest.fixture(autouse=True)
def audit_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(tmp_path / "audit.audit-key"))
    monkeypatch.setenv("WORKBENCH_AUDIT_CHECKPOINT_FILE", str(tmp_path / "audit.checkpoints"))
    monkeypatch.delenv("WORKBENCH_AUDIT_KEY", raising=False)


class Receiver:
    """What the local HTTP server received; ``fail_once`` paths answer 500 the first time,
    ``fail_always`` paths always."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_once: set[str] = set()
        self.fail_always: set[str] = set()
        self.lock = threading.Lock()
        self.url = ""

    def bodies(self, prefix: str) -> list[Any]:
        """JSON bodies of the successful requests whose path starts with ``prefix``."""
        return [r["body"] for r in self.requests if r["path"].startswith(prefix)
                and r["status"] < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with rec.lock:
                status = 200
                if self.path in rec.fail_always:
                    status = 500
                elif self.path in rec.fail_once:
                    rec.fail_once.discard(self.path)
                    status = 500
                if self.path.endswith("/api/now/table/incident") or self.path.endswith("/issue"):
                    status = 201 if status == 200 else status
                rec.requests.append({"path": self.path, "status": status, "body": body,
                                     "headers": dict(self.headers)})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


class Mailbox:
    """Messages the local SMTP server accepted: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        from email import message_from_bytes

        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as s:  # a free loopback port (aiosmtpd's readiness check needs one)
        s.bind(("127.0.0.1", 0))
        box.port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


def channels_toml(url: str, smtp_port: int, *, attempts: int = 3) -> str:
    """A channels file routing payments to webhook, Slack, e-mail and ServiceNow, identity to
    Jira and the webhook."""
    return f"""
version = 1
[retry]
attempts = {attempts}
base_delay_seconds = 0.001
factor = 2.0
timeout_seconds = 5
[channel.hook]
type = "webhook"
url = "{url}/hook"
[channel.slack]
type = "slack"
url = "{url}/slack"
[channel.mail]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
from = "workbench@example.org"
[channel.snow]
type = "servicenow"
base_url = "{url}/snow"
user = "workbench"
password_env = "TEST_SNOW_PASSWORD"
caller_id = "slw"
[channel.jira]
type = "jira"
base_url = "{url}/jira"
project = "OPS"
token_env = "TEST_JIRA_TOKEN"
[team.payments]
channels = ["hook", "slack", "mail", "snow"]
email = ["payments-oncall@example.org"]
[team.identity]
channels = ["jira", "hook"]
"""


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def plant(engine: Engine) -> None:
    """Services pay (payments) and idp (identity) with one signal of each kind at :data:`AT`.

    - idp: 50 deployments a month Aug–Nov 2026, failing 2, 5, 10, 20 (CFR worse three months
      running; 2/50 vs 20/50 significant); failures never back to back, so recovery stays 12 h.
    - pay: SLO 99% (rolling 30 d) with 80/100 good per 5 minutes over the last 3 days (burn 20) (budget
      exhausted, page alerts firing) and a deployment 24 h before AT (burn during deploy).
    - SLA contract (UTC, 99.9%) on pay and idp: in December pay is down 20 min (at risk),
      idp 60 min (breach certain).
    - pay: a customer-facing outage incident on 2026-11-30 without a post-mortem.
    """
    from analytics.store.models import (Deployment, Incident, Outage, Service, SlaContract,
                                        SliSample, Slo)

    with Session(engine) as s:
        s.add(Service(id=1, name="pay", external_id="pay", team="payments", tier="gold"))
        s.add(Service(id=2, name="idp", external_id="idp", team="identity", tier="gold"))
        s.flush()
        dep = 0
        for month, failures in ((8, 2), (9, 5), (10, 10), (11, 20)):
            for i in range(50):
                dep += 1
                at = datetime(2026, month, 1, 6) + timedelta(hours=12 * i)
                s.add(Deployment(id=dep, service_id=2, external_id=f"d{dep}",
                                 started_at=_aware(at - timedelta(minutes=10)),
                                 finished_at=_aware(at),
                                 status="failed" if i % 2 == 0 and i < 2 * failures else "success"))
        s.add(Deployment(id=1000, service_id=1, external_id="pay-42", version="pay@42",
                         started_at=_aware(AT - timedelta(hours=24, minutes=5)),
                         finished_at=_aware(AT - timedelta(hours=24)), status="success"))
        s.add(Slo(id=1, name="pay-availability", external_id="pay-availability", service_id=1,
                  target=0.99, window_kind="rolling", window_days=30))
        s.flush()  # samples reference the SLO (no ORM relationship orders the inserts)
        for k in range(72 * 12):  # 5-minute buckets: the page pairs' short windows need them
            s.add(SliSample(slo_id=1, ts=_aware(AT - timedelta(minutes=5 * (72 * 12 - k))),
                            good=80, total=100))
        s.add(SlaContract(name="acme", customer="ACME", services='["pay", "idp"]', tier="gold",
                          target_pct=99.9, timezone="UTC",
                          effective_from=_aware(datetime(2026, 1, 1)),
                          credits='[{"below_pct": 99.9, "credit_pct": 10}]', monthly_fee=1000))
        s.add(Outage(service_id=1, external_id="o1", start=_aware(datetime(2026, 12, 3, 10)),
                     end=_aware(datetime(2026, 12, 3, 10, 20))))
        s.add(Outage(service_id=2, external_id="o2", start=_aware(datetime(2026, 12, 4, 10)),
                     end=_aware(datetime(2026, 12, 4, 11))))
        s.add(Incident(id=1, service_id=1, external_id="INC1", severity=1,
                       opened_at=_aware(datetime(2026, 11, 30, 10)),
                       resolved_at=_aware(datetime(2026, 11, 30, 10, 30)),
                       customer_facing=True, outage=True, title="card payments down"))
        s.commit()
