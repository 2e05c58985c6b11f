"""Work an import does on another core while it parses (issue 17.4): the sha256 of a large file
is computed in a thread, the "all keys distinct" pass beside the column conversions. Results
must equal the sequential computation."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import files
from analytics.ingest.columns import SPECS, Options, typed
from analytics.ingest.validate import FILE, ROW, Checker

EXAMPLES = Path(__file__).resolve().parents[2] / "analytics" / "ingest" / "examples"


@pytest.mark.parametrize("name", ["deployments.csv", "deployments.csv.gz"])
def test_digest_computed_ahead_equals_hashlib(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    raw = (EXAMPLES / "deployments.csv").read_bytes()
    if name.endswith(".gz"):
        raw = gzip.compress(raw)
    monkeypatch.setattr(files, "HASH_AHEAD_BYTES", 1)  # every file hashed in the thread
    f = files.from_bytes(name, raw)
    assert not isinstance(f.digest, str)
    assert f.sha256 == hashlib.sha256(raw).hexdigest()
    assert json.loads(json.dumps(f.record()))["sha256"] == hashlib.sha256(raw).hexdigest()
    monkeypatch.setattr(files, "HASH_AHEAD_BYTES", len(raw) + 1)  # below it: hashed at once
    f = files.from_bytes(name, raw)
    assert f.digest == hashlib.sha256(raw).hexdigest()


def _frame(ids: list[str | None]) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame({"id": ids, "service": ["svc"] * n,
                         "opened_at": ["2026-01-01T00:00:00Z"] * n, FILE: ["t.csv"] * n,
                         ROW: list(range(2, n + 2))}, schema_overrides={"id": pl.String})


@pytest.mark.parametrize("ids", [["a", "b", "c"], ["a", "b", "a"], ["a", None, None, "b"],
                                 ["a", None, "a", None], [" a", "a ", "a"], ["x"] * 5])
def test_duplicate_keys_flagged_as_a_plain_loop_finds_them(ids: list[str | None]) -> None:
    frame = _frame(ids)
    ck = Checker(frame)
    typed(SPECS["tickets"], frame, ck, Options())
    found = [p.row for p in ck.problems if "duplicate id" in p.message]
    seen: set[str] = set()
    expected = []
    for row, value in enumerate(ids, start=2):
        v = value.strip() if value is not None else None
        if v and v in seen:
            expected.append(row)
        if v:
            seen.add(v)
    assert found == expected
    assert Checker.all_distinct(ck.raw("id")) == (not expected)
