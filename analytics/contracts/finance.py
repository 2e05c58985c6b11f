"""Finance reconciliation: the credits finance billed against the credits the SLA report computes,
per contract and month. Difference = billed − computed; amounts within half a cent match."""

from __future__ import annotations

import polars as pl

TOLERANCE = 0.005


def reconcile(computed: pl.DataFrame, billed: pl.DataFrame) -> pl.DataFrame:
    """Outer join of computed (contract, customer, month, computed, currency) and billed
    (contract, customer, month, billed, currency) with ``difference`` and ``status``:
    match | differs | not billed | billed, none computed. Zero computed and nothing billed is
    left out.

    >>> c = pl.DataFrame({"contract": ["a", "b"], "customer": ["A", "B"], "month": ["2026-01"] * 2,
    ...                   "computed": [100.0, 50.0], "currency": ["EUR"] * 2})
    >>> b = pl.DataFrame({"contract": ["a", "z"], "customer": ["A", "Z"], "month": ["2026-01"] * 2,
    ...                   "billed": [80.0, 10.0], "currency": ["EUR"] * 2})
    >>> reconcile(c, b).select("contract", "difference", "status").rows()
    [('a', -20.0, 'differs'), ('b', -50.0, 'not billed'), ('z', 10.0, 'billed, none computed')]
    """
    keys = ["contract", "month"]
    j = (computed.join(billed, on=keys, how="full", coalesce=True, suffix="_billed")
         .with_columns(customer=pl.coalesce("customer", "customer_billed"),
                       currency=pl.coalesce("currency", "currency_billed"),
                       computed=pl.col("computed").fill_null(0.0),
                       has_bill=pl.col("billed").is_not_null(),
                       billed=pl.col("billed").fill_null(0.0))
         .filter((pl.col("computed") != 0) | pl.col("has_bill")))
    diff = pl.col("billed") - pl.col("computed")
    return (j.with_columns(difference=diff.round(2))
            .with_columns(status=pl.when(~pl.col("has_bill")).then(pl.lit("not billed"))
                          .when((pl.col("computed") == 0) & (pl.col("billed") != 0))
                          .then(pl.lit("billed, none computed"))
                          .when(diff.abs() <= TOLERANCE).then(pl.lit("match"))
                          .otherwise(pl.lit("differs")))
            .select("contract", "customer", "month", "currency", "computed", "billed",
                    "difference", "status")
            .sort("month", "contract"))
