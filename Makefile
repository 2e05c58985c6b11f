# Two commands: `make run` (set up and serve the app) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: run test setup setup-dev db browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.requirements: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements.txt requirements-dev.txt $(VENV)/.requirements
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.requirements

setup-dev: $(VENV)/.requirements-dev browser

# Migrate the schema; load the demo organisation only when the store is empty.
db: setup
	$(BIN)/python -m analytics init
	$(BIN)/python -m analytics demo --if-empty

run: db
	$(BIN)/python -m analytics serve --host $(HOST) --port $(PORT)

# The real-browser test drives Debian's chromium; install it when missing (needs root, as in CI).
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
		else echo "chromium is missing: run 'sudo apt-get install chromium' (needed by tests/e2e)"; exit 1; fi; }

# pytest.ini adds the docstring examples of analytics/ (--doctest-modules) to tests/.
test: setup-dev
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python bench/run.py --scale 30

clean:
	rm -rf $(VENV) .pytest_cache
