"""Canonical tickets: the optional first_response_at column (the response timer's stop event)."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport

HEADER = "id,opened_at,severity,closed_at,first_response_at\n"


def test_first_response_is_stored_as_utc_and_optional(engine, read, tmp_path):
    f = tmp_path / "tickets.csv"
    f.write_text(HEADER + "T-1,2026-03-02T09:00:00Z,1,2026-03-02T12:00:00Z,2026-03-02T10:30:00+01:00\n"
                 "T-2,2026-03-02T09:00:00Z,2,,\n")
    assert import_files(engine, "tickets", [f], actor="tester").summary()["inserted"] == 2
    got = read(engine, "SELECT external_id, first_response_at FROM ticket ORDER BY external_id")
    assert got.rows() == [("T-1", datetime(2026, 3, 2, 9, 30)), ("T-2", None)]


def test_bad_first_response_names_file_row_and_column(engine, dump, tmp_path):
    f = tmp_path / "tickets.csv"
    f.write_text(HEADER + "T-1,2026-03-02T09:00:00Z,1,,soon\n"
                 "T-2,2026-03-02T09:00:00Z,1,,2026-03-02T08:59:00Z\n")
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "tickets", [f], actor="tester")
    text = str(err.value)
    assert "tickets.csv" in text
    assert "row 2, column 'first_response_at', value 'soon'" in text
    assert ("row 3, column 'first_response_at', value '2026-03-02T08:59:00': first response "
            "must not be before opened_at") in text
    assert dump(engine) == before
