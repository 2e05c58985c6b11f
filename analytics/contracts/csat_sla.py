"""CSAT beside SLA performance: Pearson correlation over (service, month) pairs with its 95%
interval by Fisher's z (z = atanh r, standard error 1/√(n − 3), back-transformed with tanh)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Correlation:
    """r, its 95% interval and the number of pairs (interval None below 4 pairs)."""

    r: float | None
    lo: float | None
    hi: float | None
    n: int


def correlation(x: list[float], y: list[float]) -> Correlation:
    """Pearson r of ``x`` and ``y`` with the Fisher-z 95% interval.

    >>> c = correlation([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    >>> round(c.r, 6), round(c.lo, 4), round(c.hi, 4), c.n
    (0.774597, -0.3401, 0.9842, 5)
    """
    n = len(x)
    if n < 3 or np.std(x) == 0 or np.std(y) == 0:
        return Correlation(None, None, None, n)
    r = float(np.corrcoef(x, y)[0, 1])
    if n < 4 or abs(r) >= 1:
        return Correlation(r, None, None, n)
    z, se = math.atanh(r), 1 / math.sqrt(n - 3)
    return Correlation(r, math.tanh(z - Z95 * se), math.tanh(z + Z95 * se), n)
