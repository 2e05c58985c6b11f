"""The delivery report in plain pandas: the comparison baseline for the benchmark.

Same definitions as :mod:`analytics.metrics.delivery_report` (REFERENCE §1, production only,
attribution by explicit link then a 48 h window), written the way a pandas user would:
vectorised, ``merge_asof`` for the time joins, no per-row Python. It returns the overall figures
and the per-service figures so the two implementations can be compared number by number.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
HOUR = pd.Timedelta(hours=1)


def _attribute(inc: pd.DataFrame, cands: pd.DataFrame, changes: pd.DataFrame,
               window_hours: float) -> pd.DataFrame:
    explicit = inc["caused_by_deployment_id"].astype("Int64")
    for link, key, right in (
            ("caused_by_change_request_id", "change_request_id", cands),
            ("root_cause_commit", "commit_id",
             changes.merge(cands[["id", "finished_at"]], left_on="deployment_id", right_on="id")
             [["commit_id", "finished_at", "deployment_id"]]
             .rename(columns={"deployment_id": "id"}))):
        left = inc.loc[inc[link].notna(), ["id", "opened_at", link]].rename(columns={link: key})
        if left.empty:
            continue
        r = right.loc[right[key].notna(), [key, "finished_at", "id"]].rename(columns={"id": "dep"})
        r = r.astype({key: left[key].dtype}).sort_values("finished_at")
        left = left.sort_values("opened_at")
        back = pd.merge_asof(left, r, left_on="opened_at", right_on="finished_at", by=key)
        fwd = pd.merge_asof(left, r, left_on="opened_at", right_on="finished_at", by=key,
                            direction="forward")
        dep = back.set_index("id")["dep"].combine_first(fwd.set_index("id")["dep"])
        explicit = explicit.fillna(inc["id"].map(dep).astype("Int64"))
    left = inc.loc[inc["environment"] == "production", ["id", "service_id", "opened_at"]]
    left = left.dropna(subset=["service_id"]).astype({"service_id": "int64"})
    windowed = pd.merge_asof(
        left.sort_values("opened_at"),
        cands[["service_id", "finished_at", "id"]].rename(columns={"id": "window_dep"})
        .sort_values("finished_at"),
        left_on="opened_at", right_on="finished_at", by="service_id",
        tolerance=pd.Timedelta(hours=window_hours), allow_exact_matches=False)
    window_dep = inc["id"].map(windowed.set_index("id")["window_dep"]).astype("Int64")
    rule = np.where(explicit.notna(), "explicit",
                    np.where(window_dep.notna(), "window", "unattributed"))
    return pd.DataFrame({"incident_id": inc["id"].to_numpy(),
                         "deployment_id": explicit.fillna(window_dep).to_numpy(), "rule": rule})


def _facts(deployments: pd.DataFrame, changes: pd.DataFrame, incidents: pd.DataFrame,
           lo: datetime, hi: datetime, window_hours: float,
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    prod = deployments[deployments["environment"] == "production"]
    final = prod[prod["status"].isin(["success", "failed", "rolled_back"])
                 & prod["finished_at"].notna()]
    cands = final[~final["is_rollback"].fillna(False).astype(bool)]
    attr = _attribute(incidents, cands, changes, window_hours)

    # Deployments: attributed incidents, failure, recovery.
    deps = cands[(cands["finished_at"] >= lo) & (cands["finished_at"] < hi)]
    linked = attr.dropna(subset=["deployment_id"]).merge(
        incidents[["id", "resolved_at"]], left_on="incident_id", right_on="id")
    per_dep = linked.groupby("deployment_id").agg(
        incidents=("incident_id", "size"), resolved=("resolved_at", "max"),
        open=("resolved_at", lambda s: s.isna().any()))
    restorers = (final[final["status"] == "success"][["service_id", "finished_at"]]
                 .rename(columns={"finished_at": "next_success_at"}).sort_values("next_success_at"))
    deps = pd.merge_asof(deps.sort_values("finished_at"), restorers, left_on="finished_at",
                         right_on="next_success_at", by="service_id", direction="forward",
                         allow_exact_matches=False)
    deps = deps.join(per_dep, on="id")
    deps["incidents"] = deps["incidents"].fillna(0).astype("int64")
    has_inc = deps["incidents"] > 0
    deps["failed"] = deps["status"].isin(["failed", "rolled_back"]) | has_inc
    rec = np.where(has_inc, (deps["resolved"] - deps["finished_at"]) / HOUR,
                   (deps["next_success_at"] - deps["finished_at"]) / HOUR)
    rec = np.where(has_inc & deps["open"].fillna(False).astype(bool), np.nan, rec)
    deps["recovery_hours"] = np.where(deps["failed"] & (rec >= 0), rec, np.nan)

    # Incidents: restore, detect, recurrence.
    inc = incidents[incidents["environment"] == "production"].copy()
    inc["key"] = np.where(inc["problem_id"].notna(), "p:" + inc["problem_id"].astype(str),
                          np.where(inc["root_cause"].notna(),
                                   "r:" + inc["root_cause"].astype(str), None))
    keyed = inc.dropna(subset=["key", "service_id"])
    prev = pd.merge_asof(
        keyed[["id", "service_id", "key", "opened_at"]].sort_values("opened_at"),
        keyed[["service_id", "key", "opened_at"]].rename(columns={"opened_at": "prev"})
        .sort_values("prev"),
        left_on="opened_at", right_on="prev", by=["service_id", "key"],
        tolerance=pd.Timedelta(days=30), allow_exact_matches=False)
    inc["recurred"] = inc["id"].map(prev.set_index("id")["prev"]).notna()
    inc = inc[(inc["opened_at"] >= lo) & (inc["opened_at"] < hi)]
    inc = inc.merge(attr, left_on="id", right_on="incident_id", how="left")
    inc = inc.merge(deployments[["id", "finished_at"]].rename(
        columns={"id": "deployment_id", "finished_at": "dep_finished"}),
        on="deployment_id", how="left")
    restore = (inc["resolved_at"] - inc["opened_at"]) / HOUR
    inc["restore_hours"] = restore.where(restore >= 0)
    detect = (inc["detected_at"].fillna(inc["opened_at"]) - inc["dep_finished"]) / HOUR
    inc["detect_hours"] = detect.where(detect >= 0)

    # Lead-time pairs.
    ok = deps.loc[deps["status"] == "success", ["id", "finished_at", "service"]]
    pairs = changes[["deployment_id", "committed_at"]].merge(ok, left_on="deployment_id",
                                                             right_on="id")
    pairs["lead_hours"] = (pairs["finished_at"] - pairs["committed_at"]) / HOUR
    pairs = pairs[pairs["lead_hours"] > 0]
    return deps, inc, pairs


def _table(deps: pd.DataFrame, inc: pd.DataFrame, pairs: pd.DataFrame, key: str,
           days: float, weeks: int) -> pd.DataFrame:
    """One row per value of ``key`` with every figure (vectorised group-bys)."""
    d = deps.assign(rolled=deps["status"] == "rolled_back",
                    rework=deps["unplanned"].fillna(False).astype(bool),
                    rec=deps["recovery_hours"].where(deps["failed"]))
    g = d.groupby(key)
    t = pd.DataFrame({"deployments": g.size(), "failed": g["failed"].sum(),
                      "rework_rate": g["rework"].mean(), "rollback_rate": g["rolled"].mean(),
                      "rec_median": g["rec"].median(), "rec_p90": g["rec"].quantile(0.9),
                      "rec_n": g["rec"].count()})
    week_days = (d.assign(day=d["finished_at"].dt.floor("D"),
                          week=d["finished_at"].dt.to_period("W-SUN"))
                 .groupby([key, "week"])["day"].nunique())
    # Median including the weeks without a deployment (zeros): rank the zeros in.
    t["deploy_days_per_week_median"] = week_days.groupby(level=0).apply(
        lambda s: float(np.median(np.concatenate([s.to_numpy(),
                                                  np.zeros(max(weeks - len(s), 0))]))))
    lg = pairs.groupby(key)["lead_hours"]
    lead = pd.DataFrame({"lead_median": lg.median(), "lead_p75": lg.quantile(0.75),
                         "lead_p90": lg.quantile(0.9), "lead_n": lg.count()})
    ig = inc.groupby(key)
    incs = pd.DataFrame({"mttr_median": ig["restore_hours"].median(),
                         "mttr_mean": ig["restore_hours"].mean(),
                         "mttr_n": ig["restore_hours"].count(),
                         "ttd_median": ig["detect_hours"].median(),
                         "ttd_n": ig["detect_hours"].count(),
                         "recurrence": ig["recurred"].mean()})
    for r in ("explicit", "window", "unattributed"):
        incs[r] = (inc["rule"] == r).groupby(inc[key]).sum()
    out = t.join(lead, how="outer").join(incs, how="outer")
    counts = ["deployments", "failed", "rec_n", "lead_n", "mttr_n", "ttd_n",
              "explicit", "window", "unattributed"]
    out[counts] = out[counts].fillna(0).astype("int64")
    n = out["deployments"]
    out["deploys_per_day"] = n / days
    out["cfr"] = (out["failed"] / n).where(n > 0)
    denom = 1 + Z95**2 / n
    centre = (out["cfr"] + Z95**2 / (2 * n)) / denom
    half = Z95 * np.sqrt(out["cfr"] * (1 - out["cfr"]) / n + Z95**2 / (4 * n * n)) / denom
    out["ci_low"] = (centre - half).clip(0, 1)
    out["ci_high"] = (centre + half).clip(0, 1)
    out["deploy_days_per_week_median"] = out["deploy_days_per_week_median"].fillna(0.0)
    return out


def _none(v: object) -> object:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v


def _figures(r: pd.Series) -> dict:
    f = {k: _none(v) for k, v in r.items()}
    return {
        "deployments": f["deployments"], "deploys_per_day": f["deploys_per_day"],
        "deploy_days_per_week_median": f["deploy_days_per_week_median"],
        "lead_time_hours": {"median": f["lead_median"], "p75": f["lead_p75"],
                            "p90": f["lead_p90"], "n": f["lead_n"]},
        "change_failure_rate": {"value": f["cfr"], "failed": f["failed"],
                                "deployments": f["deployments"], "ci_low": f["ci_low"],
                                "ci_high": f["ci_high"]},
        "recovery_time_hours": {"median": f["rec_median"], "p90": f["rec_p90"],
                                "n": f["rec_n"]},
        "mttr_hours": {"median": f["mttr_median"], "mean": f["mttr_mean"], "n": f["mttr_n"]},
        "time_to_detect_hours": {"median": f["ttd_median"], "n": f["ttd_n"]},
        "rework_rate": f["rework_rate"], "rollback_rate": f["rollback_rate"],
        "incident_recurrence_rate": f["recurrence"],
        "attribution": {r: f[r] for r in ("explicit", "window", "unattributed")},
    }


def delivery_report_pandas(deployments: pd.DataFrame, changes: pd.DataFrame,
                           incidents: pd.DataFrame, *, start: datetime, end: datetime,
                           window_hours: float = 48.0) -> dict:
    """Overall and per-service delivery figures for the half-open period ``[start, end)``."""
    deps, inc, pairs = _facts(deployments, changes, incidents, start, end, window_hours)
    days = (end - start) / timedelta(days=1)
    first_monday = pd.Timestamp(start).to_period("W-SUN").start_time
    weeks = int((pd.Timestamp(end - timedelta(microseconds=1)) - first_monday).days // 7 + 1)
    deps, inc, pairs = (x.assign(all="all") for x in (deps, inc, pairs))
    overall = _table(deps, inc, pairs, "all", days, weeks)
    per_service = _table(deps, inc, pairs, "service", days, weeks)
    report = _figures(overall.iloc[0])
    report["by_service"] = [{"service": s, **_figures(r)} for s, r in per_service.iterrows()]
    return report
