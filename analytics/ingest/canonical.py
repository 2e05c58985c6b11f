"""Canonical files: CSV, Parquet or JSON lines whose columns are named as in the ingest README.

One kind per invocation (deployments, changes, incidents, tickets, csat, sli, services,
maintenance, outages). A TOML mapping (``--map``) renames differing headers, translates values,
and sets the separator, day-first dates and decimal commas. Naive timestamps are read in
``--tz``. References (a deployment's change request, an incident's causing deployment, a
ticket's incident, a CSAT answer's deployment, an SLI sample's SLO) must exist in the store or
the same import: a canonical file is under the user's control, so a dangling id is an error.
"""

from __future__ import annotations

import polars as pl

from analytics.ingest.columns import SPECS, Options, typed
from analytics.ingest.files import Mapping, SourceFile, apply_mapping, read_table
from analytics.ingest.parsed import Parsed
from analytics.ingest.validate import FILE, ROW, Checker, InvalidImport, Problem


def matches(kind: str, columns: list[str]) -> bool:
    """True when ``columns`` (canonical names) hold every required column of ``kind``.

    >>> matches("outages", ["service", "start", "end", "cause"])
    True
    """
    return all(c.name in columns for c in SPECS[kind].public if c.required)


def parse(kind: str, files: list[SourceFile], opts: Options, mapping: Mapping | None = None) -> Parsed:
    """Read and validate every file of ``kind`` (files from a folder that are not are skipped)."""
    mapping = mapping or Mapping()
    opts = Options(tz=opts.tz, dayfirst=mapping.dayfirst or opts.dayfirst,
                   decimal_comma=mapping.decimal_comma or opts.decimal_comma)
    spec = SPECS[kind]
    frames, labels, warnings = [], {}, []
    for f in files:
        frame = read_table(f, separator=mapping.separator, scalars_only=True)
        frame, lab = apply_mapping(frame, mapping)
        if f.in_folder and not matches(kind, frame.columns):
            continue
        known = {c.name for c in spec.public}
        extra = [c for c in frame.columns if c not in known and c not in (FILE, ROW)]
        if extra:
            warnings.append(f"{f.name}: ignored column(s) {', '.join(extra)}")
        frame = frame.select([c for c in frame.columns if c in known or c in (FILE, ROW)])
        data = [c for c in frame.columns if c not in (FILE, ROW)]
        # Blank lines read as all-empty rows; none when one column has no empty value.
        if data and frame[data[0]].null_count():
            frame = frame.filter(~pl.all_horizontal(pl.col(data).is_null()))
        frames.append(frame)
        labels |= lab
    if not frames:
        raise InvalidImport([Problem(", ".join(sorted({f.name for f in files})) or "input", None,
                                     None, None, f"no {kind} file found (a {kind} file needs the "
                                     f"columns {', '.join(c.name for c in spec.public if c.required)})")])
    frame = pl.concat(frames, how="diagonal")
    ck = Checker(frame, labels)
    out = typed(spec, frame, ck, opts)
    ck.raise_if_any()
    return Parsed(tables={kind: out}, warnings=warnings, strict_refs=True)
