"""The arithmetic behind two signals, as pure functions with hand-checkable examples.

**SLA at risk — linear projection.** From the month so far, downtime is assumed to continue at
the rate observed: projected downtime at month end = D × M_month ÷ M_so_far, where D is the
downtime so far and M the measured minutes (period minus excluded minutes in ``exclude`` mode,
the whole period otherwise). The projected month-end uptime is therefore
1 − D ÷ M_so_far (the uptime so far). The *best case* assumes no further downtime:
1 − D ÷ M_month. best case < target → the breach is certain (``sla_breached``); otherwise
projected < target → ``sla_at_risk``.

**KPI worse three periods running — significance.** A run of three worse periods alone is
noise-prone, so the change from the first to the last period of the run (the period before the
three worse ones vs the latest) must also be significant, one-sided in the catalogue's worse
direction: a pooled two-proportion z-test for rates (CFR, rework, rollbacks, recurrence),
a Mann–Whitney U test for durations (lead time, recovery, MTTR, time to detect; medians are
what the KPIs report, so a rank test fits), and a conditional binomial test of the two
periods' deployment counts given their lengths in days for deployment frequency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def sla_projection(down_so_far: float, measured_so_far: float,
                   measured_month: float) -> tuple[float | None, float | None]:
    """(projected month-end uptime %, best-case month-end uptime %) — see the module text.

    10 days into a 30-day month with 20 minutes down: projected 1 − 20/14400, best case
    1 − 20/43200.

    >>> [round(x, 4) for x in sla_projection(20, 14400, 43200)]
    [99.8611, 99.9537]
    """
    projected = (None if measured_so_far <= 0
                 else (1 - down_so_far / measured_so_far) * 100.0)
    best = None if measured_month <= 0 else (1 - down_so_far / measured_month) * 100.0
    return projected, best


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def proportion_worse_p(x1: int, n1: int, x2: int, n2: int, better: str) -> float | None:
    """One-sided p-value that the rate went from x1/n1 to x2/n2 in the worse direction
    (pooled two-proportion z-test; ``better`` is the catalogue's "higher" or "lower").

    10/100 → 25/100 failures, lower is better: z = 0.15 / sqrt(0.175 · 0.825 · 0.02) = 2.7921.

    >>> round(proportion_worse_p(10, 100, 25, 100, "lower"), 5)
    0.00262
    """
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (x2 / n2 - x1 / n1) / se
    return _norm_sf(z if better == "lower" else -z)


def durations_worse_p(first: Sequence[float], last: Sequence[float], better: str) -> float | None:
    """One-sided Mann–Whitney U p-value that ``last`` is worse than ``first``.

    >>> round(durations_worse_p([1, 2, 3], [4, 5, 6], "lower"), 4)
    0.05
    """
    a = [v for v in first if v is not None and not math.isnan(v)]
    b = [v for v in last if v is not None and not math.isnan(v)]
    if not a or not b:
        return None
    from scipy.stats import mannwhitneyu  # scipy is slow to import; only this test needs it

    alternative = "greater" if better == "lower" else "less"
    return float(mannwhitneyu(b, a, alternative=alternative).pvalue)


def count_worse_p(c1: int, days1: float, c2: int, days2: float, better: str) -> float | None:
    """One-sided p-value that the daily rate of events fell (``better`` "higher") or rose:
    given c1 + c2 events, c2 ~ Binomial(c1 + c2, days2 ÷ (days1 + days2)) under no change.

    >>> round(count_worse_p(30, 30, 15, 30, "higher"), 5)
    0.01785
    """
    n = c1 + c2
    if n == 0 or days1 <= 0 or days2 <= 0:
        return None
    from scipy.stats import binomtest

    alternative = "less" if better == "higher" else "greater"
    return float(binomtest(c2, n, days2 / (days1 + days2), alternative=alternative).pvalue)
