"""The delivery KPIs in DuckDB SQL from CSVs: the engine comparison of bench/readcopy.py.

    python bench/delivery_duckdb.py CSV_FOLDER [FROM TO]

Reads deployments.csv, changes.csv and incidents.csv (as the read copy holds them), production
only, for deployments finished in [FROM, TO + 1 day). Figures, overall and per service:
deployments, deploys per day, change failure rate (failed / rolled back, or an incident
attributed by ``caused_by_deployment_id`` or else the last deployment of its service in the 48 h
before it), lead time median / p75 / p90, MTTR median / mean. A subset of the report's
attribution rules (no change-request or commit links); the point is the engine's cost of the
same reading, joining and grouping. Runs in its own process: DuckDB is never loaded by the app.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta

import duckdb

SQL = """
WITH dep AS (
  SELECT * FROM read_csv_auto('{d}/deployments.csv')
  WHERE environment = 'production' AND finished_at IS NOT NULL
    AND status IN ('success', 'failed', 'rolled_back') AND NOT coalesce(is_rollback, false)),
inc AS (
  SELECT * FROM read_csv_auto('{d}/incidents.csv') WHERE environment = 'production'),
win AS (
  SELECT i.id AS incident_id, d.id AS deployment_id FROM inc i
  ASOF JOIN dep d ON i.service_id = d.service_id AND i.opened_at > d.finished_at
  WHERE i.opened_at - d.finished_at <= INTERVAL 48 HOUR),
attr AS (
  SELECT i.id AS incident_id, coalesce(i.caused_by_deployment_id, w.deployment_id) AS deployment_id
  FROM inc i LEFT JOIN win w ON w.incident_id = i.id),
per_dep AS (SELECT deployment_id, count(*) AS n FROM attr WHERE deployment_id IS NOT NULL
            GROUP BY deployment_id),
d AS (
  SELECT dep.*, status IN ('failed', 'rolled_back') OR coalesce(p.n, 0) > 0 AS failed
  FROM dep LEFT JOIN per_dep p ON p.deployment_id = dep.id
  WHERE finished_at >= TIMESTAMP '{lo}' AND finished_at < TIMESTAMP '{hi}'),
lead AS (
  SELECT d.service, epoch(d.finished_at - c.committed_at) / 3600 AS h
  FROM read_csv_auto('{d}/changes.csv') c JOIN d ON d.id = c.deployment_id
  WHERE d.status = 'success' AND d.finished_at > c.committed_at),
restore AS (
  SELECT service, epoch(resolved_at - opened_at) / 3600 AS h FROM inc
  WHERE opened_at >= TIMESTAMP '{lo}' AND opened_at < TIMESTAMP '{hi}'
    AND resolved_at >= opened_at)
SELECT k.service, k.deployments, k.deployments / {days} AS per_day, k.failed / k.deployments AS cfr,
       l.median, l.p75, l.p90, r.mttr_median, r.mttr_mean
FROM (SELECT coalesce(service, 'all') AS service, count(*) AS deployments,
             sum(failed::INT) AS failed FROM d GROUP BY ROLLUP (service)) k
LEFT JOIN (SELECT coalesce(service, 'all') AS service, median(h) AS median,
                  quantile_cont(h, 0.75) AS p75, quantile_cont(h, 0.9) AS p90
           FROM lead GROUP BY ROLLUP (service)) l USING (service)
LEFT JOIN (SELECT coalesce(service, 'all') AS service, median(h) AS mttr_median,
                  avg(h) AS mttr_mean FROM restore GROUP BY ROLLUP (service)) r USING (service)
ORDER BY k.service
"""


def main() -> None:
    folder = sys.argv[1]
    end = date.fromisoformat(sys.argv[3]) if len(sys.argv) > 3 else date(2026, 11, 22)
    start = date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else end - timedelta(days=364)
    hi = end + timedelta(days=1)
    rows = duckdb.sql(SQL.format(d=folder, lo=start, hi=hi, days=(hi - start).days)).fetchall()
    overall = next(r for r in rows if r[0] == "all")
    print(json.dumps({"services": len(rows) - 1, "overall": overall}, default=str))


if __name__ == "__main__":
    main()
