"""Import page: preview, problems that block the import, the import itself, and idempotency."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

EXAMPLES = Path(__file__).resolve().parents[2] / "analytics" / "ingest" / "examples"


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()


def _upload(at, name, data):
    at.file_uploader(key="import_file").set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def test_preview_then_import_then_again(engine, app_for):
    data = (EXAMPLES / "deployments.csv").read_bytes()
    expected = data.decode().strip().count("\n")  # data rows (header excluded)
    at = _upload(app_for(engine, "pages/import_data.py"), "deployments.csv", data)
    assert "detected kind: **deployments**" in at.markdown[0].value
    assert _count(engine, "deployment") == 0  # a preview writes nothing
    at.button(key="import_go").click().run()
    assert f"{expected:,} inserted" in at.success[0].value
    assert _count(engine, "deployment") == expected
    at.button(key="import_go").click().run()
    assert "0 inserted" in at.success[0].value and f"{expected:,} unchanged" in at.success[0].value
    assert _count(engine, "deployment") == expected


def test_bad_file_names_row_and_column_and_blocks_import(engine, app_for):
    bad = b"id,service,environment,finished_at,status\nd1,checkout,production,yesterday,success\n"
    at = _upload(app_for(engine, "pages/import_data.py"), "deployments.csv", bad)
    assert "cannot be imported" in at.error[0].value
    message = at.code[0].value  # the file's values are shown as plain text, not Markdown
    assert "finished_at" in message and "row 2" in message and "yesterday" in message
    assert not at.button  # no Import button while the file has problems
    assert _count(engine, "deployment") == 0


def test_too_large_upload_is_refused(engine, app_for, monkeypatch):
    monkeypatch.setenv("WORKBENCH_UPLOAD_LIMIT_MB", "0")
    at = _upload(app_for(engine, "pages/import_data.py"), "deployments.csv",
                 (EXAMPLES / "deployments.csv").read_bytes())
    assert "above the 0 MB limit" in at.error[0].value
    assert _count(engine, "deployment") == 0


def test_unknown_services_are_flagged_then_confirmed(engine, app_for):
    at = _upload(app_for(engine, "pages/import_data.py"), "deployments.csv",
                 (EXAMPLES / "deployments.csv").read_bytes())
    at.button(key="import_go").click().run()
    with engine.connect() as conn:
        created = {r[0] for r in conn.execute(text("SELECT name FROM service WHERE confirmed = false"))}
    assert created
    at.switch_page("pages/data.py").run()
    flags = at.dataframe[1].value
    assert flags[flags["check"] == "services created by an import, unconfirmed"].iloc[0]["rows"] == len(created)
    at.multiselect(key="data_confirm").set_value(sorted(created)).run()
    at.button(key="data_confirm_go").click().run()
    assert not at.exception
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM service WHERE confirmed = false")).scalar_one() == 0
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
    assert actions[-1] == "service.confirm"


def test_upload_widget_says_and_enforces_the_setting(engine, app_for, monkeypatch):
    # Before: the widget kept Streamlit's default ("200MB per file") whatever the setting said.
    monkeypatch.setenv("WORKBENCH_UPLOAD_LIMIT_MB", "5")
    at = app_for(engine, "pages/import_data.py")
    widget = at.file_uploader(key="import_file")
    assert widget.proto.max_upload_size_mb == 5
    assert widget.label == "File (at most 5 MB)"
    assert "Files above 5 MB (WORKBENCH_UPLOAD_LIMIT_MB) are refused" in widget.help


def test_gzip_bomb_upload_is_refused_naming_the_file(engine, app_for):
    import gzip

    bomb = gzip.compress(b"id,service,environment,finished_at,status\n" + bytes(64 << 20), 9)
    at = _upload(app_for(engine, "pages/import_data.py"), "deployments.csv.gz", bomb)
    assert "deployments.csv.gz: refused as a likely decompression bomb" in at.code[0].value
    assert not at.button
    assert _count(engine, "deployment") == 0


def test_file_name_and_values_are_not_rendered_as_markdown(engine, app_for):
    bad = b"id,service,environment,finished_at,status\nd1,**web**,production,[x](http://e.vil),success\n"
    at = _upload(app_for(engine, "pages/import_data.py"), "[click](http://e.vil).csv", bad)
    assert r"\[click\]\(http\:\/\/e\.vil\)\.csv" in at.markdown[0].value
    assert "value '[x](http://e.vil)'" in at.code[0].value
