"""Audit events as small typed dataclasses (the datasette ``events.py`` pattern).

Every entry of the audit log is one of these: the class says what happened (``name``, the
``action`` column) and to what kind of thing (``entity``); the instance says who (``actor``),
which one (``entity_id``) and the particulars (``detail``). Every event is documented in
``analytics/governance/README.md`` (tests/governance/test_events.py fails when one is not).

>>> e = ImportEvent(actor="ana", entity_id="7", detail={"kind": "deployments"})
>>> (e.name, e.entity, e.entity_id)
('import', 'import_batch', '7')
>>> event_class("purge") is PurgeEvent
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base class: who did it, to which entity, with which particulars."""

    name: ClassVar[str] = ""
    entity: ClassVar[str] = ""
    actor: str
    entity_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ImportEvent(Event):
    """A file or dataset was imported (one ``import_batch``): kind, source, files, counts."""

    name = "import"
    entity = "import_batch"


@dataclass(frozen=True, kw_only=True)
class DefinitionSavedEvent(Event):
    """A new version of a KPI definition was saved (workshop): old → new thresholds, reason."""

    name = "kpi_threshold_changed"
    entity = "kpi_definition"


@dataclass(frozen=True, kw_only=True)
class DefinitionProposedEvent(Event):
    """A change to a KPI definition, thresholds, SLO or alert/rollback rule was proposed
    (``entity_id`` the proposal; detail: kind, key, old → new, reason)."""

    name = "definition.proposed"
    entity = "definition_proposal"


@dataclass(frozen=True, kw_only=True)
class DefinitionApprovedEvent(Event):
    """A second admin approved a proposal (detail: kind, key, version created, effective date)."""

    name = "definition.approved"
    entity = "definition_proposal"


@dataclass(frozen=True, kw_only=True)
class DefinitionRejectedEvent(Event):
    """A second admin rejected a proposal (detail: kind, key, the reason given)."""

    name = "definition.rejected"
    entity = "definition_proposal"


@dataclass(frozen=True, kw_only=True)
class SloVersionEvent(Event):
    """An import changed or added SLOs: each gets a new version, the old ones are kept
    (detail: name → version)."""

    name = "slo.version"
    entity = "slo_version"


@dataclass(frozen=True, kw_only=True)
class ContractChangeEvent(Event):
    """An SLA contract version was added or changed outside an import."""

    name = "contract.change"
    entity = "sla_contract"


@dataclass(frozen=True, kw_only=True)
class AgreementDecommissionEvent(Event):
    """An agreement was decommissioned and its monitoring rules retired."""

    name = "agreement.decommission"
    entity = "agreement"


@dataclass(frozen=True, kw_only=True)
class VendorAttributeEvent(Event):
    """Third-party outages were linked to the vendors providing the service's component."""

    name = "vendor.attribute"
    entity = "vendor_outage"


@dataclass(frozen=True, kw_only=True)
class RoleChangeEvent(Event):
    """A person's role was granted or withdrawn."""

    name = "role.change"
    entity = "user"


@dataclass(frozen=True, kw_only=True)
class ExportEvent(Event):
    """Data left the workbench as a file (CSV, OpenSLO, evidence pack)."""

    name = "export"
    entity = "export"


@dataclass(frozen=True, kw_only=True)
class PurgeEvent(Event):
    """The retention policy ran with ``--apply``: rows redacted per table and the cut-offs."""

    name = "purge"
    entity = "store"


@dataclass(frozen=True, kw_only=True)
class SnapshotEvent(Event):
    """A month's reports were archived as a snapshot (its id, month and input hash)."""

    name = "snapshot"
    entity = "snapshot"


@dataclass(frozen=True, kw_only=True)
class LoginEvent(Event):
    """A person signed in to the app."""

    name = "login"
    entity = "user"


@dataclass(frozen=True, kw_only=True)
class AttributeEvent(Event):
    """Incident → deployment links were recomputed and stored (window, counts per rule)."""

    name = "attribute"
    entity = "incident_attribution"


@dataclass(frozen=True, kw_only=True)
class DemoLoadEvent(Event):
    """The demo organisation was loaded into an empty store (seed, rows)."""

    name = "demo.load"
    entity = "store"


@dataclass(frozen=True, kw_only=True)
class ServiceConfirmEvent(Event):
    """Services an import created were confirmed by a person."""

    name = "service.confirm"
    entity = "service"


@dataclass(frozen=True, kw_only=True)
class ImprovementAddEvent(Event):
    """An improvement was added to the continual-improvement register (its fields, risk score)."""

    name = "improvement.add"
    entity = "improvement"


@dataclass(frozen=True, kw_only=True)
class ImprovementUpdateEvent(Event):
    """An improvement of the register changed: stage, dates, notes, lessons (old → new)."""

    name = "improvement.update"
    entity = "improvement"


@dataclass(frozen=True, kw_only=True)
class KeySwitchEvent(Event):
    """The audit chain switched from plain SHA-256 to keyed HMAC-SHA256 after this entry."""

    name = "audit.key_switch"
    entity = "audit_log"


@dataclass(frozen=True, kw_only=True)
class NotificationDeliveredEvent(Event):
    """``notify run`` delivered one outbox row (dedup key, channel, kind, team, attempts)."""

    name = "notification.delivered"
    entity = "notification_outbox"


@dataclass(frozen=True, kw_only=True)
class NotificationFailedEvent(Event):
    """``notify run`` gave up on one outbox row after its retries (channel, attempts, error)."""

    name = "notification.failed"
    entity = "notification_outbox"


@dataclass(frozen=True, kw_only=True)
class GateBypassEvent(Event):
    """An emergency fix bypassed the release gate; its retroactive validation is due in 72 h."""

    name = "gate.bypass"
    entity = "gate_bypass"


def all_events() -> tuple[type[Event], ...]:
    """Every event class, in declaration order."""
    return tuple(Event.__subclasses__())


def event_class(name: str) -> type[Event] | None:
    """The event class whose ``name`` is ``name``, or None."""
    return next((c for c in all_events() if c.name == name), None)
