"""Growing a read-copy file from its previous version plus the rows an import inserted.

A full refresh reads the whole table back (2.5M tickets: ~3.5 CPU-s in the ADBC child). When an
import only inserted rows, the new file is the previous one plus those rows, which the import
already holds as typed frames, with the ids SQLite gave them (:func:`with_ids`). The rows get the
columns, types and order a full refresh gives them (files are sorted by time, then id, so the
order does not depend on the SQL plan); a file this module cannot build is refreshed in full.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from analytics.store.frametypes import SERVICE_COLUMNS, join_service

# Columns of a file that come from another file of the copy, by a reference column:
# file → (reference column, file it names, columns taken from that file).
LOOKUPS: dict[str, tuple[str, str]] = {"changes": ("deployment_id", "deployments")}
_COLUMN = re.compile(r"(\w+)\.(\w+)(?:\s+AS\s+(\w+))?")


def select_columns(sql: str) -> tuple[str, list[tuple[str, str, str]]] | None:
    """(alias of the FROM table, [(alias, column, output name)]) of a copy file's SELECT, or None
    when its list is not plain ``alias.column [AS name]`` items (``a.*``).

    >>> select_columns("SELECT c.id, d.finished_at, s.name AS service FROM change c JOIN d")
    ('c', [('c', 'id', 'id'), ('d', 'finished_at', 'finished_at'), ('s', 'name', 'service')])
    >>> select_columns("SELECT a.* FROM incident_attribution a") is None
    True
    """
    head, _, tail = sql.partition(" FROM ")
    found = re.match(r"\s*(\w+)\s+(\w+)", tail)
    items = [i.strip() for i in head.strip().removeprefix("SELECT").split(",")]
    parsed = [_COLUMN.fullmatch(i) for i in items]
    if found is None or not all(parsed):
        return None
    return found.group(2), [(m.group(1), m.group(2), m.group(3) or m.group(2))
                            for m in parsed if m is not None]


def with_ids(frame: pl.DataFrame, first: int) -> pl.DataFrame:
    """``frame`` with the ids ``first``, ``first + 1``… in row order (as SQLite assigned them).

    >>> with_ids(pl.DataFrame({"x": ["a", "b"]}), 8)["id"].to_list()
    [8, 9]
    """
    return frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).alias("id"))


def new_rows(name: str, sql: str, inserted: pl.DataFrame, services: pl.DataFrame | None,
             how: str | None, folder: Path, types: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """The rows of file ``name`` for the ``inserted`` rows of its main table (with their ids), as
    a full refresh reads them; None when this file cannot be built that way.

    ``sql`` and ``how`` are the file's SELECT without the service columns and its service join
    (see ``readcopy._child_sql``); ``services`` the service table (id, service, team, tier,
    criticality); ``folder`` holds the other, current files a lookup reads.
    """
    found = select_columns(sql)
    if found is None:
        return None
    main, columns = found
    own = [(col, out) for alias, col, out in columns if alias == main]
    inserted = inserted.with_columns(  # stored as naive UTC text
        pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for c, t in inserted.schema.items() if isinstance(t, pl.Datetime) and t.time_zone)
    other = [out for alias, _, out in columns if alias != main]
    frame = inserted.select(
        (pl.col(col) if col in inserted.columns else pl.lit(None)).alias(out) for col, out in own)
    if other:
        if name not in LOOKUPS:
            return None
        ref, source = LOOKUPS[name]
        # The other file holds every referenced row (a NOT NULL foreign key, an inner join).
        looked = pl.read_parquet(folder / f"{source}.parquet", columns=["id", *other])
        frame = frame.join(looked.rename({"id": ref}), on=ref, how="inner", maintain_order="left")
    order = [out for _, _, out in columns]
    if how is not None:
        if services is None:
            return None
        frame = join_service(frame, services, how)
        at = order.index("service_id") + 1
        order = [*order[:at], *SERVICE_COLUMNS, *order[at:]]
    return frame.select(_as_stored(pl.col(c), types[c]).alias(c) for c in order)


def _as_stored(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as it reads back from SQLite: times at microseconds, NaN stored as NULL."""
    if dtype == pl.Float64:
        return col.cast(pl.Float64).fill_nan(None)
    return col.cast(dtype, strict=True)
