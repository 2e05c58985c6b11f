"""The README's commands run when pasted, and what it says about setup is what the project does.

Every line in a ```sh block of README.md that starts with ``.venv/bin/python -m analytics`` is
run, in order, on one demo store, from a folder laid out like the project (``analytics/`` and
``../shared`` beside it), and must exit 0. Two explicit rules (see :func:`plan`):

- ``serve`` lines are checked with ``--help`` appended (a server would never return);
- lines naming ``../shared/data`` run only when that path exists (the real datasets are not part
  of the repository), and are skipped otherwise.

Dated examples refer to the demo ending 2026-11-22 (tests/conftest.py), loaded first.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PREFIX = ".venv/bin/python -m analytics"
DEMO_END = "2026-11-22"


def readme_commands(markdown: str) -> list[str]:
    """The ``python -m analytics`` lines of the README's sh blocks (continuations joined).

    >>> readme_commands("```sh\\n.venv/bin/python -m analytics a \\\\\\n  --b 1  # c\\nls\\n```")
    ['.venv/bin/python -m analytics a --b 1  # c']
    """
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        out += [line.strip() for line in joined.splitlines()
                if line.strip().startswith(PREFIX)]
    return out


def plan(line: str, project: Path) -> list[str] | str:
    """The argv to run for a README line, or the reason it is skipped.

    >>> plan(".venv/bin/python -m analytics serve --port 8501  # the app", Path("/x"))
    ['serve', '--port', '8501', '--help']
    >>> plan(".venv/bin/python -m analytics import bpic2014 ../shared/data/nothing", Path("/x"))
    'skipped: ../shared/data/nothing is absent'
    """
    argv = shlex.split(line[len(PREFIX):], comments=True)
    if argv and argv[0] == "serve":
        return [*argv, "--help"]
    for arg in argv:
        if arg.startswith("../shared/data") and not (project / arg).exists():
            return f"skipped: {arg} is absent"
    return argv


def file_arguments(argv: list[str]) -> list[str]:
    """Arguments a command reads as files: relative paths with a suffix, not --out targets.

    >>> file_arguments(["export", "openslo", "--out", "slos.yaml", "x/y.csv", "--db", "sqlite:///a.db"])
    ['x/y.csv']
    """
    out = []
    for i, arg in enumerate(argv):
        if i and argv[i - 1] == "--out":
            continue
        if "://" not in arg and not arg.startswith("-") and re.search(r"\w/.*\.\w+$", arg):
            out.append(arg)
    return out


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder shaped like a checkout (analytics/, data/, ../shared) holding a fresh store."""
    proj = tmp_path / "project"
    (proj / "data").mkdir(parents=True)
    (proj / "analytics").symlink_to(ROOT / "analytics")
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    monkeypatch.chdir(proj)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{proj / 'data' / 'workbench.db'}")
    return proj


def run(argv: list[str]) -> int:
    """``python -m analytics ARGV`` in this process; the exit status."""
    from analytics.cli import main

    try:
        return main(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)


def test_readme_has_one_command_per_line_and_names_only_files_that_exist():
    lines = readme_commands(README.read_text())
    assert len(lines) >= 25
    raw = README.read_text()
    assert not re.search(r"python -m analytics[^\n]*\\\n", raw), "no continuation lines"
    for line in lines:
        assert " | " not in line.split("#")[0], f"a shell pipe, not one command: {line}"
        for arg in file_arguments(shlex.split(line[len(PREFIX):], comments=True)):
            if arg.startswith("../shared/data"):
                continue  # the real datasets: not shipped (see README)
            assert arg.startswith("analytics/ingest/examples/"), arg
            assert (ROOT / arg).is_file(), f"{arg} does not exist"
    for report in ("mttr-baselines", "ticket-sla", "uci-sla-timers", "rollback-replay"):
        assert any(f" report {report} " in f"{line} " for line in lines), report
    assert any(re.search(r" report sla .*--totals", line) for line in lines)


def test_every_readme_command_exits_0_on_a_demo_store(project, capsys):
    assert run(["init"]) == 0
    capsys.readouterr()
    assert run(["demo", "--end", DEMO_END, "--format", "json"]) == 0
    loaded = json.loads(capsys.readouterr().out)
    # The demo's printed deployment counts are the store's, and the README says the same.
    engine = create_engine(f"sqlite:///{project / 'data' / 'workbench.db'}")
    with engine.connect() as conn:
        prod, total = conn.execute(text(
            "SELECT sum(environment = 'production' AND NOT is_rollback), count(*) "
            "FROM deployment")).one()
    engine.dispose()
    assert loaded["production_deployments"] == prod
    assert loaded["rows"]["deployment"] == total
    said = re.search(r"~([\d,]+) deployments in all environments, of which ~([\d,]+) production",
                     README.read_text())
    assert said, "README states all and production deployments"
    said_total, said_prod = (int(g.replace(",", "")) for g in said.groups())
    assert abs(said_total - total) <= 0.05 * total and abs(said_prod - prod) <= 0.05 * prod

    failures, ran, skipped = [], 0, []
    for line in readme_commands(README.read_text()):
        argv = plan(line, project)
        if isinstance(argv, str):
            skipped.append(f"{line}: {argv}")
            continue
        code = run(argv)
        ran += 1
        out = capsys.readouterr()
        if code != 0:
            failures.append(f"{line}\n  exit {code}: {out.err.strip()[-500:]}")
    assert not failures, "\n".join(failures)
    assert ran >= 25 - len(skipped)


def test_the_readme_rules_are_the_ones_applied(tmp_path):
    (tmp_path / "shared" / "data" / "x").mkdir(parents=True)
    proj = tmp_path / "project"
    proj.mkdir()
    assert plan(f"{PREFIX} import bpic2014 ../shared/data/x", proj) == [
        "import", "bpic2014", "../shared/data/x"]
    assert plan(f"{PREFIX} import bpic2014 ../shared/data/y", proj).startswith("skipped")
    assert plan(f"{PREFIX} serve --port 1", proj)[-1] == "--help"
    assert plan(f"{PREFIX} report slo  # status", proj) == ["report", "slo"]


def make_dry_run(*targets: str, tmp_path: Path) -> list[str]:
    """``make -n TARGETS`` as on a fresh clone (no venv yet): the commands make would run."""
    out = subprocess.run(["make", "-n", f"VENV={tmp_path / 'venv'}", *targets], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("target", ["run", "test", "notebook"])
def test_make_says_what_it_does_before_each_step(target, tmp_path):
    lines = make_dry_run(target, tmp_path=tmp_path)
    steps = [i for i, line in enumerate(lines)
             if re.search(r"pip install|-m analytics|-m pytest|jupyter lab", line)]
    assert steps
    for i in steps:
        before = lines[max(0, i - 3):i]
        assert any(line.startswith("echo \"==>") for line in before), lines[i]


def test_make_installs_the_project_for_run_test_and_notebook(tmp_path):
    for target in ("run", "test", "notebook"):
        assert any("pip install -q --no-deps -e ." in line
                   for line in make_dry_run(target, tmp_path=tmp_path)), target
    notebook = make_dry_run("notebook", tmp_path=tmp_path)
    assert any("-r requirements-notebook.txt" in line for line in notebook)
    assert any("Jupytext Notebook" in line for line in notebook)
    assert any(line.startswith("cd notebooks &&") and "DATABASE_URL=" in line for line in notebook)


def test_pyproject_packages_analytics_with_its_data_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["include"] == ["analytics*"]
    patterns = setuptools["package-data"]["*"]
    data = [p for p in (ROOT / "analytics").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert any(p.suffix == ".toml" for p in data)
    for path in data:
        assert any(path.match(pattern) for pattern in patterns), path
    reqs = (ROOT / "requirements-notebook.txt").read_text()
    assert "jupyterlab" in reqs and "jupytext" in reqs
