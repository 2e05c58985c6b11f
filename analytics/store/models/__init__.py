"""Every table of the store, one module per domain; importing this package registers them all
on ``SQLModel.metadata``.

Conventions (full-stack-fastapi-template style):
- timestamps are stored in UTC (SQLModel's UTCDateTime: aware UTC datetimes in the ORM,
  ``timestamptz`` on PostgreSQL); polars frames carry them as naive UTC; conversion to a user's
  zone happens at the edges;
- every imported row carries its natural key ``(source, external_id)``, unique per table, so an
  import is an upsert and running it twice changes nothing (SLI samples use ``(slo_id, ts)``);
- the columns pages filter on (service, time) are indexed;
- JSON-ish columns (credit ladders, thresholds, file lists) are stored as JSON text so the same
  schema works on SQLite and PostgreSQL.
"""

from analytics.store.models.base import (DEPLOYMENT_STATUSES, EXCLUSION_KINDS, OUTAGE_CAUSES, TIERS,
                                         Imported, ImportBatch, Service, natural_key)
from analytics.store.models.customers import (CsatResponse, Experiment, ExperimentObservation,
                                              Ticket, TicketWait)
from analytics.store.models.contracts import (Agreement, AgreementSupport, BilledCredit,
                                              MonitoringRule, ServiceComponent, Vendor,
                                              VendorOutage, VendorReport)
from analytics.store.models.changes import DefinitionProposal, SloVersion
from analytics.store.models.compliance import EmergencyValidation, SourceValidation
from analytics.store.models.delivery import (Change, ChangeRequest, Deployment, Incident,
                                             IncidentAttribution)
from analytics.store.models.gates import GateBypass
from analytics.store.models.governance import AuditLog, DemoTruth, Improvement, KpiDefinition
from analytics.store.models.loop import NotificationOutbox
from analytics.store.models.reliability import (MaintenanceWindow, Outage, SlaContract, SliSample,
                                                Slo)

__all__ = [
    "Agreement", "AgreementSupport", "BilledCredit", "MonitoringRule", "ServiceComponent",
    "Vendor", "VendorOutage", "VendorReport",
    "DEPLOYMENT_STATUSES", "DefinitionProposal", "SloVersion", "EmergencyValidation", "SourceValidation", "EXCLUSION_KINDS", "OUTAGE_CAUSES", "TIERS", "AuditLog", "Change",
    "ChangeRequest", "CsatResponse", "DemoTruth", "Deployment", "Experiment",
    "ExperimentObservation", "GateBypass", "ImportBatch", "Imported", "Improvement", "Incident",
    "IncidentAttribution", "KpiDefinition", "NotificationOutbox", "MaintenanceWindow", "Outage", "Service",
    "SlaContract", "SliSample", "Slo", "Ticket", "TicketWait", "natural_key",
]
