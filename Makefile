# Two commands: `make run` (set up and serve the app) and `make test` (set up and run every test).
# `make notebook` opens the notebooks in JupyterLab.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501
# The notebooks run with notebooks/ as their folder: point them at the project's store.
NOTEBOOK_DATABASE_URL ?= $(or $(DATABASE_URL),sqlite:///$(CURDIR)/data/workbench.db)

.PHONY: run test setup setup-dev db browser notebook lab bench clean

$(BIN)/python:
	@echo "==> creating the virtual environment $(VENV) (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamp files: reinstall only when a requirements file (or pyproject.toml) changes.
$(VENV)/.requirements: requirements.txt | $(BIN)/python
	@echo "==> installing the app's packages (requirements.txt; 2-3 minutes the first time)"
	$(BIN)/pip install -q -r requirements.txt
	touch $@

# The project itself, editable: notebooks and Jupyter kernels import `analytics` from any folder.
$(VENV)/.installed: pyproject.toml $(VENV)/.requirements
	@echo "==> installing the analytics package (pip install -e .)"
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.requirements-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	@echo "==> installing the test tools (requirements-dev.txt)"
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# JupyterLab opens text notebooks (notebooks/*.py, py:percent) as notebooks through jupytext:
# the default viewer for Python files is set in this venv's settings overrides, not in ~/.jupyter.
$(VENV)/.requirements-notebook: requirements-notebook.txt $(VENV)/.installed
	@echo "==> installing JupyterLab and jupytext (requirements-notebook.txt)"
	$(BIN)/pip install -q -r requirements-notebook.txt
	$(BIN)/python -c "import json, pathlib, sys; p = pathlib.Path(sys.prefix, 'share/jupyter/lab/settings/overrides.json'); p.parent.mkdir(parents=True, exist_ok=True); s = json.loads(p.read_text()) if p.exists() else {}; s.setdefault('@jupyterlab/docmanager-extension:plugin', {}).setdefault('defaultViewers', {})['python'] = 'Jupytext Notebook'; p.write_text(json.dumps(s, indent=2))"
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.requirements-dev browser

# Migrate the schema; load the demo organisation only when the store is empty.
db: setup
	@echo "==> migrating the database schema"
	$(BIN)/python -m analytics init
	@echo "==> loading the demo organisation if the store is empty (about a minute the first time)"
	$(BIN)/python -m analytics demo --if-empty

run: db
	@echo "==> serving the app on http://$(HOST):$(PORT) (Ctrl+C stops it)"
	$(BIN)/python -m analytics serve --host $(HOST) --port $(PORT)

notebook: db $(VENV)/.requirements-notebook
	@echo "==> JupyterLab in notebooks/ against $(NOTEBOOK_DATABASE_URL) (Ctrl+C stops it)"
	cd notebooks && DATABASE_URL='$(NOTEBOOK_DATABASE_URL)' ../$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lab: notebook

# The real-browser test drives Debian's chromium; install it when missing (needs root, as in CI).
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "==> installing Debian's chromium for the browser test"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
		else echo "chromium is missing: run 'sudo apt-get install chromium' (needed by tests/e2e)"; exit 1; fi; }

# pytest.ini adds the docstring examples of analytics/ (--doctest-modules) to tests/.
test: setup-dev
	@echo "==> running the test suite with two workers"
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python bench/run.py --scale 30

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
