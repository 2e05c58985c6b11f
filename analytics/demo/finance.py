"""Demo billed credits (issue 19, finance reconciliation): what finance billed for each demo
contract month, planted after the demo is loaded.

The credits are the SLA compliance report's own (``reports.contracts.sla_history``) on the
loaded store, so finance bills exactly what the workbench computes (to the cent) except for two
planted differences: one contract month under-billed by half, and one contract month billed
although no credit was computed. Draws come from this module's own ``random.Random(SEED)``;
only ``billed_credit`` rows and one ``demo_truth`` row are added, so every existing demo
number stays as it was.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session

from analytics.reports.contracts import months_back, sla_history
from analytics.store.models import BilledCredit, DemoTruth

SEED = 1920
BILLED_NOT_COMPUTED = 250.0  # a goodwill credit finance booked against a month without a breach
TRUTH_KEY = "billed_credits"


def billing_months(first: date, end: date) -> list[str]:
    """Every month the demo touches up to the last one that has ended by ``end``: the partial
    first month is billed too (its outages earn credits like any other month's).

    >>> billing_months(date(2025, 11, 23), date(2026, 2, 27))
    ['2025-11', '2025-12', '2026-01']
    >>> billing_months(date(2025, 11, 23), date(2026, 2, 28))[-1]
    '2026-02'
    """
    last = end if (end + timedelta(days=1)).day == 1 else end.replace(day=1) - timedelta(days=1)
    n = (last.year - first.year) * 12 + last.month - first.month + 1
    return months_back(f"{last:%Y-%m}", n) if n > 0 else []


def computed_credits(engine: Engine, months: list[str]) -> pl.DataFrame:
    """Computed credit per (contract, customer, month, currency) over ``months``, zero included."""
    history = pl.concat([sla_history(engine, month=m, months=1) for m in months],
                        how="vertical_relaxed")
    return (history.group_by("contract", "customer", "month", "currency")
            .agg(computed=pl.col("credit_amount").sum()).sort("month", "contract"))


def billed_rows(computed: pl.DataFrame) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The billed credits and the truth: every computed credit billed to the cent, except one
    (chosen by the seeded stream) billed at half; one zero-credit contract month billed anyway.

    >>> c = pl.DataFrame({"contract": ["a", "b", "c"], "customer": ["A", "B", "C"],
    ...                   "month": ["2026-01"] * 3, "currency": ["EUR"] * 3,
    ...                   "computed": [100.0, 0.0, 40.0]})
    >>> rows, truth = billed_rows(c)
    >>> sorted((r["contract"], r["amount"]) for r in rows)
    [('a', 100.0), ('b', 250.0), ('c', 20.0)]
    >>> truth["under_billed"]["contract"], truth["billed_not_computed"]["contract"]
    ('c', 'b')
    """
    rng = random.Random(SEED)
    credited = [r for r in computed.iter_rows(named=True) if r["computed"] > 0]
    zero = [r for r in computed.iter_rows(named=True) if r["computed"] == 0]
    under = rng.choice(credited) if credited else None
    extra = rng.choice(zero) if zero else None
    rows, truth = [], {"under_billed": None, "billed_not_computed": None}
    for r in credited:
        cents = round(r["computed"], 2)
        # Finance bills whole cents; an amount a hair from half a cent is billed as computed so
        # the only differences are the planted ones.
        amount = cents if abs(cents - r["computed"]) < 0.0049 else r["computed"]
        if r is under:
            amount = round(r["computed"] / 2, 2)
            truth["under_billed"] = {"contract": r["contract"], "month": r["month"],
                                     "computed": r["computed"], "billed": amount}
        rows.append({"contract": r["contract"], "customer": r["customer"], "month": r["month"],
                     "amount": amount, "currency": r["currency"]})
    if extra is not None:
        rows.append({"contract": extra["contract"], "customer": extra["customer"],
                     "month": extra["month"], "amount": BILLED_NOT_COMPUTED,
                     "currency": extra["currency"]})
        truth["billed_not_computed"] = {"contract": extra["contract"], "month": extra["month"],
                                        "billed": BILLED_NOT_COMPUTED}
    truth["rows"] = len(rows)
    return rows, truth


def plant(engine: Engine, months: list[str]) -> int:
    """Write the billed credits of ``months`` and their truth; returns the rows written."""
    if not months:
        return 0
    rows, truth = billed_rows(computed_credits(engine, months))
    with Session(engine) as s, s.begin():
        s.add_all(BilledCredit(**r) for r in rows)
        s.add(DemoTruth(key=TRUTH_KEY, value=json.dumps(truth, sort_keys=True),
                        description="Credits finance billed: every computed SLA credit to the "
                                    "cent, except one contract month under-billed by half and "
                                    "one billed although no credit was computed."))
    return len(rows)
