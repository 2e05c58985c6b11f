"""Collecting rows from tool payloads (one dict per record) into validated frames.

Tool importers call :meth:`Rows.add` with canonical column names and the raw values as the tool
sent them; :meth:`Rows.parsed` validates everything at once with the canonical checks, so a bad
date in a GitHub payload is reported exactly like one in a CSV file, under the tool's own field
name (``labels``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from analytics.ingest.parsed import Parsed
from analytics.ingest.columns import SPECS, Options, typed
from analytics.ingest.validate import FILE, ROW, Checker, InvalidImport, Problem


def text(value: Any) -> str | None:
    """A payload value as text (None and "" stay empty; aware datetimes get their offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class Rows:
    """Rows per canonical kind, with where each came from.

    >>> r = Rows(Options(), {"deployments": {"finished_at": "updated_at"}})
    >>> r.add("deployments", "f.json", 1, id="1", service="s", environment="production",
    ...       finished_at="2024-01-01T00:00:00Z", status="success")
    >>> r.parsed().tables["deployments"]["finished_at"][0]
    datetime.datetime(2024, 1, 1, 0, 0)
    """

    def __init__(self, opts: Options, labels: dict[str, dict[str, str]] | None = None) -> None:
        self.opts = opts
        self.labels = labels or {}
        self.rows: dict[str, list[dict[str, str | None]]] = {}
        self.rejected = 0
        self.warnings: list[str] = []
        self.problems: list[Problem] = []

    def add(self, kind: str, file: str, row: int, **values: Any) -> None:
        """Append one record of ``kind`` found at ``file`` / ``row``.

        A JSON object or array where a single value belongs (an id, a name, a time) is a
        problem: its text would otherwise be stored as the id or name.
        """
        for k, v in values.items():
            if isinstance(v, dict | list):
                self.problems.append(Problem(file, row, self.labels.get(kind, {}).get(k, k),
                                             json.dumps(v)[:40], "expected a single value, "
                                             "not a JSON object or array"))
        rec = {k: text(v) for k, v in values.items()}
        rec[FILE] = file
        rec[ROW] = str(row)
        self.rows.setdefault(kind, []).append(rec)

    def parsed(self, strict_refs: bool = False) -> Parsed:
        """Validate every kind; raise :class:`InvalidImport` listing all problems."""
        problems, total, tables = list(self.problems), len(self.problems), {}
        for kind, recs in self.rows.items():
            cols = list(dict.fromkeys(k for r in recs for k in r))
            frame = pl.DataFrame({c: [r.get(c) for r in recs] for c in cols},
                                 schema={c: pl.String for c in cols})
            frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
            # The same record on two overlapping pages is one record.
            frame = frame.unique([c for c in cols if c not in (FILE, ROW)], keep="first",
                                 maintain_order=True)
            ck = Checker(frame, dict(self.labels.get(kind, {})))
            tables[kind] = typed(SPECS[kind], frame, ck, self.opts, internal=True)
            problems += ck.problems
            total += ck.total
        if total:
            raise InvalidImport(problems, total)
        return Parsed(tables=tables, rejected=self.rejected, warnings=self.warnings,
                      strict_refs=strict_refs)
