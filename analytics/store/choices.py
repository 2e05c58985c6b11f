"""The allowed values importers validate against and the models document, without the models.

Kept apart from :mod:`analytics.store.models` (SQLModel, SQLAlchemy and every table): an import
validates its file with these while the store's modules are still loading (``import`` command).
"""

DEPLOYMENT_STATUSES = ("success", "failed", "rolled_back")
TIERS = ("gold", "silver", "bronze")
EXCLUSION_KINDS = ("scheduled", "force_majeure", "customer", "third_party")
OUTAGE_CAUSES = ("internal", "third_party")
