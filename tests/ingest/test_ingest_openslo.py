"""OpenSLO v1: import SLO and SLI documents, export them back, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analytics.cli import main
from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ingest"
COLUMNS = ("name, indicator, budgeting, target, window_kind, window_days, calendar_unit, timezone, "
           "slice_minutes, slice_target, description")


def test_documents_become_slo_rows(engine, read):
    r = import_files(engine, "openslo", [FIXTURES / "openslo-slos.yaml"])
    assert r.tables["slos"]["inserted"] == 3
    rows = read(engine, f"SELECT {COLUMNS} FROM slo ORDER BY name").rows()
    assert rows == [
        # two objectives → two SLOs; 4w = 28 days
        ("api-availability-gold", "api-ok", "occurrences", 0.9995, "rolling", 28, None, "UTC", None, None, "API answers"),
        ("api-availability-silver", "api-ok", "occurrences", 0.999, "rolling", 28, None, "UTC", None, None, "API answers"),
        # targetPercent 99.5 → 0.995; RatioTimeslices → timeslices; 1h slices = 60 minutes
        ("search-latency", "search-latency", "timeslices", 0.995, "calendar", None, "quarter",
         "Europe/Amsterdam", 60, 0.95, None)]


def test_export_then_import_round_trips(engine, tmp_path, read, capsys):
    import_files(engine, "openslo", [FIXTURES / "openslo-slos.yaml"])
    before = read(engine, f"SELECT {COLUMNS} FROM slo ORDER BY name").rows()
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "export", "openslo"]) == 0
    exported = capsys.readouterr().out
    docs = list(yaml.safe_load_all(exported))
    assert [d["kind"] for d in docs] == ["SLO"] * 3
    assert docs[2]["spec"]["timeWindow"][0]["duration"] == "1Q"
    again = import_files(engine, "openslo", [], uploads=[("export.yaml", exported.encode())])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert read(engine, f"SELECT {COLUMNS} FROM slo ORDER BY name").rows() == before


def test_unsupported_window_zone_and_target_are_named(engine, dump):
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "openslo", [FIXTURES / "openslo-bad-window.yaml"])
    text = str(err.value)
    assert "column 'timeWindow[].duration', value '1Y': not one of month, quarter" in text
    assert "column 'calendar.timeZone', value 'Mars/Olympus': not an IANA time zone" in text
    assert "column 'objectives[].target', value '1.5': must be between 0 and 1" in text
    assert dump(engine) == before


def test_export_command_writes_what_import_reads_back(engine, tmp_path, capsys, read):
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "export", "openslo"]) == 2
    assert "holds no SLO definition" in capsys.readouterr().err
    import_files(engine, "openslo", [FIXTURES / "openslo-slos.yaml"])
    assert main(["--db", url, "export", "openslo"]) == 0
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(capsys.readouterr().out)]
    assert sorted(names) == ["api-availability-gold", "api-availability-silver", "search-latency"]
    out = tmp_path / "slos.yaml"
    assert main(["--db", url, "export", "openslo", "--service", "search", "--out", str(out)]) == 0
    assert "wrote 1 SLO definition(s)" in capsys.readouterr().err
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(out.read_text())] == ["search-latency"]
    assert main(["--db", url, "export", "openslo", "--service", "nope"]) == 2
    assert "--service: no SLO belongs to 'nope'" in capsys.readouterr().err
    # The whole export imported into the store again changes nothing.
    assert main(["--db", url, "export", "openslo", "--out", str(out)]) == 0
    again = import_files(engine, "openslo", [out])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
