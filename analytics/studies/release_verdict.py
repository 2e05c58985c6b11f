"""The release-impact study's verdict: one sentence on tickets after failed and successful
releases, never stronger than the confidence intervals and the placebo lead windows allow
(REFERENCE §4). Used by :func:`analytics.studies.release_impact.release_impact`."""

from __future__ import annotations

from typing import Any


def _ci(est: dict[str, Any]) -> str:
    return f"{est['rate_ratio']:.2f}× (95% CI {est['ci_low']:.2f}–{est['ci_high']:.2f})"


def _outcome_sentence(which: str, est: dict[str, Any], window: int) -> str:
    """The sentence for one release outcome, checked against its placebo lead window."""
    name = {"failed": "failed", "success": "successful"}[which]
    lead = est.get("placebo")
    if est["ci_low"] <= 1 <= est["ci_high"]:
        return f"after {name} releases no detectable change in tickets (rate ratio {_ci(est)})"
    claim = f"after {name} releases tickets arrive {_ci(est)} as often for {window} h"
    if lead is None:
        return claim
    lead_off = lead["ci_low"] > 1 or lead["ci_high"] < 1
    if lead["ci_low"] <= est["ci_high"] and est["ci_low"] <= lead["ci_high"]:
        # The placebo should sit at 1: a lead window as high as the post window means the
        # service is already out of its usual rhythm before releases.
        if lead_off:
            state = "elevated" if lead["rate_ratio"] > 1 else "lowered"
            return (f"tickets are already {state} in the {window} h before {name} releases "
                    f"({_ci(lead)}) as after them ({_ci(est)}), so the change cannot be "
                    f"attributed to the releases")
        return (f"{claim}, but the placebo window before them ({_ci(lead)}) is not clearly "
                f"different, so the change cannot be firmly attributed to the releases")
    if lead_off:
        return (f"{claim}, well beyond the placebo window before them ({_ci(lead)}), which also "
                f"departs from 1: part of the difference may predate the releases")
    return claim


def verdict(result: dict[str, Any], window: int) -> str:
    """One sentence on tickets after failed and successful releases, no stronger than the CIs
    and never stronger than the placebo lead window allows (REFERENCE §4: placebo leads).

    A post-window rate ratio whose interval excludes 1 is credited to releases only when the
    placebo interval does not overlap it; a placebo that itself excludes 1 is always named
    (overlapping: "already elevated before releases", the change is not attributed).

    >>> e = {"rate_ratio": 1.8, "ci_low": 1.7, "ci_high": 1.9,
    ...      "placebo": {"rate_ratio": 1.0, "ci_low": 0.9, "ci_high": 1.1}}
    >>> verdict({"by_outcome": {"failed": {"tickets": e}, "success": {}}}, 48)[:58]
    'After failed releases tickets arrive 1.80× (95% CI 1.70–1.'
    """
    parts = [_outcome_sentence(which, est, window) for which in ("failed", "success")
             if (est := result["by_outcome"][which].get("tickets")) is not None]
    if not parts:
        return "Not enough releases and tickets to say anything."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
