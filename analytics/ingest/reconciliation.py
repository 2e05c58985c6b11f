"""Reconciliation: deployments whose times or status disagree with their change request.

A deployment linked to a change request (``change_request_id``) should have run inside the
change's actual window and ended the way the change record says. For each linked deployment:

- ``start_diff_min`` = deployment ``started_at`` − change ``actual_start`` (minutes);
- ``end_diff_min`` = deployment ``finished_at`` − change ``actual_end`` (minutes);
- the deployment's status against the change's outcome (``close_code``), normalised: successful*
  → success; unsuccessful/failed → failed; backed out/rolled back → rolled_back. An outcome the
  workbench does not recognise, or no outcome, is not a disagreement (shown as ``unknown``).

A difference larger than the tolerance (default 0 minutes: any difference) or a status mismatch
puts the deployment in the report, with every discrepancy and its size.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine


OUTCOMES = {"successful": "success", "successful_issues": "success", "success": "success",
            "successful with issues": "success", "completed": "success",
            "unsuccessful": "failed", "failed": "failed", "failure": "failed",
            "backed out": "rolled_back", "backed_out": "rolled_back", "rolled back": "rolled_back",
            "rolled_back": "rolled_back", "rollback": "rolled_back"}


def change_requests(engine: Engine, linked: pl.Series | None = None) -> pl.DataFrame:
    """Change requests with their actual window and outcome (one query; only the band of ids
    ``linked`` points to, when given: :func:`analytics.store.queries.change_requests`)."""
    from analytics.store import queries

    return queries.change_requests(engine, "id AS change_request_id, external_id AS change_request, "
                                   "actual_start, actual_end, outcome", linked)


def reconcile(deployments: pl.DataFrame, changes: pl.DataFrame,
              tolerance_minutes: float = 0.0) -> pl.DataFrame:
    """Linked deployments that disagree with their change request, largest discrepancy first.

    ``deployments`` needs external_id, service, change_request_id, started_at, finished_at,
    status (as :func:`analytics.store.queries.deployments` returns); ``changes`` the columns of
    :func:`change_requests`.

    >>> from datetime import datetime as dt
    >>> d = pl.DataFrame({"external_id": ["d1"], "service": ["web"], "change_request_id": [1],
    ...                   "started_at": [dt(2024, 1, 1, 10)], "finished_at": [dt(2024, 1, 1, 11)],
    ...                   "status": ["success"]})
    >>> c = pl.DataFrame({"change_request_id": [1], "change_request": ["CHG1"],
    ...                   "actual_start": [dt(2024, 1, 1, 10)], "actual_end": [dt(2024, 1, 1, 10, 30)],
    ...                   "outcome": ["unsuccessful"]})
    >>> reconcile(d, c).select("end_diff_min", "outcome", "issues").row(0)
    (30.0, 'failed', 'end, status')
    """
    # An empty side may come untyped (a store with no change requests): type the join key and
    # the times so the join and the differences are defined either way.
    changes = changes.cast({"change_request_id": pl.Int64,
                            "actual_start": deployments.schema["started_at"],
                            "actual_end": deployments.schema["finished_at"]})
    deployments = deployments.cast({"change_request_id": pl.Int64})
    linked = deployments.filter(pl.col("change_request_id").is_not_null()).join(
        changes, on="change_request_id", how="inner")
    minutes = 60_000_000.0  # microseconds per minute
    out = linked.with_columns(
        start_diff_min=(pl.col("started_at") - pl.col("actual_start")).dt.total_microseconds() / minutes,
        end_diff_min=(pl.col("finished_at") - pl.col("actual_end")).dt.total_microseconds() / minutes,
        outcome=pl.col("outcome").cast(pl.String).str.to_lowercase().replace_strict(OUTCOMES, default="unknown"),
    )
    late_start = pl.col("start_diff_min").abs() > tolerance_minutes
    late_end = pl.col("end_diff_min").abs() > tolerance_minutes
    wrong = (pl.col("outcome") != "unknown") & (pl.col("outcome") != pl.col("status"))
    issues = pl.concat_str([pl.when(late_start).then(pl.lit("start")),
                            pl.when(late_end).then(pl.lit("end")),
                            pl.when(wrong).then(pl.lit("status"))], separator=", ", ignore_nulls=True)
    return (out.with_columns(issues=issues)
            .filter(pl.col("issues") != "")
            .with_columns(size=pl.max_horizontal(pl.col("start_diff_min").abs(),
                                                 pl.col("end_diff_min").abs()).fill_null(0))
            .sort("size", descending=True)
            .select("external_id", "service", "change_request", "started_at", "actual_start",
                    "start_diff_min", "finished_at", "actual_end", "end_diff_min", "status",
                    "outcome", "issues"))
