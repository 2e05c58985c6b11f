"""The demo organisation's reliability side: SLOs with 5-minute SLIs, SLA contracts, maintenance
windows, outages, and two experiments (an A/B test and a 2×2 factorial) with known effects."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import polars as pl

TIER_TARGET = {"gold": 0.9995, "silver": 0.999, "bronze": 0.995}
SLI_DAYS = 90
SLI_STEP_MIN = 5
AB_RATES = {"control": 0.30, "treatment": 0.33}
FACTORIAL_EFFECTS = {"intercept": 3.6, "email": 0.15, "tour": 0.25, "email:tour": 0.10, "sd": 0.9}


def slos(svc: pl.DataFrame) -> pl.DataFrame:
    """One availability SLO per service, target by tier, 30-day rolling window."""
    return svc.select(
        id="id", service_id="id", name=pl.col("name") + "-availability",
        target=pl.col("tier").replace_strict(TIER_TARGET),
        timezone="timezone",
    ).with_columns(indicator=pl.lit("availability"), budgeting=pl.lit("occurrences"),
                   window_kind=pl.lit("rolling"), window_days=pl.lit(30), source=pl.lit("demo"),
                   external_id=pl.col("name"),
                   description=pl.lit("Share of requests answered without a server error"))


# Planted SLO states (demo ground truth): one SLO exhausted by a bad release a few days before the
# end, a few burning steadily now; every other SLO's errors are sized against its own budget, so
# most stay within it, as in an organisation whose targets were set from its history.
EXHAUSTED_SERVICE = "checkout"
BAD_RELEASE = {"days_before_end": (3, 6), "hours": 24, "burn_rate": 40.0}
BURNING_SERVICES = ("search", "tracking", "push")
BURNING = {"days": 2, "burn_rate": 5.0}
BASELINE_BURN = (0.05, 0.25)     # steady errors: 5–25 % of the budget over a window
# A failed production deployment: 1–8 % errors for the 15 minutes until it is rolled back.
BAD_DEPLOY = {"minutes": 15, "error": (0.01, 0.08)}
# As an outage incident opens: severity 1 is hard down (error ratio 0.3–0.9) for 2–4 five-minute
# buckets; other severities degrade (error ratio 0.02–0.2) for 2–3 buckets.
# Errors stop three buckets before the incident is resolved (at least one bucket), so an alert on
# a 15-minute window falls inside the incident, as it does when the fix is confirmed.
HARD_OUTAGE = {"buckets": (2, 4), "error": (0.3, 0.9)}
SOFT_OUTAGE = {"buckets": (2, 3), "error": (0.02, 0.2)}


def planted_slos(slo: pl.DataFrame, dep: pl.DataFrame, now: datetime) -> dict:
    """The planted SLO states, chosen without randomness: the exhausted SLO's bad release is
    the newest production deployment of its service finishing 3–6 days before ``now``."""
    names = {n.removesuffix("-availability"): n for n in slo["name"].to_list()}
    out: dict = {"burning": {"slos": [names[s] for s in BURNING_SERVICES if s in names],
                             **BURNING}}
    if EXHAUSTED_SERVICE in names:
        sid = slo.filter(pl.col("name") == names[EXHAUSTED_SERVICE])["service_id"][0]
        lo, hi = (now - timedelta(days=d) for d in BAD_RELEASE["days_before_end"][::-1])
        cand = dep.filter((pl.col("service_id") == sid) & (pl.col("environment") == "production")
                          & ~pl.col("is_rollback") & pl.col("finished_at").is_between(lo, hi))
        at = cand.sort("finished_at")[-1] if cand.height else None
        out["exhausted"] = {
            "slo": names[EXHAUSTED_SERVICE],
            "deployment": None if at is None else at["external_id"][0],
            "from": (hi if at is None else at["finished_at"][0]).isoformat(),
            "hours": BAD_RELEASE["hours"], "burn_rate": BAD_RELEASE["burn_rate"]}
    return out


def sli(rng: np.random.Generator, slo: pl.DataFrame, dep: pl.DataFrame, inc: pl.DataFrame,
        now: datetime) -> pl.DataFrame:
    """Good/total per 5 minutes for the last 90 days: steady errors, short hard errors at the
    start of outages, small bumps after failed releases, and the :func:`planted_slos` states."""
    steps = SLI_DAYS * 24 * 60 // SLI_STEP_MIN
    start = (np.datetime64(now.replace(hour=0, minute=0, second=0, microsecond=0), "m")
             - np.timedelta64(SLI_DAYS * 1440, "m"))
    n_slo = slo.height
    budget = 1.0 - slo["target"].to_numpy()
    hod = (np.arange(steps) * SLI_STEP_MIN // 60) % 24
    traffic = 200 + 400 * np.exp(-((hod - 14) ** 2) / 18)
    total = rng.poisson(traffic[None, :] * rng.uniform(0.5, 2.0, n_slo)[:, None])
    err = np.ones((n_slo, steps)) * (budget * rng.uniform(*BASELINE_BURN, n_slo))[:, None]
    row_of = {int(s): i for i, s in enumerate(slo["service_id"].to_list())}

    def step(at: np.ndarray) -> np.ndarray:
        return (at.astype("datetime64[m]") - start).astype(np.int64) // SLI_STEP_MIN

    def mark(sids: np.ndarray, s: np.ndarray, e: np.ndarray, ratio: np.ndarray) -> None:
        for sid, a, b, q in zip(sids, s, e, ratio, strict=True):
            r = row_of.get(int(sid))
            if r is not None and b > 0 and a < steps:
                a, b = max(a, 0), min(b, steps)
                err[r, a:b] = np.maximum(err[r, a:b], q)

    outages = inc.filter(pl.col("outage") & pl.col("resolved_at").is_not_null()
                         & pl.col("service_id").is_not_null()
                         & (pl.col("environment") == "production"))
    hard = (outages["severity"] == 1).to_numpy()
    impact = np.where(hard, rng.integers(*HARD_OUTAGE["buckets"], outages.height, endpoint=True),
                      rng.integers(*SOFT_OUTAGE["buckets"], outages.height, endpoint=True))
    sids = outages["service_id"].to_numpy()
    soft = rng.uniform(*SOFT_OUTAGE["error"], outages.height)
    s = step(outages["opened_at"].to_numpy())
    dur = np.maximum(step(outages["resolved_at"].to_numpy()) - s - 2, 1)
    mark(sids, s, s + np.minimum(dur, impact),
         np.where(hard, rng.uniform(*HARD_OUTAGE["error"], outages.height), soft))
    bad = dep.filter((pl.col("environment") == "production") & (pl.col("status") != "success")
                     & pl.col("service_id").is_not_null())
    s = step(bad["finished_at"].to_numpy())
    mark(bad["service_id"].to_numpy(), s, s + BAD_DEPLOY["minutes"] // SLI_STEP_MIN,
         rng.uniform(*BAD_DEPLOY["error"], bad.height))

    plant = planted_slos(slo, dep, now)
    by_name = {n: i for i, n in enumerate(slo["name"].to_list())}
    for name in plant["burning"]["slos"]:
        r = by_name[name]
        err[r, steps - BURNING["days"] * 288:] = np.maximum(
            err[r, steps - BURNING["days"] * 288:], BURNING["burn_rate"] * budget[r])
    if "exhausted" in plant:
        r = by_name[plant["exhausted"]["slo"]]
        a = int(step(np.array([datetime.fromisoformat(plant["exhausted"]["from"])],
                              dtype="datetime64[m]"))[0]) + 1
        b = a + BAD_RELEASE["hours"] * 60 // SLI_STEP_MIN
        err[r, a:b] = np.maximum(err[r, a:b], BAD_RELEASE["burn_rate"] * budget[r])
    bad_n = rng.binomial(total, np.clip(err, 0, 1))
    ts = (start + (np.arange(steps) * SLI_STEP_MIN).astype("timedelta64[m]")).astype("datetime64[us]")
    return pl.DataFrame({
        "slo_id": np.repeat(slo["id"].to_numpy(), steps),
        "ts": np.tile(ts, n_slo),
        "good": (total - bad_n).ravel().astype(np.float64),
        "total": total.ravel().astype(np.float64),
    })


def contracts(svc: pl.DataFrame, first: datetime) -> pl.DataFrame:
    """One contract per tier; the Gold one has a second version with a stricter ladder."""
    ladder = [{"below_pct": 99.95, "credit_pct": 10}, {"below_pct": 99.0, "credit_pct": 30},
              {"below_pct": 95.0, "credit_pct": 100}]
    rows = []
    for tier, customer, target, fee in (("gold", "ACME", 99.95, 2000.0),
                                        ("silver", "Globex", 99.9, 900.0),
                                        ("bronze", "Initech", 99.5, 300.0)):
        names = svc.filter(pl.col("tier") == tier)["name"].to_list()
        credits = [{**c, "below_pct": min(c["below_pct"], target)} for c in ladder]
        rows.append({"name": f"{customer.lower()}-{tier}", "customer": customer,
                     "services": json.dumps(names), "tier": tier, "target_pct": target,
                     "timezone": "Europe/Amsterdam", "period": "month",
                     "exclusion_mode": "exclude", "exclude_third_party": tier != "bronze",
                     "monthly_fee": fee, "currency": "EUR", "credit_cap_pct": 100.0,
                     "credits": json.dumps(credits), "escalation": "account-manager",
                     "effective_from": first})
    v2 = dict(rows[0], credits=json.dumps([{"below_pct": 99.95, "credit_pct": 15},
                                           {"below_pct": 99.0, "credit_pct": 40},
                                           {"below_pct": 95.0, "credit_pct": 100}]),
              escalation="service-director", effective_from=first + timedelta(days=182))
    return pl.DataFrame([*rows, v2]).with_columns(id=pl.int_range(1, len(rows) + 2))


def maintenance(rng: np.random.Generator, svc: pl.DataFrame, first: datetime) -> pl.DataFrame:
    """Weekly Sunday 02:00–04:00 UTC maintenance for Gold services, plus one-off exclusions."""
    gold = svc.filter(pl.col("tier") == "gold")
    sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    rows = [{"service_id": sid, "start": sunday.replace(hour=2), "end": sunday.replace(hour=4),
             "kind": "scheduled", "recurrence": "FREQ=WEEKLY;BYDAY=SU",
             "description": "Weekly patch window"} for sid in gold["id"]]
    picks = rng.choice(svc["id"].to_numpy(), 3, replace=False)
    for sid, kind, day in zip(picks, ("force_majeure", "customer", "third_party"), (60, 150, 250), strict=True):
        at = first + timedelta(days=day, hours=9)
        rows.append({"service_id": int(sid), "start": at, "end": at + timedelta(hours=3),
                     "kind": kind, "recurrence": None, "description": f"{kind.replace('_', ' ')} event"})
    out = pl.DataFrame(rows)
    return out.with_columns(id=pl.int_range(1, out.height + 1), source=pl.lit("demo"),
                            external_id=pl.format("MW{}", pl.int_range(1, out.height + 1)))


def outages(rng: np.random.Generator, inc: pl.DataFrame, svc: pl.DataFrame, first: datetime,
            days: int) -> pl.DataFrame:
    """Outages: every resolved outage-flagged incident, plus a few third-party ones."""
    own = inc.filter(pl.col("outage") & pl.col("resolved_at").is_not_null()
                     & pl.col("service_id").is_not_null()).select(
        "service_id", start="opened_at", end="resolved_at", cause=pl.lit("internal"))
    k = 12
    at = [first + timedelta(minutes=float(m)) for m in rng.uniform(0, days * 1440, k)]
    third = pl.DataFrame({"service_id": rng.choice(svc["id"].to_numpy(), k),
                          "start": at, "end": [a + timedelta(minutes=float(d)) for a, d in
                                               zip(at, rng.integers(10, 120, k), strict=True)],
                          "cause": "third_party"}).with_columns(pl.col("start", "end").dt.cast_time_unit("us"))
    out = pl.concat([own, third]).sort("start")
    return out.with_columns(id=pl.int_range(1, out.height + 1), source=pl.lit("demo"),
                            external_id=pl.format("OUT{}", pl.int_range(1, out.height + 1)))


def experiments(rng: np.random.Generator, first: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An A/B test on checkout conversion and a 2×2 (email × tour) test on satisfaction."""
    exp = pl.DataFrame([
        {"id": 1, "name": "checkout-one-page", "design": "ab", "metric": "conversion",
         "metric_type": "proportion", "control": "control", "factors": "[]",
         "planned_split": json.dumps({"control": 0.5, "treatment": 0.5}), "service_id": 1,
         "started_at": first + timedelta(days=300), "ended_at": first + timedelta(days=328),
         "description": "One-page checkout against the current three-step flow"},
        {"id": 2, "name": "onboarding-email-x-tour", "design": "factorial", "metric": "satisfaction",
         "metric_type": "mean", "control": "email=0,tour=0", "factors": json.dumps(["email", "tour"]),
         "planned_split": json.dumps({v: 0.25 for v in ("email=0,tour=0", "email=1,tour=0",
                                                         "email=0,tour=1", "email=1,tour=1")}),
         "service_id": 6, "started_at": first + timedelta(days=320),
         "ended_at": first + timedelta(days=348),
         "description": "Welcome e-mail and in-app tour, each on or off"},
    ])
    n_ab = 12_000
    arm = rng.choice(["control", "treatment"], n_ab)
    conv = (rng.random(n_ab) < np.where(arm == "control", AB_RATES["control"], AB_RATES["treatment"])).astype(float)
    ab = pl.DataFrame({"experiment_id": 1, "unit_id": [f"u{i}" for i in range(n_ab)],
                       "variant": arm, "levels": "{}", "value": conv})
    n_f = 4_000
    email, tour = rng.integers(0, 2, n_f), rng.integers(0, 2, n_f)
    e = FACTORIAL_EFFECTS
    mean = e["intercept"] + e["email"] * email + e["tour"] * tour + e["email:tour"] * email * tour
    value = rng.normal(mean, e["sd"])
    fac = pl.DataFrame({"experiment_id": 2, "unit_id": [f"f{i}" for i in range(n_f)],
                        "variant": [f"email={a},tour={b}" for a, b in zip(email, tour, strict=True)],
                        "levels": [json.dumps({"email": int(a), "tour": int(b)}) for a, b in zip(email, tour, strict=True)],
                        "value": value})
    obs = pl.concat([ab, fac])
    return exp, obs.with_columns(id=pl.int_range(1, obs.height + 1))
