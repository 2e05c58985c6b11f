"""`demo --show-hash`: the CLI prints the content hash the determinism test compares."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from analytics import demo
from analytics.cli import main
from analytics.store.db import read_frame


def test_show_hash_prints_the_content_hash(demo_engine: Engine, capsys) -> None:  # noqa: ANN001
    url = demo_engine.url.render_as_string(hide_password=False)
    before = read_frame(demo_engine, "SELECT count(*) AS n FROM deployment")["n"][0]
    assert main(["--db", url, "demo", "--show-hash"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == demo.content_hash(demo_engine)
    assert len(printed) == 64 and set(printed) <= set("0123456789abcdef")  # sha256 hex
    assert main(["--db", url, "demo", "--show-hash", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"content_hash": printed}
    # Nothing loaded: the store is unchanged.
    assert read_frame(demo_engine, "SELECT count(*) AS n FROM deployment")["n"][0] == before


def test_show_hash_on_an_empty_store_is_one_line(engine: Engine, capsys) -> None:  # noqa: ANN001
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "demo", "--show-hash"]) == 2
    assert "empty" in capsys.readouterr().err
