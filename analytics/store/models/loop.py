"""Closing the loop: the notification outbox (written by :mod:`analytics.loop.outbox`).

One row per notification per channel. ``dedup_key`` (rule | subject | period) with ``channel``
is unique, so evaluating the rules again never queues — or sends — the same notification twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

OUTBOX_STATES = ("pending", "sent", "failed")


class NotificationOutbox(SQLModel, table=True):
    """A notification of one signal to one channel, and how its delivery went."""

    __tablename__ = "notification_outbox"
    __table_args__ = (UniqueConstraint("dedup_key", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=400, index=True)
    rule: str = Field(max_length=120)
    kind: str = Field(max_length=40, index=True)
    subject: str = Field(max_length=240)
    period: str = Field(max_length=40)
    team: str = Field(max_length=120, index=True)
    channel: str = Field(max_length=120)
    channel_type: str = Field(max_length=20)
    rules_version: int = 1
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str | None = None
    payload: str = "{}"  # the signal as JSON (what every channel renders from)
    created_at: datetime
    sent_at: datetime | None = None
