# Access Audience — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12+ (pyenv picks 3.12 from .python-version).
PYTHON ?= $(shell command -v python3.12 || command -v python3.13 || command -v python3.14 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on every core (pytest-xdist); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto

.PHONY: help install install-dev run test test-browser lint format bench check-python

help:
	@echo "make run    set up, migrate, and start the app and its worker on http://$(HOST):$(PORT)"
	@echo "make test   set up and run the whole test suite (REQUIRE_BROWSER=1: no skipping browser tests)"
	@echo "make lint   ruff check, format check and the import layers (import-linter)"
	@echo "make format apply ruff's fixes and formatting"
	@echo "make bench  run the benchmarks in bench/ (prints ratios against baselines)"

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Access Audience needs Python 3.12 or newer; found " + sys.version.split()[0])'

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps: reinstall only when the lock files change.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# A local .env with generated secrets, written once and never overwritten.
.env: | $(VENV)/.installed
	@$(PY) -c 'import secrets; from cryptography.fernet import Fernet; open(".env", "x").write("# Written by make run for local development. See .env.example.\nDJANGO_DEBUG=true\nDJANGO_SECRET_KEY=" + secrets.token_urlsafe(50) + "\nENCRYPTION_KEYS=" + Fernet.generate_key().decode() + "\n")'
	@echo "Wrote .env with a generated secret key and encryption key (local development)."

run: install .env
	$(PY) manage.py migrate --noinput
	@$(PY) manage.py ensure_admin --url http://$(HOST):$(PORT)/
	@echo "Starting the web app on http://$(HOST):$(PORT)/ and one background worker. Ctrl-C stops both."
	@trap 'kill 0' INT TERM; \
	  $(PY) manage.py db_worker & \
	  $(PY) manage.py runserver $(HOST):$(PORT) & \
	  wait

# Tests never read .env: they set their own environment (tests/environment.py).
test: install-dev
	@$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); status=$$?; \
	  if [ -d build/screenshots ]; then echo "Screenshots of every page (1280 and 390 px): build/screenshots/"; fi; \
	  exit $$status

test-browser: install-dev
	@REQUIRE_BROWSER=1 $(PY) -m pytest -n $(PYTEST_WORKERS) -m browser $(PYTEST_ARGS); status=$$?; \
	  if [ -d build/screenshots ]; then echo "Screenshots of every page (1280 and 390 px): build/screenshots/"; fi; \
	  exit $$status

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install-dev
	$(PY) -m bench $(BENCH_ARGS)
