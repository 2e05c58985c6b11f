"""Hostile files (issue "Hardening"): bombs, links, crashes and silently wrong data are refused.

Every refusal is exit 2 (InvalidImport) with the file named, and the store is left unchanged.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analytics.cli import main
from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
DEPLOY_HEADER = b"id,service,environment,finished_at,status\n"
BOMB_MIB = 1024  # 1 GiB of zeros: ~1 MB gzipped
PEAK_LIMIT_MB = 300

# Runs an import in a grandchild and prints its peak memory (ru_maxrss, KiB on Linux):
# RUSAGE_CHILDREN of the test process itself would include every earlier child. The grandchild
# calls import_files, the entry point the CLI and the Import page share (the CLI's own start-up
# imports every command's modules, which is not the importer's memory).
WRAPPER = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": proc.returncode, "err": proc.stderr, "peak_kib": peak}))
"""
IMPORT = """
import sys
from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport
from analytics.store.db import get_engine
try:
    import_files(get_engine(sys.argv[1]), "deployments", [sys.argv[2]])
except InvalidImport as exc:
    sys.exit(exc.describe())
"""


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _refused(engine, dump, kind, paths, *expected, **kw):
    """Import must raise InvalidImport whose text holds ``expected``; the store is unchanged."""
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, kind, paths, **kw)
    for part in expected:
        assert part in str(err.value), str(err.value)
    assert dump(engine) == before
    return str(err.value)


# ------------------------------------------------------------------------------ 1. bombs


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A deployments CSV whose gzip is ~1 MB and expands to 1 GiB (written in 1 MiB chunks)."""
    path = tmp_path_factory.mktemp("bomb") / "deployments.csv.gz"
    zeros = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write(DEPLOY_HEADER)
        for _ in range(BOMB_MIB):
            gz.write(zeros)
    return path


@pytest.mark.parametrize("name", ["deployments.csv.gz", "deployments.jsonl.gz"])
def test_gzip_bomb_is_refused_before_memory_grows(engine, dump, bomb, tmp_path, name):
    path = tmp_path / name
    os.link(bomb, path)  # the same bytes under another name (a symlink would be refused)
    before = dump(engine)
    cmd = [sys.executable, "-c", WRAPPER, sys.executable, "-c", IMPORT, _url(engine), str(path)]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT,
                                    env=os.environ | {"WORKBENCH_MAX_EXPANDED_MB": ""}).stdout)
    assert out["code"] == 1, out["err"]  # refused (sys.exit with the message)
    assert name in out["err"] and "decompression bomb" in out["err"]
    assert out["err"].count("\n") == 2  # the summary line and one problem line
    assert out["peak_kib"] / 1024 <= PEAK_LIMIT_MB, f"peak {out['peak_kib'] / 1024:.0f} MB"
    assert dump(engine) == before


def test_gzip_bomb_on_the_cli_exits_2_naming_the_file(engine, dump, bomb, capsys):
    before = dump(engine)
    assert main(["--db", _url(engine), "import", "deployments", str(bomb)]) == 2
    err = capsys.readouterr().err
    assert f"{bomb}: refused as a likely decompression bomb" in err and "(to over 17 MB)" in err
    assert dump(engine) == before


def test_expanded_size_cap_is_the_setting(engine, dump, tmp_path, monkeypatch):
    # 2.5 MB of ordinary rows (ratio far below 100) pass at the default cap, not at a 1 MB cap.
    rows = "".join(f"d{i},web,production,2024-05-01T10:00:00Z,success\n" for i in range(50_000))
    path = tmp_path / "deployments.csv.gz"
    path.write_bytes(gzip.compress(DEPLOY_HEADER + rows.encode()))
    monkeypatch.setenv("WORKBENCH_MAX_EXPANDED_MB", "1")
    _refused(engine, dump, "deployments", [path], "deployments.csv.gz",
             "expands to more than 1 MB (WORKBENCH_MAX_EXPANDED_MB)")
    monkeypatch.delenv("WORKBENCH_MAX_EXPANDED_MB")
    assert import_files(engine, "deployments", [path]).inserted == 50_000


def test_expanded_cap_defaults_to_a_multiple_of_the_upload_limit():
    from analytics.settings import EXPANSION_FACTOR, get_settings

    assert get_settings({"WORKBENCH_UPLOAD_LIMIT_MB": "40"}).max_expanded_mb == 40 * EXPANSION_FACTOR
    assert get_settings({"WORKBENCH_MAX_EXPANDED_MB": "7"}).max_expanded_mb == 7


def test_parquet_that_declares_a_huge_table_is_refused(engine, dump, tmp_path, monkeypatch):
    # 300,000 rows × 5 columns of one repeated value: a few KB on disk, ≥ 12 MB once read.
    path = tmp_path / "deployments.parquet"
    pl.DataFrame({"id": ["d"] * 300_000, "service": "web", "environment": "production",
                  "finished_at": "2024-05-01T10:00:00Z", "status": "success"}).write_parquet(path)
    assert path.stat().st_size < 100_000
    monkeypatch.setenv("WORKBENCH_MAX_EXPANDED_MB", "10")
    _refused(engine, dump, "deployments", [path], "deployments.parquet", "WORKBENCH_MAX_EXPANDED_MB")


def test_upload_of_a_bomb_is_refused_by_the_preview():
    from analytics.ingest.importer import preview

    raw = gzip.compress(DEPLOY_HEADER + bytes(64 << 20), compresslevel=9)
    result = preview(None, raw, "deployments.csv.gz")
    assert result["total_problems"] == 1 and "decompression bomb" in result["problems"][0]
    assert result["problems"][0].startswith("deployments.csv.gz: ")


# ------------------------------------------------------------------------------ 2. upload limit


def test_serve_gives_streamlit_the_upload_limit(monkeypatch):
    from analytics.cli.serve import streamlit_argv

    monkeypatch.setenv("WORKBENCH_UPLOAD_LIMIT_MB", "37")
    argv = streamlit_argv("127.0.0.1", 8616)
    assert argv[argv.index("--server.maxUploadSize") + 1] == "37"


# ------------------------------------------------------------------------------ 3. crashes


def test_sli_naming_an_unknown_slo_exits_2(engine, dump, tmp_path, capsys):
    path = tmp_path / "sli.csv"
    path.write_text("slo,ts,good,total\nno-such-slo,2024-05-01T00:00:00Z,9,10\n")
    before = dump(engine)
    assert main(["--db", _url(engine), "import", "sli", str(path)]) == 2
    assert ("sli.csv, row 2, column 'slo', value 'no-such-slo': no slo with this id"
            in capsys.readouterr().err)
    assert dump(engine) == before


def test_openslo_objectives_as_a_mapping_exits_2(engine, dump, tmp_path, capsys):
    path = tmp_path / "slo.yaml"
    path.write_text("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: checkout}\n"
                    "spec: {service: checkout, objectives: {target: 0.99}}\n")
    before = dump(engine)
    assert main(["--db", _url(engine), "import", "openslo", str(path)]) == 2
    assert "slo.yaml, row 1, column 'objectives'" in capsys.readouterr().err
    assert dump(engine) == before


# ------------------------------------------------------------------------------ 4. wrong data


def test_non_utf8_bytes_are_refused_naming_row_and_column(engine, dump, tmp_path):
    path = tmp_path / "deployments.csv"
    path.write_bytes(DEPLOY_HEADER + "d1,café,production,2024-05-01T10:00:00Z,success\n".encode("cp1252"))
    _refused(engine, dump, "deployments", [path], "deployments.csv, row 2, column 'service'",
             "not UTF-8 text")
    result = import_files(engine, "deployments", [path], encoding="cp1252")
    assert result.inserted == 1
    with engine.connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT name FROM service")).scalar_one() == "café"


def test_encoding_flag_on_the_cli(engine, tmp_path, capsys):
    path = tmp_path / "deployments.csv"
    path.write_bytes(DEPLOY_HEADER + "d1,zürich,production,2024-05-01T10:00:00Z,success\n".encode("latin-1"))
    assert main(["--db", _url(engine), "import", "deployments", str(path), "--encoding", "latin-1"]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 1
    assert main(["--db", _url(engine), "import", "deployments", str(path), "--encoding", "klingon"]) == 2
    assert "unknown text encoding" in capsys.readouterr().err


def test_json_object_as_an_id_or_name_is_refused(engine, dump, tmp_path):
    path = tmp_path / "deployments.jsonl"
    path.write_text(json.dumps({"id": {"n": 1}, "service": ["web"], "environment": "production",
                                "finished_at": "2024-05-01T10:00:00Z", "status": "success"}) + "\n")
    _refused(engine, dump, "deployments", [path], "row 1, column 'id', value '{\"n\": 1}'",
             "row 1, column 'service'", "not a JSON object or array")
    gitlab = tmp_path / "gitlab.json"
    gitlab.write_text(json.dumps([{"id": {"x": 1}, "status": "success", "updated_at": "2024-05-01T10:00:00Z",
                                   "environment": {"name": "production"}}]))
    _refused(engine, dump, "gitlab", [gitlab], "gitlab.json, row 1, column 'id'", "not a JSON object")


def test_csv_cut_mid_value_is_refused(engine, dump, tmp_path):
    path = tmp_path / "deployments.csv"
    path.write_bytes(b"id,service,environment,finished_at,status,team\n"
                     b"d1,web,production,2024-05-01T10:00:00Z,success,Card paym")
    _refused(engine, dump, "deployments", [path], "deployments.csv, row 2", "no line end")
    path.write_bytes(path.read_bytes() + b"ents\n")
    assert import_files(engine, "deployments", [path]).inserted == 1


@pytest.mark.parametrize(("kind", "name", "doc", "expected"), [
    ("jenkins", "jenkins.json", {"builds": [{"number": 1, "result": "EXPLODED", "timestamp": 1,
                                             "duration": 2, "url": "http://ci/job/api/1/"}]},
     "row 1, column 'result', value 'EXPLODED': unknown state (one of SUCCESS, FAILURE"),
    ("gitlab", "gitlab.json", [{"id": 5, "status": "exploded", "deployable": {"status": "success"}}],
     "row 1, column 'status', value 'exploded': unknown state (one of created, running, success"),
])
def test_unknown_tool_states_are_refused_with_the_allowed_list(engine, dump, tmp_path, kind, name,
                                                              doc, expected):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    _refused(engine, dump, kind, [path], f"{name}, {expected}")


def _uci(rows: list[dict[str, str]]) -> bytes:
    base = {"number": "INC1", "incident_state": "New", "opened_at": "1/3/2016 09:00",
            "category": "Category 1", "priority": "3 - Moderate", "problem_id": "?", "rfc": "?",
            "resolved_at": "?", "closed_at": "?", "made_sla": "true"}
    return pl.DataFrame([base | r for r in rows]).write_csv().encode()


def test_uci_unknown_state_and_overlong_service_are_refused(engine, dump, tmp_path):
    path = tmp_path / "incident_event_log.csv"
    path.write_bytes(_uci([{}, {"incident_state": "Exploded"}]))
    _refused(engine, dump, "uci-incidents", [path], "row 3, column 'incident_state', value 'Exploded'",
             "unknown state (one of New, Active")
    path.write_bytes(_uci([{"category": "x" * 50_000}]))
    _refused(engine, dump, "uci-incidents", [path], "column 'category'", "longer than 200 characters")
    path.write_bytes(_uci([{}, {"incident_state": "Closed", "resolved_at": "2/3/2016 10:00"}]))
    assert import_files(engine, "uci-incidents", [path]).inserted == 1


@pytest.mark.parametrize(("kind", "name", "doc", "expected"), [
    ("gitlab", "gitlab.json",
     [{"id": 7, "status": "success", "updated_at": "2024-05-01T10:00:00Z",
       "environment": {"name": "production"},
       "deployable": {"pipeline": {"web_url": "http://h/g/shop/pipelines/1"}}},
      {"id": 7, "status": "canceled"}],
     "row 2, column 'status', value 'canceled': id 7 already has status 'success' (row 1)"),
    ("jenkins", "jenkins.json",
     {"builds": [{"number": 3, "result": None, "timestamp": 1, "duration": 0, "url": "http://ci/job/api/3/"},
                 {"number": 3, "result": "SUCCESS", "timestamp": 1, "duration": 5,
                  "url": "http://ci/job/api/3/"}]},
     "row 2, column 'result', value 'SUCCESS': id 3 already has result None (row 1)"),
])
def test_one_id_with_conflicting_states_in_one_file_is_refused(engine, dump, tmp_path, kind, name,
                                                               doc, expected):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    _refused(engine, dump, kind, [path], f"{name}, {expected}")


def test_openslo_without_a_service_is_refused(engine, dump, tmp_path):
    path = tmp_path / "slo.yaml"
    path.write_text("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: checkout}\n"
                    "spec: {objectives: [{target: 0.99}]}\n")
    _refused(engine, dump, "openslo", [path], "slo.yaml, row 1, column 'spec.service': required")


BOM = b"\xef\xbb\xbf"


def test_utf8_bom_is_accepted_in_json_jsonl_yaml_and_toml(engine, tmp_path):
    row = {"id": "b1", "service": "web", "environment": "production",
           "finished_at": "2024-05-01T10:00:00Z", "status": "success"}
    (tmp_path / "deployments.jsonl").write_bytes(BOM + json.dumps(row).encode() + b"\n")
    assert import_files(engine, "deployments", [tmp_path / "deployments.jsonl"]).inserted == 1
    (tmp_path / "deployments.json").write_bytes(BOM + json.dumps([row | {"id": "b2"}]).encode())
    assert import_files(engine, "deployments", [tmp_path / "deployments.json"]).inserted == 1
    gitlab = [{"id": 9, "status": "success", "updated_at": "2024-05-01T10:00:00Z",
               "environment": {"name": "production"},
               "deployable": {"pipeline": {"web_url": "http://h/g/shop/pipelines/1"}}}]
    (tmp_path / "gitlab.json").write_bytes(BOM + json.dumps(gitlab).encode())
    assert import_files(engine, "gitlab", [tmp_path / "gitlab.json"]).inserted == 1
    (tmp_path / "slo.yaml").write_bytes(BOM + b"apiVersion: openslo/v1\nkind: SLO\nmetadata: "
                                        b"{name: s1}\nspec: {service: web, objectives: [{target: 0.9}]}\n")
    assert import_files(engine, "openslo", [tmp_path / "slo.yaml"]).inserted == 1
    mapping = BOM + (EXAMPLES / "mapping.toml").read_bytes()
    result = import_files(engine, "deployments", [EXAMPLES / "deployments-mapped.csv"], mapping=mapping)
    assert result.inserted == 2


# ------------------------------------------------------------------------------ 5. links


@pytest.fixture
def data_file(tmp_path) -> Path:
    """A valid deployments file outside the folders the tests import."""
    path = tmp_path / "outside" / "deployments.csv"
    path.parent.mkdir()
    path.write_bytes((EXAMPLES / "deployments.csv").read_bytes())
    return path


def test_symlink_path_needs_follow_symlinks(engine, dump, tmp_path, data_file, capsys):
    link = tmp_path / "link.csv"
    link.symlink_to(data_file)
    _refused(engine, dump, "deployments", [link], "link.csv: is a symbolic link; pass --follow-symlinks")
    assert main(["--db", _url(engine), "import", "deployments", str(link)]) == 2
    assert main(["--db", _url(engine), "import", "deployments", str(link), "--follow-symlinks"]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 3


def test_folder_never_reads_through_a_link_pointing_outside_it(engine, dump, tmp_path, data_file):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "deployments.csv").symlink_to(data_file)
    for follow in (False, True):
        _refused(engine, dump, "deployments", [folder], "deployments.csv: is a symbolic link to",
                 "outside the folder", follow_symlinks=follow)


def test_link_inside_a_folder_to_a_file_inside_it(engine, dump, tmp_path, data_file):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "real.csv").write_bytes(data_file.read_bytes())
    (folder / "alias.csv").symlink_to(folder / "real.csv")
    _refused(engine, dump, "deployments", [folder], "alias.csv: is a symbolic link; pass --follow-symlinks")
    with pytest.raises(InvalidImport, match="duplicate id"):  # now both names are read
        import_files(engine, "deployments", [folder], follow_symlinks=True)


def test_special_files_are_refused(engine, dump, tmp_path):
    fifo = tmp_path / "deployments.csv"
    os.mkfifo(fifo)
    _refused(engine, dump, "deployments", [fifo], "is not a regular file", follow_symlinks=True)
    _refused(engine, dump, "deployments", ["/dev/zero"], "/dev/zero: is not a regular file",
             follow_symlinks=True)
    with pytest.raises(InvalidImport, match="symbolic link"):
        link = tmp_path / "zero.csv"
        link.symlink_to("/dev/zero")
        import_files(engine, "deployments", [link])

