# The README's commands. Each sets up what it needs first (a virtual environment in .venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app practice
HOST ?= 127.0.0.1
PORT ?= 5000
# `make test` runs the suite on this many pytest-xdist workers (0: in this one process).
PYTEST_WORKERS ?= 2

.PHONY: demo test lint worker worker-reports bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "practice needs Python 3.11 or newer: run make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

## demo: set up, migrate an SQLite database in instance/, seed demo data, serve on 127.0.0.1:5000
demo: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) practice seed-demo
	@echo "Open http://$(HOST):$(PORT)/ and sign in with a login above."
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: set up, lint, check the import layering, and run the whole suite on PYTEST_WORKERS workers (SQLite; PostgreSQL with TEST_DATABASE_URL)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## lint: ruff, and the import contracts in pyproject.toml (layers, no cycles)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## worker: an RQ worker for email and reminders (needs REDIS_URL)
worker: $(VENV)/.installed
	$(FLASK) jobs worker --queue default --with-scheduler

## worker-reports: an RQ worker for session-summary PDFs, their own queue (needs REDIS_URL)
worker-reports: $(VENV)/.installed
	$(FLASK) jobs worker --queue reports --with-scheduler

## bench: page timings at 500 and 5,000 couples on SQLite (and PostgreSQL with BENCH_DATABASE_URL, then concurrent autosave); BENCH_QUICK=1 for a smoke run
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
