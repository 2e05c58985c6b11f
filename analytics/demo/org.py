"""The demo organisation's delivery side: services, deployments, commits, change requests, incidents.

Planted effects (sizes recorded in the ground truth, see ``analytics.demo.TRUTH``):
- production deployments fail (status failed/rolled_back) from a logistic model in which Friday
  adds log(2) to the log-odds, all else equal;
- Friday deployments are smaller (log lines changed −0.7), and size raises the failure odds, so a
  naive Friday-vs-rest comparison is confounded;
- one team adopts canary releases on a known date, from which its failure probability, the
  incidents its successful releases cause and its unrelated incidents all halve, so its change
  failure rate (REFERENCE §1) halves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

TEAMS = ("payments", "identity", "storefront", "logistics", "platform", "data", "mobile", "support")
SERVICE_NAMES = {
    "payments": ("checkout", "payment-gateway", "invoicing", "refunds", "fraud-check"),
    "identity": ("login", "accounts", "sso", "permissions", "mfa"),
    "storefront": ("catalog", "search", "recommendations", "cart", "pricing"),
    "logistics": ("shipping", "tracking", "inventory", "returns", "warehouse-api"),
    "platform": ("api-gateway", "service-mesh", "config", "scheduler", "object-store"),
    "data": ("reporting", "exports", "analytics-api", "etl", "data-warehouse"),
    "mobile": ("ios-backend", "android-backend", "push", "mobile-bff", "app-config"),
    "support": ("helpdesk", "chat", "notifications", "email", "status-page"),
}
CANARY_TEAM = "storefront"
CANARY_DAY = 200  # day index (from the first day) on which the canary team switches
FRIDAY_LOG_ODDS = float(np.log(2.0))
FRIDAY_LOG_LINES_SHIFT = -0.7
LOG_LINES_MEAN = 4.5
BETA_LOG_LINES = 0.45
BETA_EMERGENCY = 0.9
BETA_COVERAGE = -0.03  # per coverage point above 80%
ROOT_CAUSES = ("code defect", "configuration", "capacity", "dependency", "infrastructure")


def services(rng: np.random.Generator, scale: int) -> pl.DataFrame:
    """Services: 40 per scale unit in 8 teams per unit; tiers, criticality, zones."""
    rows = []
    zones = ("Europe/Amsterdam", "Europe/London", "America/New_York", "UTC")
    for unit in range(scale):
        for team in TEAMS:
            for name in SERVICE_NAMES[team]:
                rows.append({"name": name if unit == 0 else f"{name}-{unit}",
                             "team": team if unit == 0 else f"{team}-{unit}"})
    n = len(rows)
    tier = rng.choice(["gold", "silver", "bronze"], size=n, p=[0.3, 0.4, 0.3])
    crit = np.where(tier == "gold", rng.integers(1, 3, n),
                    np.where(tier == "silver", rng.integers(2, 4, n), rng.integers(3, 5, n)))
    frame = pl.DataFrame(rows).with_columns(
        id=pl.int_range(1, n + 1),
        tier=pl.Series(tier), criticality=pl.Series(crit.astype(np.int64)),
        customer_facing=pl.Series(rng.random(n) < 0.7),
        timezone=pl.Series(rng.choice(zones, size=n)),
        confirmed=pl.lit(True), source=pl.lit("demo"),
    )
    return frame.with_columns(external_id=pl.col("name"))


def deployments(rng: np.random.Generator, svc: pl.DataFrame, first: date, days: int,
                ) -> pl.DataFrame:
    """Production deployments (with their rollbacks) and staging deployments."""
    n_svc = svc.height
    rate = rng.uniform(1.6, 4.8, n_svc)
    day_idx = np.arange(days)
    weekday = np.array([(first + timedelta(days=int(d))).weekday() for d in day_idx])
    # Fewer deploys at weekends and a little fewer on Fridays, as in most organisations.
    wf = np.select([weekday >= 5, weekday == 4], [0.15, 0.8], 1.0)
    counts = rng.poisson(rate[:, None] * wf[None, :])
    s_idx, d_idx = np.nonzero(counts)
    reps = counts[s_idx, d_idx]
    s_idx, d_idx = np.repeat(s_idx, reps), np.repeat(d_idx, reps)
    n = s_idx.size
    # Business hours in UTC with a spread; minute resolution.
    minute = np.clip(rng.normal(13.5 * 60, 150, n), 6 * 60, 22 * 60 - 1).astype(np.int64)
    day0 = np.datetime64(first, "m")
    finished = day0 + (d_idx * 1440 + minute).astype("timedelta64[m]")
    order = np.lexsort((finished, s_idx))
    s_idx, d_idx, finished = s_idx[order], d_idx[order], finished[order]
    wd = weekday[d_idx]
    friday = wd == 4

    log_lines = rng.normal(LOG_LINES_MEAN + FRIDAY_LOG_LINES_SHIFT * friday, 1.1)
    lines = np.clip(np.exp(log_lines), 1, 50_000).astype(np.int64)
    files = 1 + rng.poisson(lines / 40.0)
    coverage = np.round(np.clip(rng.normal(82, 7, n), 40, 100), 1)
    emergency = rng.random(n) < 0.04
    unplanned = rng.random(n) < 0.08
    base = rng.normal(-2.3, 0.35, n_svc)
    eta = (base[s_idx] + BETA_LOG_LINES * (np.log(lines) - LOG_LINES_MEAN)
           + BETA_EMERGENCY * emergency + BETA_COVERAGE * (coverage - 80) + FRIDAY_LOG_ODDS * friday)
    p = 1 / (1 + np.exp(-eta))
    team = svc["team"].to_numpy()[s_idx]
    canary = (team == CANARY_TEAM) & (d_idx >= CANARY_DAY)
    p = np.where(canary, p * 0.5, p)
    failed = rng.random(n) < p
    status = np.where(failed, np.where(rng.random(n) < 0.6, "rolled_back", "failed"), "success")
    duration = rng.integers(4, 40, n).astype("timedelta64[m]")

    names = svc["name"].to_numpy()
    prod = pl.DataFrame({
        "service_id": svc["id"].to_numpy()[s_idx],
        "environment": "production",
        "finished_at": finished.astype("datetime64[us]"),
        "started_at": (finished - duration).astype("datetime64[us]"),
        "status": status, "is_rollback": False, "unplanned": unplanned, "emergency": emergency,
        "lines_changed": lines, "files_changed": files.astype(np.int64), "test_coverage": coverage,
        "version": [f"{nm}@1.{i}" for nm, i in zip(names[s_idx], range(n), strict=True)],
    })
    # The act of rolling back: a remediation, not a deployment (REFERENCE §1).
    rb = prod.filter(pl.col("status") == "rolled_back")
    rb_delay = pl.Series(rng.integers(10, 90, rb.height)).cast(pl.Duration("us")) * 60_000_000
    rollbacks = rb.with_columns(
        finished_at=pl.col("finished_at") + rb_delay,
        started_at=pl.col("finished_at") + rb_delay - pl.duration(minutes=3),
        status=pl.lit("success"), is_rollback=pl.lit(True), unplanned=pl.lit(False),
        emergency=pl.lit(False), version=pl.col("version") + "-rollback")
    # Staging: about 30% of releases are recorded there first, 1–6 h earlier.
    st_mask = rng.random(n) < 0.3
    stg = prod.filter(pl.Series(st_mask))
    st_lead = pl.Series(rng.integers(60, 360, stg.height)).cast(pl.Duration("us")) * 60_000_000
    staging = stg.with_columns(
        environment=pl.lit("staging"), finished_at=pl.col("finished_at") - st_lead,
        started_at=pl.col("started_at") - st_lead,
        status=pl.Series(np.where(rng.random(stg.height) < 0.05, "failed", "success")),
        version=pl.col("version") + "-rc")
    out = pl.concat([prod, rollbacks, staging]).sort("finished_at", "service_id")
    out = out.with_columns(id=pl.int_range(1, out.height + 1), source=pl.lit("demo"))
    return out.with_columns(external_id=pl.format("dep-{}", pl.col("id")))


def commits(rng: np.random.Generator, dep: pl.DataFrame) -> pl.DataFrame:
    """1–6 commits per production deployment; lead times lognormal (median ≈ 20 h), a few negative."""
    prod = dep.filter((pl.col("environment") == "production") & ~pl.col("is_rollback"))
    k = 1 + rng.poisson(1.5, prod.height)
    dep_id = np.repeat(prod["id"].to_numpy(), k)
    started = np.repeat(prod["started_at"].to_numpy(), k)
    n = dep_id.size
    lead_min = np.exp(rng.normal(np.log(20 * 60), 1.0, n))
    # 0.5% of commits carry a clock after the deployment (skewed clocks, amended commits).
    lead_min = np.where(rng.random(n) < 0.005, -rng.uniform(5, 120, n), lead_min)
    committed = started - lead_min.astype("timedelta64[m]")
    sha = rng.integers(0, 2**63, size=(n, 3), dtype=np.int64)
    commit_id = [f"{a:016x}{b:016x}{c:08x}"[:40] for a, b, c in sha]
    return pl.DataFrame({
        "id": np.arange(1, n + 1), "commit_id": commit_id,
        "committed_at": committed.astype("datetime64[us]"), "deployment_id": dep_id,
        "source": "demo",
    }).with_columns(external_id=pl.format("{}:{}", pl.col("deployment_id"), pl.col("commit_id")))


def change_requests(rng: np.random.Generator, dep: pl.DataFrame, svc: pl.DataFrame,
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Change requests for Gold services' production deployments; 5% disagree with the deployment."""
    gold = svc.filter(pl.col("tier") == "gold")["id"]
    prod = dep.filter((pl.col("environment") == "production") & ~pl.col("is_rollback")
                      & pl.col("service_id").is_in(gold.implode()))
    n = prod.height
    off = rng.random(n) < 0.05
    shift = np.where(off, rng.integers(60, 360, n), 0)  # minutes
    outcome = np.where(prod["status"].to_numpy() == "success", "successful", "unsuccessful")
    flip = rng.random(n) < 0.02
    outcome = np.where(flip, np.where(outcome == "successful", "unsuccessful", "successful"), outcome)
    cr = prod.select(
        "service_id", "emergency",
        id=pl.int_range(1, n + 1),
        title=pl.format("Release {}", pl.col("version")),
        change_type=pl.when(pl.col("emergency")).then(pl.lit("emergency")).otherwise(pl.lit("normal")),
        risk=pl.Series(rng.choice(["low", "moderate", "high"], n, p=[0.6, 0.3, 0.1])),
        cab_required=pl.col("emergency").not_(),
        planned_start=pl.col("started_at") - pl.duration(hours=1),
        planned_end=pl.col("finished_at") + pl.duration(hours=1),
        actual_start=pl.col("started_at"),
        actual_end=pl.col("finished_at") + pl.Series(shift.astype(np.int64)).cast(pl.Duration("us")) * 60_000_000,
        outcome=pl.Series(outcome), opened_at=pl.col("started_at") - pl.duration(days=2),
        closed_at=pl.col("finished_at") + pl.duration(hours=4), source=pl.lit("demo"),
    ).with_columns(external_id=pl.format("CHG{}", pl.col("id")))
    link = pl.DataFrame({"id": prod["id"], "change_request_id": cr["id"]})
    dep = dep.join(link, on="id", how="left")
    return cr, dep


def incidents(rng: np.random.Generator, dep: pl.DataFrame, svc: pl.DataFrame, first: date,
              days: int, scale: int, now: datetime) -> pl.DataFrame:
    """Incidents: caused by failed (and a few successful) deployments, plus unrelated ones."""
    prod = dep.filter((pl.col("environment") == "production") & ~pl.col("is_rollback"))
    failed = prod["status"].to_numpy() != "success"
    canary_day = np.datetime64(first + timedelta(days=CANARY_DAY), "us")
    canary_svc = svc.filter(pl.col("team") == CANARY_TEAM)["id"].implode()
    canary = (prod["service_id"].is_in(canary_svc).to_numpy()
              & (prod["finished_at"].to_numpy() >= canary_day))
    # Canary releases also halve the incidents successful releases cause, so every source of
    # a failed deployment (REFERENCE §1: status, or an attributed incident) halves.
    p_success = np.where(canary, 0.0075, 0.015)
    cause = np.where(failed, rng.random(prod.height) < 0.55, rng.random(prod.height) < p_success)
    caused = prod.filter(pl.Series(cause))
    nc = caused.height
    delay = np.minimum(rng.exponential(120, nc), 40 * 60).astype("timedelta64[m]")
    opened_c = caused["finished_at"].to_numpy() + delay.astype("timedelta64[us]")
    explicit = rng.random(nc) < 0.5
    # Unrelated incidents at random times; ten have no service (a data-quality flag).
    nu = 260 * scale
    svc_u = rng.choice(svc["id"].to_numpy(), nu).astype(np.float64)
    svc_u[:10] = np.nan
    opened_u = (np.datetime64(first, "us")
                + (rng.uniform(0, days * 1440, nu) * 60e6).astype("timedelta64[us]"))
    # ...and the canary team's unrelated incidents, which the observation window would otherwise
    # pin on its (now safer) deployments.
    keep = ~(np.isin(svc_u, canary_svc.explode().to_numpy()) & (opened_u >= canary_day)
             & (rng.random(nu) < 0.5))
    svc_u, opened_u = svc_u[keep], opened_u[keep]
    nu = int(keep.sum())
    service_id = np.concatenate([caused["service_id"].to_numpy().astype(np.float64), svc_u])
    opened = np.concatenate([opened_c, opened_u])
    link = np.concatenate([np.where(explicit, caused["id"].to_numpy(), -1), np.full(nu, -1)])
    n = nc + nu
    sev = rng.choice([1, 2, 3, 4], n, p=[0.05, 0.2, 0.45, 0.3])
    median_h = np.array([0, 1.0, 2.5, 6.0, 20.0])[sev]
    restore = np.exp(rng.normal(np.log(median_h * 60), 0.8)).astype("timedelta64[m]")
    detect_gap = rng.integers(0, 15, n).astype("timedelta64[m]")
    ack = rng.integers(2, 30, n).astype("timedelta64[m]")
    resolved = opened + restore.astype("timedelta64[us]")
    cf_by_svc = dict(zip(svc["id"].to_list(), svc["customer_facing"].to_list(), strict=True))
    svc_cf = np.array([cf_by_svc.get(int(s), False) if not np.isnan(s) else False for s in service_id])
    customer_facing = svc_cf & (rng.random(n) < np.where(sev <= 3, 0.9, 0.4))
    pool = rng.integers(1, 6, n)
    problem = [f"PRB-{int(s) if not np.isnan(s) else 0:03d}-{p}" if r < 0.6 else None
               for s, p, r in zip(service_id, pool, rng.random(n), strict=True)]
    frame = pl.DataFrame({
        "service_id": pl.Series(service_id).fill_nan(None).cast(pl.Int64),
        "environment": "production", "severity": sev.astype(np.int64),
        "opened_at": opened.astype("datetime64[us]"),
        "detected_at": (opened - detect_gap.astype("timedelta64[us]")),
        "acknowledged_at": (opened + ack.astype("timedelta64[us]")),
        "resolved_at": resolved,
        "customer_facing": customer_facing, "outage": (sev <= 2) & (rng.random(n) < 0.7),
        "caused_by_deployment_id": pl.Series(link).cast(pl.Int64),
        "problem_id": problem,
        "root_cause": rng.choice(ROOT_CAUSES, n),
    }).with_columns(pl.when(pl.col("caused_by_deployment_id") < 0).then(None)
                    .otherwise(pl.col("caused_by_deployment_id")).alias("caused_by_deployment_id"))
    frame = frame.filter(pl.col("opened_at") < now).sort("opened_at")
    # Incidents still open at the end of the period have no resolution yet.
    frame = frame.with_columns(
        resolved_at=pl.when(pl.col("resolved_at") < now).then(pl.col("resolved_at")).otherwise(None))
    n = frame.height
    return frame.with_columns(
        id=pl.int_range(1, n + 1), source=pl.lit("demo"),
        external_id=pl.format("INC{}", pl.int_range(1, n + 1)),
        title=pl.format("{} degraded", pl.col("root_cause")),
        # Every 25th severe incident lacks its post-mortem: checkable cases for the compliance list.
        postmortem_url=pl.when((pl.col("severity") <= 2) & (pl.int_range(1, n + 1) % 25 != 0))
        .then(pl.format("https://wiki.example.com/postmortems/INC{}", pl.int_range(1, n + 1)))
        .otherwise(None),
    )
