"""Files the workbench writes for people: CSV with spreadsheet formulas neutralised (OWASP CSV
injection). Every CSV download and every ``--format csv`` goes through :func:`csv_text`.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
with ``'`` so a spreadsheet shows it as text; numbers (also negative ones) are left as they are.

>>> neutralise("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> neutralise("-12.5"), neutralise(-3), neutralise("checkout")
('-12.5', -3, 'checkout')
>>> print(csv_text(pl.DataFrame({"service": ["@evil", "api"], "n": [-1, 2]})), end="")
service,n
'@evil,-1
api,2
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if not isinstance(value, str) or not value.startswith(TRIGGERS):
        return value
    if _NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` neutralised (other columns untouched)."""
    starts = "|".join(re.escape(t) for t in TRIGGERS)
    exprs = [pl.when(pl.col(c).str.contains(f"^({starts})")
                     & ~pl.col(c).str.contains(f"^{_NUMBER.pattern}$"))
             .then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
             for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(exprs) if exprs else frame


def csv_text(data: pl.DataFrame | Iterable[Mapping[str, Any]], *,
             columns: list[str] | None = None) -> str:
    """CSV of a frame or of row dicts, with formulas neutralised."""
    if isinstance(data, pl.DataFrame):
        return neutralise_frame(data).write_csv()
    rows = list(data)
    fields = columns or (list(rows[0]) if rows else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(v) for k, v in row.items()})
    return buf.getvalue()
