"""Governance tests keep the audit key and checkpoint files in the test's temporary folder
(on PostgreSQL the default would be data/ of the checkout)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def audit_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Key and checkpoint files for this test only."""
    paths = {"key": tmp_path / "audit.audit-key", "checkpoints": tmp_path / "audit.checkpoints"}
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(paths["key"]))
    monkeypatch.setenv("WORKBENCH_AUDIT_CHECKPOINT_FILE", str(paths["checkpoints"]))
    monkeypatch.delenv("WORKBENCH_AUDIT_KEY", raising=False)
    return paths


@pytest.fixture
def cli():
    """``cli(engine, *argv)``: run ``python -m analytics --db <engine> …`` in-process, return
    the exit code."""
    from analytics.cli import main

    def run(engine, *argv: str) -> int:
        return main(["--db", engine.url.render_as_string(hide_password=False), *argv])
    return run
