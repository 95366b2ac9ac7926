# Patron: `make run` to try it, `make test` for everything CI checks.
#
#   make run     venv + install, migrate, demo data (if no contacts), admin user, serve + worker
#   make test    venv + install, ruff, mypy, pytest on PostgreSQL, then on SQLite (+ browser)
#   make lint    ruff and mypy only
#   make fmt     format and auto-fix with ruff
#
# Variables: PORT (default 8000), PG_URL (the PostgreSQL of the test pass), PYTEST_ARGS,
# PYTHON (interpreter that creates .venv), XDIST (default "-n 2"; empty to run serially).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PATRON := $(BIN)/patron
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/patron
XDIST ?= -n 2
PYTEST_ARGS ?=
PYTEST := $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)
# Exit status of a pytest session whose PostgreSQL does not answer (see conftest.py).
PG_UNREACHABLE := 75

.PHONY: help run test lint fmt

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	$(PATRON) migrate --no-input
	@contacts=$$($(PATRON) shell -v 0 -c \
	    "from patron.contacts.models import Contact; print(Contact.objects.count())") || exit 1; \
	if [ "$$contacts" = 0 ]; then \
	    echo "==> Empty database: loading demo data"; \
	    $(PATRON) demo --contacts 2000; \
	else \
	    echo "==> $$contacts contacts in the database: no demo data loaded"; \
	fi
	$(PATRON) createadmin
	$(PATRON) serve --with-worker --port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy patron

fmt: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# PostgreSQL first (browser tests excluded), SQLite last (browser tests included), so the
# output ends with pytest's summary. An unreachable PostgreSQL is a loud SKIPPED notice
# outside CI and a failure when CI=true.
test: lint
	@scripts/ensure-chromium.sh
	@pg=ran; \
	echo "==> pytest on PostgreSQL ($(PG_URL)); browser tests run in the SQLite pass"; \
	DATABASE_URL='$(PG_URL)' $(PYTEST) -m "not browser" || { \
	    rc=$$?; \
	    if [ $$rc -eq $(PG_UNREACHABLE) ] && [ "$${CI:-}" != true ]; then \
	        pg=skipped; \
	        echo "!!!!!!!!!! SKIPPED: PostgreSQL is not reachable at $(PG_URL) !!!!!!!!!!"; \
	        echo "!!!!!!!!!! Only SQLite will be tested. (In CI this fails.)      !!!!!!!!!!"; \
	    else \
	        exit $$rc; \
	    fi; \
	}; \
	echo "==> pytest on SQLite (browser tests included)"; \
	PATRON_PG_PASS=$$pg DATABASE_URL= $(PYTEST)
