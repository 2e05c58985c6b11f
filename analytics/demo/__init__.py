"""A seeded synthetic organisation with planted effects of known size (the demo's ground truth).

``generate(seed, end)`` builds every table as polars frames, deterministically; ``load`` writes
them into an empty store in one transaction and records the truth in the ``demo_truth`` table.
Each section draws from its own child random stream, so changing one section leaves the others'
numbers as they were.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, text

from analytics.demo import customers, finance, improvements, org, reliability, vendors
from analytics.ingest import pseudonym
from analytics.store.definitions import fill_slo_owner_teams
from analytics.store.bulk import load_tables
from analytics.store.db import read_frame

# Load order respects foreign keys.
TABLE_ORDER = ("service", "change_request", "deployment", "change", "incident", "ticket",
               "csat_response", "slo", "sli_sample", "sla_contract", "maintenance_window",
               "outage", "experiment", "experiment_observation",
               # issue 19 (analytics/demo/vendors.py): contract tables, after the original ones
               "vendor", "service_component", "agreement", "agreement_support", "monitoring_rule",
               "vendor_report", "demo_truth", "improvement")


def default_end() -> date:
    """Yesterday (UTC): the demo's year ends on the last whole day."""
    return datetime.now(UTC).date() - timedelta(days=1)


def generate(seed: int = 7, end: date | None = None, scale: int = 1, sli: bool = True,
             ) -> dict[str, pl.DataFrame]:
    """Build the demo organisation: 365 days ending ``end``; ``scale`` multiplies services (and
    with them deployments, incidents and tickets). ``sli=False`` skips the 5-minute SLI samples.

    >>> frames = generate(seed=7, end=date(2026, 1, 31), sli=False)
    >>> frames["service"].height
    40
    """
    end = end or default_end()
    days = 365
    first = end - timedelta(days=days - 1)
    first_dt = datetime.combine(first, datetime.min.time())
    now = datetime.combine(end + timedelta(days=1), datetime.min.time())
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(12)]

    svc = org.services(streams[0], scale)
    dep = org.deployments(streams[1], svc, first, days)
    chg = org.commits(streams[2], dep)
    cr, dep = org.change_requests(streams[3], dep, svc)
    inc = org.incidents(streams[4], dep, svc, first, days, scale, now)
    tkt = customers.first_responses(customers.tickets(streams[5], svc, dep, inc, first, days),
                                    seed)
    cs = customers.csat(streams[6], svc, inc, first, days)
    slo = reliability.slos(svc.head(40))
    frames = {
        "service": svc, "change_request": cr, "deployment": dep, "change": chg, "incident": inc,
        "ticket": tkt, "csat_response": cs, "slo": slo,
        "sli_sample": reliability.sli(streams[7], slo, dep, inc, now) if sli else pl.DataFrame(),
        "sla_contract": reliability.contracts(svc, first_dt),
        "maintenance_window": reliability.maintenance(streams[8], svc, first_dt),
        "outage": reliability.outages(streams[9], inc, svc, first_dt, days),
    }
    frames["experiment"], frames["experiment_observation"] = reliability.experiments(streams[10], first_dt)
    contract_frames, vendor_truth = vendors.frames(svc, frames["outage"], frames["sla_contract"],
                                                   first, end)
    frames.update(contract_frames)
    frames["demo_truth"] = truth_frame(frames, seed=seed, first=first, end=end, scale=scale,
                                       extra={"vendor_outages": vendors.truth_entry(vendor_truth)})
    frames["improvement"] = improvements.improvements(svc, first)
    return frames


def truth(frames: dict[str, pl.DataFrame], *, seed: int, first: date, end: date, scale: int,
          ) -> dict[str, dict[str, Any]]:
    """The planted effects and their true sizes, plus what was generated."""
    dep = frames["deployment"]
    prod = dep.filter((pl.col("environment") == "production") & ~pl.col("is_rollback"))
    themes = frames["ticket"]["theme"].value_counts().sort("theme")
    canary_date = first + timedelta(days=org.CANARY_DAY)
    return {
        "generator": {"value": {"seed": seed, "first_day": first.isoformat(), "last_day": end.isoformat(),
                                "scale": scale},
                      "description": "How the demo organisation was generated."},
        "friday_failure_odds_ratio": {
            "value": {"odds_ratio": 2.0, "outcome": "status in (failed, rolled_back)",
                      "controls": ["log(lines_changed)", "emergency", "test_coverage", "service"]},
            "description": "Friday production deployments fail with odds ratio 2.0 against Monday–"
                           "Thursday, all else equal (logistic model on status)."},
        "friday_smaller_changes": {
            "value": {"log_lines_shift": org.FRIDAY_LOG_LINES_SHIFT,
                      "beta_log_lines": org.BETA_LOG_LINES},
            "description": "Friday deployments are smaller (mean log lines changed 0.7 lower) and "
                           "size raises failure odds, so a naive Friday comparison is confounded."},
        "failed_deploy_ticket_rate_ratio": {
            "value": {"failed": customers.TICKET_RATE_RATIO_FAILED, "success": 1.0,
                      "window_hours": customers.TICKET_WINDOW_HOURS},
            "description": "A failed production deployment multiplies its service's ticket rate "
                           "by 1.8 for the 48 h after it finished; successful ones change nothing."},
        "csat_drop_after_customer_facing_incident": {
            "value": {"baseline_share_4_5": customers.CSAT_BASE,
                      "after_share_4_5": customers.CSAT_AFTER_INCIDENT,
                      "days": customers.CSAT_DROP_DAYS},
            "description": "CSAT (share of 4–5 scores) drops from 0.82 to 0.62 in the 7 days after "
                           "a customer-facing incident on the service."},
        "canary_adoption": {
            "value": {"team": org.CANARY_TEAM, "date": canary_date.isoformat(),
                      "failure_probability_ratio": 0.5},
            "description": "The storefront team adopts canary releases on this date; from then on "
                           "its deployments fail half as often (status and attributed incidents)."},
        "ticket_themes": {
            "value": dict(zip(themes["theme"].to_list(), themes["count"].to_list(), strict=True)),
            "description": "Ticket texts are drawn from these themes (counts); 'release' texts are "
                           "the excess tickets after failed deployments."},
        "experiments": {
            "value": {"checkout-one-page": reliability.AB_RATES,
                      "onboarding-email-x-tour": reliability.FACTORIAL_EFFECTS},
            "description": "True conversion rates of the A/B test and true effects of the 2×2 test."},
        "slo_states": {
            "value": reliability.planted_slos(
                frames["slo"], dep, datetime.combine(end + timedelta(days=1), datetime.min.time())),
            "description": "SLOs: errors sized against each SLO's own budget, so most stay "
                           "within it; 'burning' SLOs burn at this rate over the last days (burn-"
                           "rate alerts fire); the 'exhausted' one was overspent by a bad release "
                           "(its deployment, start, hours and burn rate)."},
        "improvements": {
            "value": improvements.truth(first),
            "description": "The register's two demo improvements: canary releases (failures "
                           "halve) and a checklist on another team with no effect at all."},
        "counts": {
            "value": {"production_deployments": prod.height, "deployments_all": dep.height,
                      "incidents": frames["incident"].height, "tickets": frames["ticket"].height,
                      "csat_responses": frames["csat_response"].height},
            "description": "Rows generated."},
    }


def truth_frame(frames: dict[str, pl.DataFrame], extra: dict[str, Any] | None = None,
                **kw: Any) -> pl.DataFrame:
    """The truth as rows of the demo_truth table (``extra`` entries appended after the others)."""
    t = {**truth(frames, **kw), **(extra or {})}
    return pl.DataFrame([{"key": k, "value": json.dumps(v["value"], sort_keys=True),
                          "description": v["description"]} for k, v in t.items()])


def load(engine: Engine, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Write the frames into an empty store in one transaction; return rows per table."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM service")).scalar_one():
            raise ValueError("the store is not empty; the demo loads only into an empty store")
    ordered = {t: frames.get(t, pl.DataFrame()) for t in TABLE_ORDER}
    ordered["ticket"] = ordered["ticket"].drop("theme", strict=False)
    # The demo's customer ids are stored the way an import stores them: pseudonymised.
    key = pseudonym.load_key(engine)
    for table in ("ticket", "csat_response"):
        ordered[table] = pseudonym.pseudonymise(ordered[table], key)
    written = load_tables(engine, ordered)
    with engine.begin() as conn:  # every SLO has an owner team: its service's
        fill_slo_owner_teams(conn)
    # Billed credits come from the SLA report on the loaded store (analytics/demo/finance.py).
    gen = frames["demo_truth"].filter(pl.col("key") == "generator")
    if gen.height:
        span = json.loads(gen["value"][0])
        written["billed_credit"] = finance.plant(engine, finance.billing_months(
            date.fromisoformat(span["first_day"]), date.fromisoformat(span["last_day"])))
    return written


def read_truth(engine: Engine) -> dict[str, Any]:
    """The ground truth stored with the demo ({} when the store holds no demo)."""
    rows = read_frame(engine, "SELECT key, value, description FROM demo_truth ORDER BY key")
    return {r["key"]: {"value": json.loads(r["value"]), "description": r["description"]}
            for r in rows.iter_rows(named=True)}


def content_hash(engine: Engine, tables: tuple[str, ...] = (*TABLE_ORDER, "billed_credit")) -> str:
    """A sha256 over the content of ``tables`` (rows ordered by key), independent of the engine."""
    digest = hashlib.sha256()
    for table in tables:
        key = "key" if table == "demo_truth" else "id"
        frame = read_frame(engine, f'SELECT * FROM "{table}" ORDER BY "{key}"')
        frame = frame.select(sorted(c for c in frame.columns if c != "batch_id"))
        digest.update(table.encode())
        digest.update(frame.write_csv(float_precision=6).encode())
    return digest.hexdigest()
