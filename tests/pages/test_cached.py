"""ui.cached: a page's cache lives until the store's data version changes, not for a time."""

from __future__ import annotations

from analytics import ui


def test_cached_result_lives_until_the_data_version_changes(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(ui, "version", lambda: "v1")

    @ui.cached
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]  # the second square(3) came from the cache
    monkeypatch.setattr(ui, "version", lambda: "v2")  # an import changed the store
    assert square(3) == 9
    assert calls == [3, 4, 3]
    square.clear()


def test_ahead_computes_once_on_another_thread(monkeypatch):
    """``ahead`` starts the computation; the page's own call gets that result (waiting for it
    on the compute lock if needed), so the function runs once. An error is left for the
    page's call, which raises it."""
    import threading

    monkeypatch.setattr(ui, "version", lambda: "v1")
    started, go, calls = threading.Event(), threading.Event(), []

    @ui.cached
    def slow(x: int) -> tuple[int, str]:
        calls.append(threading.current_thread().name)
        started.set()
        go.wait(10)
        if x < 0:
            raise ValueError("negative")
        return x * 2, threading.current_thread().name

    slow.ahead(21)
    assert started.wait(10)
    go.set()  # the page's call below arrives while the thread may still compute
    value, where = slow(21)
    assert value == 42 and where.startswith("workbench-ahead")
    assert len(calls) == 1
    started.clear()
    slow.ahead(-1)
    assert started.wait(10)
    try:
        slow(-1)
    except ValueError as exc:
        assert str(exc) == "negative"
    else:
        raise AssertionError("the page's call must raise the error")
    slow.clear()


def _import_then_read() -> None:
    """A page that reads, imports deployments.csv on a click, then reads again in the same run."""
    from pathlib import Path

    import streamlit as st
    from sqlalchemy import text

    from analytics import ui
    from analytics.ingest.importer import import_files

    @ui.cached
    def deployments() -> int:
        with ui.engine().connect() as conn:
            return conn.execute(text("SELECT count(*) FROM deployment")).scalar_one()

    before = deployments()
    if st.button("Import", key="go"):
        csv = Path(st.session_state["examples"]) / "deployments.csv"
        import_files(ui.engine(), "deployments", uploads=[(csv.name, csv.read_bytes())])
        ui.data_changed()
    st.text(f"{before} {deployments()}")


def test_version_is_read_once_per_run_and_again_after_a_write(engine, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reads: list[str] = []
    real = ui.data_version
    monkeypatch.setattr(ui, "data_version", lambda eng: reads.append("v") or real(eng))
    ui.engine.clear()
    at = AppTest.from_function(_import_then_read, default_timeout=60)
    at.session_state["examples"] = str(Path(__file__).resolve().parents[2] / "analytics" /
                                       "ingest" / "examples")
    at.run()
    assert not at.exception, at.exception
    assert at.text[0].value == "0 0"
    assert len(reads) == 1  # two cached calls, one read of the version
    at.button(key="go").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM deployment").scalar_one()
    assert stored > 0
    assert at.text[0].value == f"0 {stored}"  # the read after the import sees it
    assert len(reads) == 3  # the click's run: once at its start, once after the write
    at.run()
    assert at.text[0].value == f"{stored} {stored}"
    ui.engine.clear()
