"""KPI definitions come from the catalogue: `init` seeds them into any store (not only `demo`),
and a saved change is the next version with its audit row."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from analytics import catalogue
from analytics.cli import main
from analytics.store.definitions import latest_definition, save_definition

EXAMPLES = Path(__file__).resolve().parents[2] / "analytics" / "ingest" / "examples"
pytestmark = pytest.mark.store


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_init_then_imports_has_the_catalogues_definitions(engine: Engine, capsys) -> None:
    assert main(["--db", _url(engine), "init"]) == 0
    assert "KPI definitions added: " in capsys.readouterr().out
    assert main(["--db", _url(engine), "import", "deployments",
                 str(EXAMPLES / "deployments.csv")]) == 0
    with engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(text(
            "SELECT key, version, name, unit, direction, thresholds FROM kpi_definition"))}
    # Read the TOML directly (not through catalogue.py): the store holds every entry once.
    with (Path(catalogue.__file__).with_name("catalogue.toml")).open("rb") as fh:
        entries = tomllib.load(fh)["kpi"]
    assert set(rows) == set(entries)
    for key, entry in entries.items():
        assert rows[key].version == 1
        assert rows[key].name == entry["label"]
        assert rows[key].direction == entry["better"]
        stored = json.loads(rows[key].thresholds)
        assert (stored["warn"], stored["critical"]) == (entry["warn"], entry["critical"])


def test_init_twice_adds_nothing(engine: Engine, capsys) -> None:
    assert main(["--db", _url(engine), "init"]) == 0
    assert main(["--db", _url(engine), "init"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("KPI definitions added: 0")


def test_saved_definition_is_the_next_version_with_its_audit_row(engine: Engine) -> None:
    assert main(["--db", _url(engine), "init"]) == 0
    with Session(engine) as s:
        row = save_definition(session=s, key="change_failure_rate", name="Change failure rate",
                              unit="share", methodology="m", thresholds={"warn": 0.1},
                              actor="ana", reason="tighter", direction="lower")
        s.commit()
        assert row.version == 2
        assert latest_definition(session=s, key="change_failure_rate").version == 2
    with engine.connect() as conn:
        detail = conn.execute(text("SELECT detail FROM audit_log WHERE entity_id = "
                                   "'change_failure_rate' ORDER BY id DESC")).scalar_one()
    assert json.loads(detail)["old"]["warn"] == 0.15
    assert json.loads(detail)["new"] == {"warn": 0.1}


def test_a_direction_is_spelled_one_way(engine: Engine) -> None:
    with Session(engine) as s, pytest.raises(ValueError, match="direction"):
        save_definition(session=s, key="k", name="n", unit="u", methodology="m", thresholds={},
                        actor="a", reason="r", direction="lower_is_better")
