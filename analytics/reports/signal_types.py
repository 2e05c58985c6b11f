"""The records :mod:`analytics.reports.signals` returns: one open signal, and the report of all
open signals at a moment under a rules version (the outbox and the Signals page read these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Signal:
    """One open signal."""

    rule: str
    kind: str
    severity: str
    subject: str
    period: str
    service: str | None
    team: str
    title: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """rule | subject | period: the same finding is notified once."""
        return f"{self.rule}|{self.subject}|{self.period}"

    def record(self) -> dict[str, Any]:
        """The signal as a plain dict (JSON, webhook body, page row)."""
        return {"dedup_key": self.dedup_key, "rule": self.rule, "kind": self.kind,
                "severity": self.severity, "subject": self.subject, "period": self.period,
                "service": self.service, "team": self.team, "title": self.title,
                "summary": self.summary, "evidence": self.evidence}


@dataclass(frozen=True)
class SignalReport:
    """The open signals at ``at`` under ``rules`` (version), and notes on rules with no data."""

    at: datetime
    rules_version: int
    signals: list[Signal]
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Signals per kind, every kind of an enabled rule listed (zeros included)."""
        out: dict[str, int] = {}
        for s in self.signals:
            out[s.kind] = out.get(s.kind, 0) + 1
        return out
