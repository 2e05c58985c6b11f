"""The fast paths of large imports give what the plain paths give (issue 17.4).

- references are resolved by index probes or by one index scan (``stored.lookup_refs``): both
  return the rows a plain ``SELECT`` filtered in Python returns, and an id held by two other
  sources is refused naming both;
- the read copy's child process (ADBC, service columns joined in polars) writes the same files
  as the in-process read through the store's own connection.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.ingest.importer import import_files
from analytics.ingest.stored import lookup_refs
from analytics.ingest.validate import InvalidImport
from analytics.store import readcopy
from analytics.store.db import get_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"


def _deployments(path: Path, ids: list[str]) -> Path:
    path.write_text("id,service,environment,finished_at,status\n" + "".join(
        f"{i},checkout,production,2026-01-0{1 + n % 9}T10:00:00Z,success\n" for n, i in enumerate(ids)))
    return path


def _changes(path: Path, deployment: str) -> Path:
    path.write_text(f"deployment_id,change_id,committed_at\n{deployment},c1,2026-01-01T09:00:00Z\n")
    return path


def _stored(engine: Engine, wanted: set[str]) -> list[tuple[str, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT external_id, id, source FROM deployment")).all()
    return sorted((e, i, s) for e, i, s in rows if e in wanted)


@pytest.mark.parametrize("share", ["few ids (index probes)", "most ids (one index scan)"])
def test_references_are_found_whatever_their_source(engine, tmp_path, share):
    ids = [f"d{n}" for n in range(30)]
    import_files(engine, "deployments", [_deployments(tmp_path / "a.csv", ids)], source="a")
    import_files(engine, "deployments", [_deployments(tmp_path / "b.csv", ids[:10])], source="b")
    wanted = ids[:3] + ["nowhere"] if share.startswith("few") else ids + ["nowhere"]
    with engine.connect() as conn:
        got = lookup_refs(conn, "deployment", wanted)
    found = sorted(got.filter(pl.col("ext").is_in(wanted)).rows())
    assert found == _stored(engine, set(wanted))
    assert len(found) == len(wanted) - 1 + sum(w in ids[:10] for w in wanted)  # d0–d9 twice


def test_a_reference_resolves_to_its_own_source_else_to_the_only_match(engine, tmp_path):
    import_files(engine, "deployments", [_deployments(tmp_path / "a.csv", ["d1", "d2"])], source="a")
    import_files(engine, "deployments", [_deployments(tmp_path / "b.csv", ["d1"])], source="b")
    import_files(engine, "changes", [_changes(tmp_path / "c1.csv", "d1")], source="b")
    import_files(engine, "changes", [_changes(tmp_path / "c2.csv", "d2")], source="b")
    with engine.connect() as conn:
        got = conn.execute(text("SELECT c.external_id, d.source, d.external_id FROM change c "
                                "JOIN deployment d ON d.id = c.deployment_id ORDER BY 1")).all()
    assert [tuple(r) for r in got] == [("d1|c1", "b", "d1"), ("d2|c1", "a", "d2")]
    with pytest.raises(InvalidImport) as exc:
        import_files(engine, "changes", [_changes(tmp_path / "c3.csv", "d1")], source="c")
    assert "matches deployment rows of several sources (a, b)" in str(exc.value)
    assert "row 2" in str(exc.value) and "deployment_id" in str(exc.value)


def test_the_copy_child_writes_what_the_in_process_read_writes(tmp_path, monkeypatch):
    engine = get_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(engine)
    for kind, name in [("services", "services.csv"), ("deployments", "deployments.csv"),
                       ("changes", "changes.csv"), ("incidents", "incidents.csv"),
                       ("tickets", "tickets.csv"), ("csat", "csat.jsonl")]:
        import_files(engine, kind, [EXAMPLES / name], actor="tester")
    # A ticket of no service: the child's left join keeps it, with empty service columns.
    (tmp_path / "t.csv").write_text("id,opened_at\nT-none,2026-01-02T10:00:00Z\n")
    import_files(engine, "tickets", [tmp_path / "t.csv"], actor="tester")
    names = [n for n in readcopy.TABLES if n != "attributions"]
    for folder, child_rows in (("plain", 10**9), ("child", 0)):
        monkeypatch.setattr(readcopy, "CHILD_ROWS", child_rows)
        (tmp_path / folder).mkdir()
        rows = readcopy._write_tables(engine, tmp_path / folder, names)
    assert rows["tickets"] == 2 and rows["deployments"] > 1
    for name in names:
        plain = pl.read_parquet(tmp_path / "plain" / f"{name}.parquet")
        child = pl.read_parquet(tmp_path / "child" / f"{name}.parquet")
        assert child.schema == plain.schema, name
        assert child.sort("id" if "id" in child.columns else ["slo_id", "ts"]).equals(
            plain.sort("id" if "id" in plain.columns else ["slo_id", "ts"])), name
    tickets = pl.read_parquet(tmp_path / "child" / "tickets.parquet")
    assert tickets.filter(pl.col("service_id").is_null())["service"].to_list() == [None]
    assert tickets.filter(pl.col("service_id").is_not_null())["service"].null_count() == 0
