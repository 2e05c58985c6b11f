"""The store's data version: a short string that changes whenever the data a page reads changes.

Pages pass it as an argument of their ``@st.cache_data`` / ``@st.cache_resource`` functions, so a
cached result lives until the data changes instead of expiring on a clock (a workshop left idle
for five minutes must not pay a full re-read on its next slider move).

Every table gets ``max(id)`` and ``count(*)``: an insert raises the first, a delete lowers the
second. An upsert that only updates rows changes neither, but every import and demo load writes an
``import_batch`` or ``audit_log`` row (and a saved definition a ``kpi_definition`` row), which are
in the list. ``max(id)`` is the rowid / primary-key index end; ``count(*)`` scans the smallest
index, a few milliseconds for a million rows on SQLite.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sqlalchemy import Engine, text

# The tables whose content a page may show (every table of analytics.store.models with an id).
TABLES = ("service", "import_batch", "audit_log", "kpi_definition", "change_request", "deployment",
          "change", "incident", "incident_attribution", "ticket", "ticket_wait", "csat_response",
          "experiment", "experiment_observation", "slo", "sli_sample", "sla_contract",
          "maintenance_window", "outage", "improvement", "demo_truth")


def version_query(tables: dict[str, str | None]) -> str:
    """One SELECT returning ``max(<primary key>)`` (when it is a single column) and ``count(*)``
    of each table, as a single row.

    >>> version_query({"a": "id", "b": None})
    'SELECT (SELECT max("id") FROM "a"), (SELECT count(*) FROM "a"), (SELECT count(*) FROM "b")'
    """
    parts = []
    for table, key in tables.items():
        if key:
            parts.append(f'(SELECT max("{key}") FROM "{table}")')
        parts.append(f'(SELECT count(*) FROM "{table}")')
    return "SELECT " + ", ".join(parts)


def data_version(engine: Engine, tables: tuple[str, ...] = TABLES) -> str:
    """A 16-hex-digit digest of ``max(id)`` and ``count(*)`` of ``tables``: equal while their data
    is unchanged, different after an import, a demo load, a delete or a saved definition."""
    present = _keys(engine, tables)
    with engine.connect() as conn:
        row = conn.execute(text(version_query(present))).one() if present else ()
    return hashlib.sha256(repr((sorted(present), tuple(row))).encode()).hexdigest()[:16]


def _keys(engine: Engine, tables: tuple[str, ...]) -> dict[str, str | None]:
    # The schema is read from the models, not the database, so no inspection round trip per call;
    # a store migrated before a table existed simply lacks it (and has_table is checked once).
    from sqlmodel import SQLModel

    from analytics.store import models  # noqa: F401  (registers the tables)

    out: dict[str, str | None] = {}
    for name in tables:
        table = SQLModel.metadata.tables.get(name)
        if table is None or not _exists(engine, name):
            continue
        pk = [c.name for c in table.primary_key.columns]
        out[name] = pk[0] if len(pk) == 1 else None
    return out


@lru_cache(maxsize=256)
def _exists(engine: Engine, name: str) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table(name)
