"""SLA contracts from TOML: validation naming contract and field, versioned upsert, audit."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.cli import main
from analytics.ingest.sla_contracts import import_contracts
from analytics.ingest.validate import InvalidImport
from analytics.metrics.sla import Contract
from analytics.store import audit
from analytics.store.bulk import bulk_insert
from analytics.store.db import read_frame

GOOD = """
[[contract]]
name = "acme-gold"
customer = "ACME"
services = ["checkout"]
tier = "gold"
target_pct = 99.95
timezone = "Europe/Amsterdam"
period = "month"
exclusion_mode = "exclude"
exclude_third_party = true
monthly_fee = 2000.0
currency = "EUR"
credit_cap_pct = 100
effective_from = "2026-01-01"
escalation = "account-manager"
credits = [ { below_pct = 99.95, credit_pct = 10 }, { below_pct = 99.0, credit_pct = 30 },
            { below_pct = 95.0, credit_pct = 100 } ]

[[contract]]
name = "acme-gold"
customer = "ACME"
services = ["checkout", "search"]
tier = "gold"
target_pct = 99.95
effective_from = 2026-07-01
credits = [ { below_pct = 99.95, credit_pct = 15 } ]

[[contract]]
name = "globex-region"
customer = "Globex"
services = ["search"]
tier = "silver"
preset = "cloud-region"
exclusion_mode = "count_as_up"
effective_from = 2026-02-01
"""


@pytest.fixture
def store(engine: Engine) -> Engine:
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "name": ["checkout", "search"], "team": "t", "tier": "gold", "criticality": 1,
            "customer_facing": True, "timezone": "UTC", "confirmed": True, "source": "test",
            "external_id": ["checkout", "search"]}))
    return engine


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "contracts.toml"
    path.write_text(body)
    return path


def test_import_inserts_versions_with_an_audit_entry(store: Engine, tmp_path: Path) -> None:
    result = import_contracts(store, _write(tmp_path, GOOD), actor="tester")
    assert (result["inserted"], result["updated"], result["unchanged"]) == (3, 0, 0)
    assert result["contracts"] == ["acme-gold@2026-01-01", "acme-gold@2026-07-01",
                                   "globex-region@2026-02-01"]
    rows = read_frame(store, "SELECT name, services, target_pct, timezone, exclusion_mode, "
                             "exclude_third_party, credits, effective_from FROM sla_contract "
                             "ORDER BY name, effective_from")
    assert rows["name"].to_list() == ["acme-gold", "acme-gold", "globex-region"]
    assert [json.loads(s) for s in rows["services"]] == [["checkout"], ["checkout", "search"], ["search"]]
    assert rows["effective_from"].to_list() == [datetime(2026, 1, 1), datetime(2026, 7, 1),
                                                datetime(2026, 2, 1)]
    # Defaults for the second version; the preset fills target and ladder for the third.
    assert rows["timezone"].to_list() == ["Europe/Amsterdam", "UTC", "UTC"]
    assert rows["target_pct"].to_list() == [99.95, 99.95, 99.99]
    assert json.loads(rows["credits"][2]) == [{"below_pct": 99.99, "credit_pct": 10.0},
                                              {"below_pct": 99.0, "credit_pct": 30.0},
                                              {"below_pct": 95.0, "credit_pct": 100.0}]
    assert rows["exclude_third_party"].to_list() == [True, False, False]
    # Rows decode into the metric's Contract.
    c = Contract.from_record(read_frame(store, "SELECT * FROM sla_contract ORDER BY id").row(0, named=True))
    assert (c.name, c.services, c.credits[1].below_pct, c.escalation) == \
        ("acme-gold", ("checkout",), 99.0, "account-manager")
    with store.connect() as conn:
        entry = conn.execute(text("SELECT actor, action, detail FROM audit_log")).one()
        batch = conn.execute(text("SELECT kind, inserted, status FROM import_batch")).one()
    assert entry[:2] == ("tester", "import")
    assert json.loads(entry[2])["tables"] == {"sla_contract": {"inserted": 3, "updated": 0,
                                                               "unchanged": 0}}
    assert tuple(batch) == ("sla-contracts", 3, "done")
    assert audit.verify_chain(store) == (True, None)


def test_reimport_is_idempotent_and_updates_changed_versions(store: Engine, tmp_path: Path) -> None:
    import_contracts(store, _write(tmp_path, GOOD))
    again = import_contracts(store, _write(tmp_path, GOOD))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    changed = import_contracts(store, _write(tmp_path, GOOD.replace("monthly_fee = 2000.0",
                                                                    "monthly_fee = 2500.0")))
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    fees = read_frame(store, "SELECT monthly_fee FROM sla_contract WHERE name = 'acme-gold' "
                             "ORDER BY effective_from")["monthly_fee"].to_list()
    assert fees == [2500.0, 0.0]
    assert audit.count(store) == 3


BAD = """
[[contract]]
name = "acme-gold"
customer = "ACME"
services = ["checkout", "ghost"]
tier = "platinum"
target_pct = 150
timezone = "Mars/Base"
fee = 10
exclude_third_party = "yes"
effective_from = "2026-01-01"
credits = [ { below_pct = 99.9 } ]

[[contract]]
name = "acme-gold"
customer = "ACME"
services = ["checkout"]
tier = "gold"
target_pct = 99.9
effective_from = "2026-01-01"

[[contract]]
customer = "Nameless"
services = []
tier = "gold"
target_pct = 99.9
exclusion_mode = "lenient"
effective_from = "first of May"
"""


def test_invalid_file_lists_every_problem_and_writes_nothing(store: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidImport) as exc:
        import_contracts(store, _write(tmp_path, BAD))
    message = str(exc.value)
    for needle in (
        "column 'tier', value 'platinum': contract 'acme-gold': must be one of gold, silver, bronze",
        "column 'target_pct', value '150': contract 'acme-gold': must be in (0, 100]",
        "column 'timezone', value 'Mars/Base': contract 'acme-gold': unknown IANA time zone",
        "column 'fee': contract 'acme-gold': unknown field",
        "column 'exclude_third_party', value 'yes': contract 'acme-gold': must be true or false",
        "column 'services', value 'ghost': contract 'acme-gold': unknown service",
        "column 'credits[0]'", "contract 'acme-gold': a version with this name and "
                               "effective_from appears twice",
        "column 'name': contract #3: is required",
        "column 'services', value '[]': contract #3: must be a non-empty list",
        "column 'exclusion_mode', value 'lenient': contract #3: must be one of exclude, count_as_up",
        "column 'effective_from', value 'first of May': contract #3: must be a date",
    ):
        assert needle in message, needle
    assert exc.value.total == 12
    with store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sla_contract")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one() == 0
    assert audit.count(store) == 0


@pytest.mark.parametrize(("body", "needle"), [
    ("[[contract]\nname = 1", "not valid TOML"),
    ('title = "x"', "expected one or more [[contract]] tables"),
])
def test_not_a_contract_file(store: Engine, tmp_path: Path, body: str, needle: str) -> None:
    with pytest.raises(InvalidImport, match=needle.replace("[", r"\[")):
        import_contracts(store, _write(tmp_path, body))


def test_cli_import_sla_contracts(store: Engine, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = store.url.render_as_string(hide_password=False)
    assert main(["--db", url, "import", "sla-contracts", str(_write(tmp_path, GOOD))]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["kind"], out["inserted"]) == ("sla-contracts", 3)
    assert main(["--db", url, "import", "sla-contracts", str(_write(tmp_path, GOOD))]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 3
    assert main(["--db", url, "import", "sla-contracts", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 problem(s); nothing was imported") and "no such file or folder" in err
