# Rapport: every target installs what it needs first, so each works on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
PYTHON313 := $(shell bash deploy/local/find_python.sh)
PORT ?= 8000

.PHONY: help dev test test-slow test-fast bench loadtest lint format browser broker vendor clean

help:
	@echo "make dev       run the whole suite on its embedded defaults (http://127.0.0.1:$(PORT))"
	@echo "make test      install and run the tests (real RabbitMQ, local MongoDB-compatible server)"
	@echo "make test-slow the three checks over 15 s left out of make test (API fuzz, SQLite engine at size)"
	@echo "make bench     run the benchmarks; prints 'bench <name>: <value> <unit>' lines"
	@echo "make loadtest  run the Locust load test against a local suite under gunicorn"
	@echo "make vendor    refresh the console's vendored browser assets (htmx, vega) from npm"
	@echo "make lint      ruff, and the import contracts (import-linter: services never import one another)"

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON313)" ]; then echo "Python 3.13 not found (python3.13 on PATH or under pyenv)"; exit 1; fi
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

broker:
	@bash deploy/local/ensure_rabbitmq.sh

vendor:
	@bash deploy/local/vendor.sh

browser:
	@bash deploy/local/ensure_chromium.sh

dev: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m deploy.local.dev

test: $(VENV)/.installed broker browser
	$(PY) -m pytest -q -p no:cacheprovider --durations=25 -m 'not slow'

test-slow: $(VENV)/.installed broker browser
	$(PY) -m pytest -q -p no:cacheprovider -m slow

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q tests/unit

bench: $(VENV)/.installed broker
	$(PY) -m benchmarks.run_all

loadtest: $(VENV)/.installed broker
	$(PY) -m loadtests.run

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache
