"""`init` brings the read copy up to date when a write outside the workbench left it stale or
it was deleted (issue 17): otherwise every page of a large store reads SQL."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.store import copyscan, queries, readcopy
from tests.store.test_readcopy import ROOT, _sqlite


def test_init_brings_a_stale_or_missing_copy_up_to_date(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`init` (which `make run` runs before serving) rewrites the files a write outside the
    workbench left stale, keeps the others, says so, and does nothing when the copy is current;
    a deleted copy is written again."""
    import shutil

    from analytics.ingest.importer import import_files

    examples = ROOT / "analytics" / "ingest" / "examples"
    db = tmp_path / "store.db"
    eng = _sqlite(db)
    assert main(["--db", f"sqlite:///{db}", "init"]) == 0  # a new, empty store: nothing to copy
    assert "read copy" not in capsys.readouterr().out and readcopy.manifest(eng) is None
    import_files(eng, "services", [examples / "services.csv"])
    import_files(eng, "deployments", [examples / "deployments.csv"])
    with eng.begin() as conn:  # a write that does not refresh the copy
        conn.execute(text(
            "INSERT INTO deployment (source, external_id, service_id, environment, finished_at, "
            "status, is_rollback, unplanned, emergency) SELECT 'test', 'late-1', id, "
            "'production', '2024-04-02 10:00:00', 'success', 0, 0, 0 FROM service LIMIT 1"))
    assert copyscan.scan(eng, "deployments") is None
    capsys.readouterr()
    assert main(["--db", f"sqlite:///{db}", "init"]) == 0
    said = capsys.readouterr().out
    assert "read copy brought up to date" in said and "rewritten: deployments, changes)" in said
    assert all(copyscan.current_file(eng, name) is not None for name in readcopy.TABLES)
    assert queries.deployments(eng).height == 1 + pl.read_csv(examples / "deployments.csv").height
    written = readcopy.manifest(eng)["written_at"]
    assert main(["--db", f"sqlite:///{db}", "init"]) == 0
    assert "read copy" not in capsys.readouterr().out
    assert readcopy.manifest(eng)["written_at"] == written
    shutil.rmtree(readcopy.copy_dir(eng))
    assert main(["--db", f"sqlite:///{db}", "init"]) == 0
    assert "rewritten: deployments, changes, incidents" in capsys.readouterr().out
    assert copyscan.scan(eng, "deployments") is not None
