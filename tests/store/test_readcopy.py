"""The columnar read copy: every report gives the same JSON from the copy as from SQL (on the demo
and on a randomized store), a stale copy is never read, and the app/CLI process never loads a
second SQLite library (issue 17)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from analytics.cli import main
from analytics.cli.report import REPORTS
from analytics.store import copyscan, queries, readcopy
from analytics.store.db import get_engine, migrate
from analytics.store.queries import Filters

ROOT = Path(__file__).resolve().parents[2]
# Required options of the reports that have some (the demo's last full month for the SLA).
ARGS = {"sla": ["--month", "2026-10"], "resolution-sla": ["--targets", "P1=4h,P2=8h"],
        "threshold-replay": ["--metric", "error_rate", "--service", "checkout", "--threshold",
                             "0.05"],
        "rollback-replay": ["--service", "checkout", "--threshold", "0.05"]}
# uci-sla-timers reads the UCI event-log file it is given, not the store.
STORE_REPORTS = [name for name in REPORTS if name != "uci-sla-timers"]
# Reports that read no event table from the copy (SLA contracts, outages and windows).
NO_EVENT_READS = {"sla"}
SECOND_SQLITE = ("adbc_driver_sqlite", "connectorx", "duckdb", "apsw", "pysqlite3")


def _sqlite(path: Path) -> Engine:
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the read-copy comparison runs on SQLite stores it builds itself")
    eng = get_engine(f"sqlite:///{path}")
    migrate(eng)
    return eng


def _subsample(frames: dict[str, pl.DataFrame], rng: random.Random) -> dict[str, pl.DataFrame]:
    """A random fraction of each event table; references to dropped rows are set to NULL (or
    the referring row dropped when the reference is required)."""
    from analytics.demo import TABLE_ORDER

    kept: dict[str, set[int]] = {}
    out: dict[str, pl.DataFrame] = {}
    for table in TABLE_ORDER:
        frame = frames.get(table)
        if frame is None:
            continue
        if table in ("deployment", "incident", "ticket", "csat_response", "sli_sample"):
            share = rng.uniform(0.05, 0.2)
            frame = frame.filter(pl.Series([rng.random() < share for _ in range(frame.height)]))
        for col in SQLModel.metadata.tables[table].columns:
            for fk in col.foreign_keys:
                target = fk.column.table.name
                if target not in kept or col.name not in frame.columns:
                    continue
                alive = pl.col(col.name).is_in(list(kept[target])) | pl.col(col.name).is_null()
                frame = (frame.with_columns(pl.when(alive).then(pl.col(col.name)).otherwise(None)
                                            .alias(col.name))
                         if col.nullable else frame.filter(alive))
        if "id" in frame.columns:
            kept[table] = set(frame["id"].to_list())
        out[table] = frame
    return out


def _store(path: Path, frames: dict[str, pl.DataFrame]) -> Engine:
    from analytics import demo

    eng = _sqlite(path)
    demo.load(eng, frames)
    assert readcopy.refresh(eng) is not None
    return eng


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from analytics import demo
    from tests.conftest import DEMO_END

    yield _store(tmp_path_factory.mktemp("rc") / "demo.db", demo.generate(seed=7, end=DEMO_END))


@pytest.fixture(scope="module")
def random_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from datetime import date

    from analytics import demo

    rng = random.Random(17)
    seed = rng.randrange(1, 10_000)
    end = date(2026, rng.randrange(1, 12), rng.randrange(1, 28))
    yield _store(tmp_path_factory.mktemp("rc") / "random.db",
                 _subsample(demo.generate(seed=seed, end=end), rng))


def _report(engine: Engine, name: str, copy: str, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture) -> tuple[int, str]:
    monkeypatch.setenv("WORKBENCH_READ_COPY", copy)
    code = main(["--db", engine.url.render_as_string(hide_password=False), "report", name,
                 *ARGS.get(name, []), "--format", "json"])
    out = capsys.readouterr()
    return code, out.out if code == 0 else out.err


@pytest.mark.parametrize("store", ["demo_store", "random_store"])
@pytest.mark.parametrize("name", STORE_REPORTS)
def test_every_report_is_the_same_from_the_copy(store: str, name: str,
                                                request: pytest.FixtureRequest,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    engine = request.getfixturevalue(store)
    reads: list[str] = []
    real_scan = copyscan.scan

    def counting(eng: Engine, table: str) -> pl.LazyFrame | None:
        found = real_scan(eng, table)
        if found is not None:
            reads.append(table)
        return found

    monkeypatch.setattr(copyscan, "scan", counting)
    via_sql = _report(engine, name, "off", monkeypatch, capsys)
    assert reads == []
    via_copy = _report(engine, name, "on", monkeypatch, capsys)
    assert via_copy[0] == via_sql[0]
    if via_sql[0] == 0:
        assert bool(reads) == (name not in NO_EVENT_READS), reads
        assert _rounded(json.loads(via_copy[1])) == _rounded(json.loads(via_sql[1]))
    else:
        assert via_copy == via_sql


def _rounded(value: object) -> object:
    """``value`` with floats to 12 significant digits: polars' parallel group-by sums floats
    in a varying order, so two runs of one report on one path differ in the last bit."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.mark.parametrize("read", ["deployments", "changes", "incidents", "tickets", "csat",
                                  "sli_samples"])
def test_each_read_is_the_same_frame_both_ways(demo_store: Engine, read: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A filtered read (period, team, environment) gives the same rows, columns and dtypes."""
    from datetime import date

    fn = getattr(queries, read)
    filters = Filters(start=date(2026, 9, 1), end=date(2026, 10, 15),
                      teams=("payments", "platform"), environment="production",
                      timezone="Europe/Berlin")
    monkeypatch.setenv("WORKBENCH_READ_COPY", "off")
    sql = fn(demo_store, filters)
    monkeypatch.setenv("WORKBENCH_READ_COPY", "on")
    assert copyscan.scan(demo_store, read) is not None
    copy = fn(demo_store, filters)
    assert copy.height == sql.height > 0
    for col, dtype in sql.schema.items():
        if dtype != pl.Null:  # a column with no value in the period has no SQLite type
            assert copy.schema[col] == dtype, col
    typed_sql = sql.cast({c: copy.schema[c] for c, t in sql.schema.items() if t == pl.Null})
    # SQL without ORDER BY returns rows in the planner's order (by service when a team filter
    # uses the service index); the copy returns them in key order.
    key = ["slo_id", "ts"] if read == "sli_samples" else ["id"]
    assert copy.select(sql.columns).equals(typed_sql.sort(key))
    assert all(t == pl.Int64 for t in copy.schema.values() if t.is_integer())
    assert copy["id" if "id" in copy.columns else "slo_id"].dtype == pl.Int64


def test_stale_copy_falls_back_and_refresh_rewrites_only_what_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.ingest.importer import import_files

    examples = ROOT / "analytics" / "ingest" / "examples"
    eng = _sqlite(tmp_path / "store.db")
    import_files(eng, "services", [examples / "services.csv"])
    import_files(eng, "deployments", [examples / "deployments.csv"])
    found = readcopy.manifest(eng)
    assert found is not None and copyscan.scan(eng, "deployments") is not None
    assert found["tables"]["deployments"]["rows"] == queries.deployments(eng).height > 0
    # The import of deployments rewrote the deployments file, not the others: the changes file
    # is kept too, as the import only inserted deployments, which no stored change names.
    assert set(found["rewritten"]) == {"deployments"}
    before = queries.deployments(eng).height
    # A write that does not refresh the copy (a bare SQL insert): the copy is stale.
    with eng.begin() as conn:
        conn.execute(text(
            "INSERT INTO deployment (source, external_id, service_id, environment, finished_at, "
            "status, is_rollback, unplanned, emergency) SELECT 'test', 'late-1', id, "
            "'production', '2024-04-02 10:00:00', 'success', 0, 0, 0 FROM service LIMIT 1"))
    assert copyscan.scan(eng, "deployments") is None
    assert queries.deployments(eng).height == before + 1  # from SQL
    assert readcopy.refresh(eng, {"deployment"})["rewritten"] == ["deployments", "changes"]
    assert copyscan.scan(eng, "deployments") is not None
    assert queries.deployments(eng).height == before + 1  # from the copy
    # A write to no source table of the copy (an audit entry: a notification, a register row,
    # an approval) leaves it current; an import batch (which may only update rows) does not.
    from sqlmodel import Session

    from analytics.store import audit

    with Session(eng) as session:
        audit.record(session, actor="test", action="export", entity="test", detail={})
        session.commit()
    assert copyscan.scan(eng, "deployments") is not None
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO import_batch (source, kind, actor, started_at, files, inserted, updated, unchanged, rejected, status) "
                          "VALUES ('test', 'deployments', 'test', '2024-04-03 00:00:00', '[]', 0, 0, 0, 0, 'done')"))
    assert copyscan.scan(eng, "deployments") is None


def test_purge_removes_redacted_text_from_the_copy(tmp_path: Path) -> None:
    from analytics.governance import purge
    from analytics.ingest.importer import import_files

    examples = ROOT / "analytics" / "ingest" / "examples"
    eng = _sqlite(tmp_path / "store.db")
    for kind, name in (("services", "services.csv"), ("deployments", "deployments.csv"),
                       ("incidents", "incidents.csv"), ("tickets", "tickets.csv")):
        import_files(eng, kind, [examples / name])
    folder = readcopy.copy_dir(eng)
    assert folder is not None
    texts = pl.read_parquet(folder / "tickets.parquet")["text"]
    assert texts.drop_nulls().len() > 0
    purge.apply(eng, actor="test")  # the example tickets are older than a year
    assert pl.read_parquet(folder / "tickets.parquet")["text"].drop_nulls().len() == 0
    assert copyscan.scan(eng, "tickets") is not None


CHILD = """
import json, sys
from pathlib import Path
from analytics.cli import main
code = main(["--db", sys.argv[1], "report", "delivery", "--format", "json"])
assert code == 0, code
# An import whose batches are staged (forced from one row) and a whole-store load: ADBC's
# SQLite writes in a child process, not here.
from analytics.demo import generate
from analytics.ingest.importer import import_files
from analytics.store import bulk
from analytics.store.db import get_engine, migrate
bulk.STAGE_ROWS = 1
examples = Path(sys.argv[2]).parent / "analytics" / "ingest" / "examples"
eng = get_engine(sys.argv[3])
migrate(eng)
import_files(eng, "services", [examples / "services.csv"])
assert import_files(eng, "deployments", [examples / "deployments.csv"]).inserted > 0
loaded = get_engine(sys.argv[4])
migrate(loaded)
frames = generate(seed=7)
assert bulk.load_tables(loaded, {"service": frames["service"]})["service"] > 0
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[2], default_timeout=120).run()
assert not at.exception, at.exception
maps = [line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
        if "libsqlite3" in line or "sqlite" in line.split()[-1].lower()]
print(json.dumps({"modules": sorted(m for m in sys.modules if m.split(".")[0] in %r),
                  "sqlite_files": sorted(set(maps))}))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_the_cli_and_a_page_load_one_sqlite_library(demo_store: Engine, tmp_path: Path) -> None:
    """The corruption scenario of issue 17 needs two SQLite libraries in one process: a report,
    a staged import, a whole-store load and a page, with a current copy, load only the stdlib's
    (the copy's reader is Parquet; ADBC writes in child processes)."""
    assert copyscan.scan(demo_store, "deployments") is not None
    url = demo_store.url.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD % (SECOND_SQLITE,), url,
                           str(ROOT / "app.py"), f"sqlite:///{tmp_path / 'imported.db'}",
                           f"sqlite:///{tmp_path / 'loaded.db'}"], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["modules"] == []
    # The stdlib's binding module (_sqlite3.cpython-…so) links libsqlite3; ADBC would add
    # libadbc_driver_sqlite.so (its own SQLite), DuckDB its extension, and so on.
    libs = [p for p in seen["sqlite_files"] if ".so" in p and "/_sqlite3." not in p]
    assert len(libs) == 1 and "libsqlite3" in libs[0], libs


@pytest.mark.parametrize("kind", ["deployments", "incidents", "tickets"])
def test_month_counts_written_with_the_copy_equal_a_group_by(demo_store: Engine, kind: str,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    """Default periods come from the per-month summary written beside each file: it equals the
    SQL GROUP BY of the store, and the bulk (default period) is the same either way."""
    from analytics.store import extent

    table, ts = extent.EXTENT_TABLES[kind]
    folder = readcopy.copy_dir(demo_store)
    assert folder is not None and (folder / f"{kind}.months.parquet").is_file()
    summary = copyscan.months(demo_store, kind, ts)
    grouped = extent._months_sql(demo_store, table, ts)
    assert summary is not None and summary["month"].to_list() == grouped["month"].to_list()
    assert summary["n"].to_list() == grouped["n"].to_list()
    monkeypatch.setenv("WORKBENCH_READ_COPY", "off")
    by_sql = extent.bulk_of(demo_store, kind)
    monkeypatch.setenv("WORKBENCH_READ_COPY", "on")
    assert extent.bulk_of(demo_store, kind) == by_sql


@pytest.mark.parametrize("read", ["tickets", "csat"])
def test_a_narrow_read_is_the_same_columns_of_the_full_one(demo_store: Engine, read: str,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    """``columns=`` reads the asked columns (and ``id``) and the same rows, from SQL and from
    the copy; an unknown column is an error naming it."""
    from datetime import date

    fn = getattr(queries, read)
    filters = Filters(start=date(2026, 9, 1), end=date(2026, 9, 30), teams=("payments",))
    cols = ["service", "team", "criticality"]
    for copy in ("off", "on"):
        monkeypatch.setenv("WORKBENCH_READ_COPY", copy)
        full, narrow = fn(demo_store, filters), fn(demo_store, filters, columns=cols)
        assert narrow.columns == ["id", *cols]
        assert narrow.height > 0 and narrow.equals(full.select(narrow.columns))
    with pytest.raises(ValueError, match="no such column: colour"):
        fn(demo_store, filters, columns=["colour"])


@pytest.mark.parametrize("store", ["demo_store", "random_store"])
def test_major_incidents_affected_customers_are_the_same_from_the_copy(
        store: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.reports import periods
    from analytics.reports.learning import major_incidents

    engine = request.getfixturevalue(store)
    filters, _ = periods.fill(engine, Filters(environment="production"))
    monkeypatch.setenv("WORKBENCH_READ_COPY", "off")
    via_sql = major_incidents(engine, filters)
    monkeypatch.setenv("WORKBENCH_READ_COPY", "on")
    assert copyscan.scan(engine, "tickets") is not None  # the copy is current: it is read
    via_copy = major_incidents(engine, filters)
    assert via_sql["affected_customers"].sum() > 0
    assert via_copy.equals(via_sql)


@pytest.mark.parametrize("store", ["demo_store", "random_store"])
def test_data_quality_counts_are_the_same_from_the_copy(
        store: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.reports.summary import data_quality

    engine = request.getfixturevalue(store)
    monkeypatch.setenv("WORKBENCH_READ_COPY", "off")
    via_sql = data_quality(engine)
    monkeypatch.setenv("WORKBENCH_READ_COPY", "on")
    assert copyscan.scan(engine, "changes") is not None  # the copy is current: it is read
    via_copy = data_quality(engine)
    commits = "commits after their deployment finished"
    assert via_sql.filter(pl.col("check") == commits)["rows"].item() > 0  # the demo plants some
    assert via_copy.equals(via_sql)


@pytest.mark.parametrize("ids", [[1, 2, 3, 4], [3, 1, 4, 2], [2, 1, 3, 4]])
def test_a_read_comes_in_id_order_whatever_the_file_order(ids: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is in time order; rows come back by id, sorted only when they are not already
    (ids given as events happened), and in file order when no order is asked for."""
    from datetime import datetime

    frame = pl.DataFrame({"id": ids, "at": [datetime(2026, 1, d) for d in (1, 2, 3, 4)],
                          "x": ["a", "b", "c", "d"]})
    monkeypatch.setattr(copyscan, "scan", lambda _engine, _table: frame.lazy())
    got = copyscan.read(None, "tickets", Filters(), "at", ["id", "at", "x"])  # type: ignore[arg-type]
    assert got["id"].to_list() == sorted(ids)
    assert got.equals(frame.sort("id"))
    unordered = copyscan.read(None, "tickets", Filters(), "at", ["id", "x"], order=())  # type: ignore[arg-type]
    assert unordered.equals(frame.select("id", "x"))


@pytest.mark.parametrize("store", ["demo_store", "random_store"])
def test_newest_from_row_group_statistics_equals_sql(store: str, request: pytest.FixtureRequest,
                                                     ) -> None:
    """The copy's footer statistics give SQL's max of each timestamp column (ticket_sla's
    default instant without reading a column); a column that is not a timestamp: None."""
    from analytics.store.db import read_frame

    engine = request.getfixturevalue(store)
    got = copyscan.newest(engine, "tickets", ["opened_at", "closed_at", "first_response_at"])
    want = read_frame(engine, "SELECT max(opened_at) AS a, max(closed_at) AS b, "
                              "max(first_response_at) AS c FROM ticket").row(0)
    assert got == list(want)
    assert copyscan.newest(engine, "tickets", ["severity"]) is None


@pytest.mark.parametrize("store", ["demo_store", "random_store"])
def test_ticket_sla_summary_is_the_same_from_the_copy(store: str, request: pytest.FixtureRequest,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The SLAs page's ticket summary (four columns, in any order, from the copy) equals the full
    report's summary from SQL, for the default period, a team and a service."""
    from analytics.reports.ticket_sla import ticket_sla
    from analytics.reports.ticket_sla_summary import ticket_sla_summary

    engine = request.getfixturevalue(store)
    services = queries.services(engine)
    for filters in (Filters(), Filters(teams=(services["team"][0],)),
                    Filters(services=(services["service"][-1],))):
        monkeypatch.setenv("WORKBENCH_READ_COPY", "off")
        try:
            want = ticket_sla(engine, filters=filters)
        except Exception as exc:  # noqa: BLE001 (a subsample may have no ticket there)
            monkeypatch.setenv("WORKBENCH_READ_COPY", "on")
            with pytest.raises(type(exc)):
                ticket_sla_summary(engine, filters=filters)
            continue
        monkeypatch.setenv("WORKBENCH_READ_COPY", "on")
        got = ticket_sla_summary(engine, filters=filters)
        assert got.summary.equals(want.summary)
        assert (got.at, got.unprioritised, got.response_measured) == \
            (want.at, want.unprioritised, want.response_measured)


def test_changes_of_some_commits_are_those_rows_of_the_full_read(
        demo_store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """``changes(commits=…)`` (the delivery facts' root-cause lookup) and ``columns=`` give the
    rows and columns of the full read that carry those commits, from SQL and from the copy;
    no commit gives no row."""
    from datetime import date

    filters = Filters(start=date(2026, 9, 1), end=date(2026, 9, 30), environment="production")
    for copy in ("off", "on"):
        monkeypatch.setenv("WORKBENCH_READ_COPY", copy)
        full = queries.changes(demo_store, filters)
        picked = full["commit_id"].gather([0, full.height // 2, full.height - 1]).to_list()
        some = queries.changes(demo_store, filters, columns=["commit_id", "deployment_id"],
                               commits=[*picked, "no-such-commit"])
        expected = full.filter(pl.col("commit_id").is_in(picked)).select(some.columns)
        assert some.columns == ["id", "commit_id", "deployment_id"]
        assert some.height >= 3 and some.equals(expected)
        assert queries.changes(demo_store, filters, commits=[]).height == 0
        lean = queries.changes(demo_store, filters, columns=["committed_at", "deployment_id"])
        assert lean.equals(full.select("id", "committed_at", "deployment_id"))
