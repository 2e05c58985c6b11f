"""Reading import files: plain or gzip, folders, CSV / Parquet / JSON lines, column mappings.

A path may be a file or a folder; a folder contributes every regular file in it (sorted by name,
hidden files, README and PDF files skipped), and each importer keeps the files it recognises.
Every file is read into memory once, so its sha256 (recorded with the import batch) is of the
bytes actually imported.

Hostile files (decompression bombs, links, special files) are refused by
:mod:`analytics.ingest.guards` before they cost memory; text must be UTF-8 (or the ``encoding``
the caller names).
"""

from __future__ import annotations

import hashlib
import io
import json
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from analytics.ingest.guards import (FOLLOW_HINT, SKIPPED_SUFFIXES, folder_members, gunzip,
                                     read_regular, refuse_parquet_bomb)
from analytics.ingest.validate import FILE, ROW, InvalidImport, Problem

@dataclass(frozen=True)
class SourceFile:
    """One input file: display name, decompressed bytes, and the sha256 of the stored bytes."""

    name: str
    data: bytes
    digest: str | Future[str]  # the sha256, or its computation under way (see sha256)
    size: int
    in_folder: bool = False  # found by expanding a folder (importers skip files not theirs)

    @property
    def sha256(self) -> str:
        """The hex sha256 of the stored bytes (waits for it when still being computed)."""
        return self.digest if isinstance(self.digest, str) else self.digest.result()

    @property
    def stem(self) -> str:
        """File name without directories, ``.gz`` and the format suffix, lower-cased."""
        base = Path(self.name).name.lower().removesuffix(".gz")
        return base.rsplit(".", 1)[0] if "." in base else base

    @property
    def fmt(self) -> str:
        """csv | parquet | jsonl | json, from the name (``.gz`` ignored)."""
        base = Path(self.name).name.lower().removesuffix(".gz")
        for suffix, fmt in ((".parquet", "parquet"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                            (".json", "json"), (".yaml", "yaml"), (".yml", "yaml")):
            if base.endswith(suffix):
                return fmt
        return "csv"

    def record(self) -> dict[str, Any]:
        """The entry stored in ``import_batch.files``."""
        return {"path": self.name, "sha256": self.sha256, "bytes": self.size}


HASH_AHEAD_BYTES = 1 << 24
_HASHER: list[ThreadPoolExecutor] = []


def _hashing() -> ThreadPoolExecutor:
    if not _HASHER:
        _HASHER.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256"))
    return _HASHER[0]


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def from_bytes(name: str, raw: bytes, in_folder: bool = False, *,
               encoding: str | None = None) -> SourceFile:
    """A :class:`SourceFile` from uploaded bytes (gunzipped when the name ends in .gz).

    ``encoding`` (e.g. ``cp1252``) re-encodes a text file to UTF-8; without it text must be UTF-8.

    >>> from_bytes("d.csv", "id\\ncafé\\n".encode("cp1252"), encoding="cp1252").data
    b'id\\ncaf\\xc3\\xa9\\n'
    """
    data = gunzip(name, raw) if name.lower().endswith(".gz") else raw
    # A large file is hashed on another core while it is parsed (hashlib releases the GIL;
    # 477 MB of tickets: ~0.5 s off the import's wall); the digest is only needed at the write.
    digest = (_hashing().submit(_sha256, raw) if len(raw) >= HASH_AHEAD_BYTES
              else _sha256(raw))
    f = SourceFile(name, data, digest, len(raw), in_folder)
    if encoding and encoding.replace("-", "").replace("_", "").lower() not in ("utf8", "utf8sig") \
            and f.fmt != "parquet":
        try:
            data = data.decode(encoding).encode("utf-8")
        except LookupError:
            raise InvalidImport([Problem("--encoding", None, None, encoding,
                                         "unknown text encoding (e.g. utf-8, cp1252, latin-1)")]) from None
        except UnicodeDecodeError as exc:
            raise InvalidImport([Problem(name, _line_of(data, exc.start), None, None,
                                         f"not valid {encoding} text")]) from None
        f = SourceFile(name, data, f.digest, f.size, in_folder)
    return f


def load(paths: list[str | Path], *, follow_symlinks: bool = False,
         encoding: str | None = None) -> list[SourceFile]:
    """Read every file named by ``paths`` (folders expanded); a missing path is a problem.

    Symbolic links and special files (devices, pipes, sockets) are refused unless
    ``follow_symlinks``; a folder's links must point inside the folder even then.
    """
    files: list[SourceFile] = []
    problems = []
    for p in map(Path, paths):
        if p.is_symlink() and not follow_symlinks:
            problems.append(Problem(str(p), None, None, None, f"is a symbolic link; {FOLLOW_HINT}"))
        elif p.is_dir():
            members, bad = folder_members(p, follow_symlinks)
            problems += bad
            if not members and not bad:
                problems.append(Problem(str(p), None, None, None, "the folder holds no data file"))
            files += [from_bytes(str(f), read_regular(f, follow_symlinks), in_folder=True,
                                 encoding=encoding) for f in members]
        elif p.exists():
            try:
                files.append(from_bytes(str(p), read_regular(p, follow_symlinks), encoding=encoding))
            except InvalidImport as exc:
                problems += exc.problems
        else:
            problems.append(Problem(str(p), None, None, None, "no such file or folder"))
    if problems:
        raise InvalidImport(problems)
    return files


def _line_of(data: bytes, offset: int) -> int:
    """The 1-based line number of byte ``offset``."""
    return data.count(b"\n", 0, offset) + 1


# ------------------------------------------------------------------------------------ mapping


@dataclass(frozen=True)
class Mapping:
    """A TOML column mapping: canonical column → the header in the user's file, plus format hints.

    >>> m = parse_mapping(b'[columns]\\nfinished_at = "Deploy End"\\n', "m.toml")
    >>> m.columns
    {'finished_at': 'Deploy End'}
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    separator: str = ","
    dayfirst: bool = False
    decimal_comma: bool = False


def parse_mapping(raw: bytes, name: str) -> Mapping:
    """Parse a mapping file (see the ingest README); unknown keys are a problem."""
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))  # a BOM is as valid here as in CSV
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidImport([Problem(name, None, None, None, f"not valid TOML: {exc}")]) from None
    allowed = {"columns", "values", "separator", "dayfirst", "decimal_comma"}
    unknown = sorted(set(doc) - allowed)
    problems = [Problem(name, None, k, None, f"unknown key (allowed: {', '.join(sorted(allowed))})")
                for k in unknown]
    cols, values = doc.get("columns", {}), doc.get("values", {})
    if not isinstance(cols, dict) or not all(isinstance(v, str) for v in cols.values()):
        problems.append(Problem(name, None, "columns", None,
                                'must be a table of canonical = "header in your file"'))
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        problems.append(Problem(name, None, "values", None,
                                'must hold tables like [values.status] ok = "success"'))
    sep = doc.get("separator", ",")
    if not isinstance(sep, str) or len(sep) != 1:
        problems.append(Problem(name, None, "separator", str(sep), "must be one character"))
    if problems:
        raise InvalidImport(problems)
    return Mapping(columns=dict(cols), values={k: dict(v) for k, v in values.items()},
                   separator=sep, dayfirst=bool(doc.get("dayfirst", False)),
                   decimal_comma=bool(doc.get("decimal_comma", False)))


def apply_mapping(frame: pl.DataFrame, mapping: Mapping) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rename mapped headers to canonical names and translate mapped values.

    Returns the frame and the labels (canonical → user header) used in problem messages.
    """
    renames = {src: canon for canon, src in mapping.columns.items() if src in frame.columns}
    frame = frame.rename(renames)
    for column, table in mapping.values.items():
        if column in frame.columns:
            frame = frame.with_columns(pl.col(column).replace(table))
    return frame, {canon: src for src, canon in renames.items()}


# ------------------------------------------------------------------------------------ tables


def read_table(f: SourceFile, *, separator: str = ",", scalars_only: bool = False) -> pl.DataFrame:
    """Read a tabular file into string columns with ``__file`` and ``__row``.

    CSV rows are numbered as a spreadsheet shows them (the header is row 1); JSON lines by line;
    Parquet by record. Columns that are entirely unnamed (trailing separators) are dropped.
    ``scalars_only`` refuses JSON objects/arrays as values (canonical columns hold one value).
    """
    try:
        if f.fmt == "parquet":
            refuse_parquet_bomb(f.name, f.data)
            frame = _stringify(pl.read_parquet(io.BytesIO(f.data)))
            first = 1
        elif f.fmt in ("jsonl", "json"):
            frame = _read_json_records(f, scalars_only)
            first = 1
        else:
            # Strict UTF-8: a lossy read would store U+FFFD in ids and service names.
            frame = pl.read_csv(io.BytesIO(f.data), separator=separator, infer_schema=False,
                                encoding="utf8", truncate_ragged_lines=False)
            first = 2
            _refuse_cut_csv(f, separator, frame.width, frame.height + 1)
    except InvalidImport:
        raise
    except Exception as exc:  # polars raises several error types for malformed input
        if f.fmt == "csv":
            _refuse_non_utf8(f, separator)
        raise InvalidImport([Problem(f.name, _ragged_row(f, separator), None, None,
                                     f"cannot read this {f.fmt} file: {_first_line(exc)}")]) from None
    # One chunk per column: the CSV reader returns hundreds, and every later select or filter
    # beside the one-chunk __row column below re-split that column first (2.47M tickets: 0.14 s
    # a select; the rechunk takes 0.06 s once).
    frame = frame.select([c for c in frame.columns if not _unnamed(c)]).rechunk()
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    return frame.with_columns(pl.lit(f.name).alias(FILE),
                              pl.int_range(first, frame.height + first, dtype=pl.Int64).alias(ROW))


def _refuse_cut_csv(f: SourceFile, separator: str, width: int, last_row: int) -> None:
    """A CSV whose last line has no line end and fewer fields than the header was cut short
    (an interrupted download or copy); its last row would otherwise import with empty fields."""
    if not f.data or f.data.endswith((b"\n", b"\r")) or last_row < 2:
        return
    import csv

    tail = f.data[f.data.rfind(b"\n") + 1:].decode("utf-8", "replace")
    fields = next(csv.reader([tail], delimiter=separator), [])
    if len(fields) < width:
        raise InvalidImport([Problem(f.name, last_row, None, None,
                                     f"the file looks truncated: its last row has {len(fields)} "
                                     f"of {width} fields and no line end")])
    # All fields present, but the last value may still be cut mid-word ("Card paym"): every
    # tool that writes CSV ends the last row with a line end, so its absence is the tell.
    raise InvalidImport([Problem(f.name, last_row, None, None,
                                 "the file looks truncated: its last row has no line end, so its "
                                 "last value may be cut short; add a line end if the row is complete")])


def _refuse_non_utf8(f: SourceFile, separator: str) -> None:
    """Name the row and column of the first byte that is not UTF-8 (no-op for valid UTF-8)."""
    try:
        f.data.decode("utf-8")
        return
    except UnicodeDecodeError as exc:
        start = exc.start
    import csv

    lo = f.data.rfind(b"\n", 0, start) + 1
    hi = f.data.find(b"\n", start)
    line = f.data[lo:hi if hi >= 0 else len(f.data)].decode("utf-8", "replace")
    header = next(csv.reader([f.data.split(b"\n", 1)[0].decode("utf-8", "replace")],
                             delimiter=separator), [])
    fields = next(csv.reader([line], delimiter=separator), [])
    idx = next((i for i, v in enumerate(fields) if "\ufffd" in v), None)
    column = header[idx].lstrip("\ufeff") if idx is not None and idx < len(header) else None
    value = fields[idx][:40] if idx is not None else None
    raise InvalidImport([Problem(f.name, _line_of(f.data, start), column, value,
                                 "not UTF-8 text (name the file's encoding with --encoding, "
                                 "e.g. cp1252)")])


def _unnamed(column: str) -> bool:
    c = column.strip()
    return c == "" or (c.startswith("_duplicated_") and c[12:].isdigit()) or c.startswith("column_")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__


def _ragged_row(f: SourceFile, separator: str) -> int | None:
    """The spreadsheet row of the first line with more fields than the header (if any)."""
    if f.fmt != "csv":
        return None
    import csv

    reader = csv.reader(io.StringIO(f.data.decode("utf-8", "replace")), delimiter=separator)
    try:
        header = next(reader, [])
        for i, row in enumerate(reader, start=2):
            if len(row) > len(header):
                return i
    except csv.Error:  # e.g. a field over the csv module's limit: the row is simply not named
        return None
    return None


def _stringify(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast every column to text; aware datetimes become UTC with a Z, naive ones stay naive."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone:
                col = col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            else:
                col = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
        elif dtype == pl.Boolean:
            col = col.cast(pl.String).str.to_lowercase()
        exprs.append(col.cast(pl.String).alias(name))
    return frame.select(exprs)


def _read_json_records(f: SourceFile, scalars_only: bool = False) -> pl.DataFrame:
    """JSON lines (one object per line) or a JSON array of flat objects, as text columns."""
    text = f.data.decode("utf-8-sig")  # a BOM is valid JSON text too (RFC 8259 lets parsers skip it)
    records: list[Any]
    if f.fmt == "json":
        records = json.loads(text)
        if not isinstance(records, list):
            raise InvalidImport([Problem(f.name, None, None, None,
                                         "expected a JSON array of objects")])
    else:
        records = []
        for i, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InvalidImport([Problem(f.name, i, None, line[:40],
                                                 f"not valid JSON ({exc.msg})")]) from None
    rows = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise InvalidImport([Problem(f.name, i, None, None, "expected a JSON object")])
        nested = [k for k, v in rec.items() if isinstance(v, dict | list)] if scalars_only else []
        if nested:
            raise InvalidImport([Problem(f.name, i, k, json.dumps(rec[k])[:40], NESTED)
                                 for k in nested])
        rows.append({k: _scalar_text(v) for k, v in rec.items()})
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in columns}, schema={c: pl.String for c in columns})


NESTED = "expected a single value, not a JSON object or array"


def _scalar_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v)
    return str(v)


def read_json(f: SourceFile) -> Any:
    """Parse a JSON document; a truncated or malformed one is a clear problem."""
    try:
        return json.loads(f.data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidImport([Problem(f.name, None, None, None, "not UTF-8 text")]) from None
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(f.data.rstrip()) - 1 else ""
        raise InvalidImport([Problem(f.name, exc.lineno, None, None,
                                     f"not valid JSON: {exc.msg} at line {exc.lineno} "
                                     f"column {exc.colno}{hint}")]) from None
