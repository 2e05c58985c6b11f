"""Stored incident → deployment attribution (REFERENCE §1.1): one set of links per window.

The links themselves are computed by the pure :func:`analytics.metrics.attribution.attribute`;
this module only writes them, inside the caller's session (the caller commits).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from sqlalchemy import text
from sqlmodel import Session

from analytics.metrics.attribution import RULES, check_window, rule_counts
from analytics.store.bulk import bulk_insert


def save_attributions(*, session: Session, attribution: pl.DataFrame, window_hours: float,
                      computed_at: datetime | None = None) -> dict[str, int]:
    """Replace the stored attribution of ``window_hours`` with ``attribution``.

    The delete and the insert run on the session's connection, so they commit (or roll back)
    with whatever else the caller does in that session, e.g. the audit entry. Pass the
    attribution of every incident: rows of this window not in ``attribution`` are deleted.
    Returns the counts per rule.
    """
    window = check_window(window_hours)
    missing = {"incident_id", "deployment_id", "rule"} - set(attribution.columns)
    if missing:
        raise ValueError(f"attribution: missing column(s) {', '.join(sorted(missing))}")
    bad = set(attribution["rule"].unique().to_list()) - set(RULES)
    if bad:
        raise ValueError(f"attribution: unknown rule(s) {', '.join(map(str, sorted(bad)))}")
    stamp = computed_at or datetime.now(UTC).replace(tzinfo=None)
    rows = attribution.select(
        pl.col("incident_id").cast(pl.Int64), pl.col("deployment_id").cast(pl.Int64),
        pl.col("rule").cast(pl.String), pl.lit(window).alias("window_hours"),
        pl.lit(stamp, dtype=pl.Datetime("us")).alias("computed_at"))
    conn = session.connection()
    conn.execute(text("DELETE FROM incident_attribution WHERE window_hours = :w"), {"w": window})
    bulk_insert(conn, "incident_attribution", rows)
    return rule_counts(attribution)
