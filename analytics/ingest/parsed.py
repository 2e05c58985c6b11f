"""What a source produced from its files, before the store is touched (no store modules here:
parsing starts while they load, see :mod:`analytics.ingest.reading`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class Parsed:
    """What a source produced: typed frames per kind, skipped records and notes."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    rejected: int = 0
    warnings: list[str] = field(default_factory=list)
    strict_refs: bool = True
