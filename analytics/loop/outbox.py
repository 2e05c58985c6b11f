"""The notification outbox: queue each signal once per channel, then deliver with retries.

:func:`enqueue` writes one ``notification_outbox`` row per (signal, channel of its team's
route) that does not exist yet — the dedup key is rule | subject | period, so evaluating the
same store again queues nothing. :func:`deliver` sends every row still ``pending`` (or
``failed`` in an earlier run) with up to ``retry.attempts`` attempts and exponential backoff,
and commits each outcome with its audit entry (``notification.delivered`` /
``notification.failed``) before the next, so a crash never re-sends what was delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from analytics.governance.events import NotificationDeliveredEvent, NotificationFailedEvent
from analytics.loop.channels import ChannelConfig, DeliveryError, send
from analytics.reports.signals import SignalReport
from analytics.store import audit
from analytics.store.models import NotificationOutbox


@dataclass
class Plan:
    """What the signals need: new (signal record, channel name, type) rows, rows that exist,
    and signals no route sends anywhere."""

    new: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)
    existing: int = 0
    unrouted: list[str] = field(default_factory=list)

    def per_channel(self) -> dict[str, int]:
        """New rows per channel."""
        out: dict[str, int] = {}
        for _, channel, _ in self.new:
            out[channel] = out.get(channel, 0) + 1
        return out


def plan(session: Session, report: SignalReport, config: ChannelConfig) -> Plan:
    """The rows :func:`enqueue` would write (reads only: what ``--dry-run`` shows)."""
    have = {(r.dedup_key, r.channel) for r in session.exec(select(NotificationOutbox))}
    out = Plan()
    for signal in report.signals:
        _, channels = config.route(signal.team, signal.kind)
        if not channels:
            out.unrouted.append(signal.dedup_key)
        for ch in channels:
            if (signal.dedup_key, ch.name) in have:
                out.existing += 1
            else:
                out.new.append((signal.record(), ch.name, ch.type))
    return out


def enqueue(*, session: Session, report: SignalReport, config: ChannelConfig,
            now: datetime | None = None) -> Plan:
    """Write the new outbox rows (state pending) in the caller's transaction; return the plan."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    todo = plan(session, report, config)
    for record, channel, kind in todo.new:
        session.add(NotificationOutbox(
            dedup_key=record["dedup_key"], rule=record["rule"], kind=record["kind"],
            subject=record["subject"], period=record["period"], team=record["team"],
            channel=channel, channel_type=kind, rules_version=report.rules_version,
            payload=json.dumps(record, default=str, sort_keys=True), created_at=now))
    session.flush()
    return todo


@dataclass(frozen=True)
class Delivery:
    """The outcome of one outbox row in this run."""

    id: int
    channel: str
    kind: str
    state: str
    attempts: int
    error: str | None


def deliver(*, session: Session, config: ChannelConfig, actor: str,
            sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Send every pending or failed row whose channel is configured; commit each outcome with
    its audit entry. Rows of channels no longer configured are left as they are."""
    rows = session.exec(select(NotificationOutbox)
                        .where(NotificationOutbox.state.in_(("pending", "failed")))  # type: ignore[attr-defined]
                        .order_by(NotificationOutbox.id)).all()  # type: ignore[arg-type]
    out = []
    for row in rows:
        channel = config.channels.get(row.channel)
        if channel is None:
            continue
        signal = json.loads(row.payload)
        route, _ = config.route(row.team, row.kind)
        error = None
        for attempt in range(1, config.retry.attempts + 1):
            row.attempts += 1
            try:
                send(channel, signal, to=route.email if route else (),
                     timeout=config.retry.timeout)
                error = None
                break
            except DeliveryError as exc:
                error = str(exc)
                if attempt < config.retry.attempts:
                    sleep(config.retry.delay(attempt))
        now = datetime.now(UTC).replace(microsecond=0)
        row.state, row.last_error = ("failed", error) if error else ("sent", None)
        if not error:
            row.sent_at = now
        session.add(row)
        detail = {"dedup_key": row.dedup_key, "channel": row.channel,
                  "channel_type": row.channel_type, "kind": row.kind, "team": row.team,
                  "attempts": row.attempts}
        event = (NotificationFailedEvent(actor=actor, entity_id=str(row.id),
                                         detail={**detail, "error": error}) if error else
                 NotificationDeliveredEvent(actor=actor, entity_id=str(row.id), detail=detail))
        audit.record(session, event)
        session.commit()
        out.append(Delivery(id=row.id or 0, channel=row.channel, kind=row.kind, state=row.state,
                            attempts=row.attempts, error=error))
    return out


def outbox_frame(session: Session) -> list[dict[str, Any]]:
    """Every outbox row as a dict (for the page and tests), oldest first."""
    rows = session.exec(select(NotificationOutbox).order_by(NotificationOutbox.id)).all()  # type: ignore[arg-type]
    return [r.model_dump() for r in rows]
