"""The architecture of DESIGN.md, checked on the source: data flows one way, modules stay small.

Imports are read with ``ast`` (no module is executed), so a lazy ``import`` inside a function
counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 450


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py")
                  if "migrations" not in p.relative_to(ROOT).parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, dotted (``from a.b import c`` gives a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _offenders(paths: list[Path], banned: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths
            if any(m == banned or m.startswith(banned + ".") for m in _imports(p))]


def test_pages_and_notebooks_never_import_the_cli():
    """A page or notebook renders a report's result; the CLI is only another renderer."""
    assert _offenders(_sources("pages", "notebooks") + [ROOT / "app.py"], "analytics.cli") == []


@pytest.mark.parametrize("layer", ["analytics/metrics", "analytics/studies", "analytics/reports",
                                   "analytics/charts", "analytics/store", "analytics/ingest"])
def test_lower_layers_never_import_streamlit(layer):
    assert _offenders(_sources(layer), "streamlit") == []


@pytest.mark.parametrize("layer", ["analytics/metrics", "analytics/studies", "analytics/reports",
                                   "analytics/store"])
def test_nothing_below_the_cli_imports_it(layer):
    assert _offenders(_sources(layer), "analytics.cli") == []


def test_no_module_is_too_long():
    """DESIGN.md: a module that grows past ~400 lines is two modules (450 gives the slack)."""
    long = {str(p.relative_to(ROOT)): n for p in _sources("analytics")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_see_imports():
    """The import reader finds top-level and function-level imports alike (so the tests above
    cannot pass by reading nothing)."""
    imports = _imports(ROOT / "analytics" / "cli" / "report_summary.py")
    assert {"analytics.reports.summary", "analytics.reports.summary.table_summary"} <= imports
    assert _offenders([ROOT / "pages" / "data.py"], "streamlit") == ["pages/data.py"]


def test_every_table_shows_a_dash_for_missing_values():
    """st.dataframe shows a missing value as "None" unless told otherwise; a reader should see
    a dash. Every table a page or ui.py draws passes ``placeholder``."""
    bare = []
    for path in _sources("pages") + [ROOT / "analytics" / "ui.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "dataframe"
                    and not any(k.arg == "placeholder" for k in node.keywords)):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bare, bare
    assert len(_sources("pages")) > 10  # the walk found the pages
