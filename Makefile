# Gerbang: the everyday commands.
#
#   make install     system packages, .venv, Python packages, translations
#   make run         migrate, seed the demo data and start every process
#   make test        lint, type-check, then the whole test suite
#
# `make test PYTEST_ARGS='-k tariffs -x'` passes options to pytest.
# DATABASE_URL picks the database (default: SQLite in var/).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON3     ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
REQUIREMENTS := $(wildcard requirements*.txt)
PYTEST_ARGS ?=

.PHONY: help install system-packages messages migrate run lint typecheck test format clean

help:
	@echo "make install    system packages, .venv, Python packages, translations"
	@echo "make migrate    install, then apply database migrations"
	@echo "make run        migrate, seed demo data, start web, worker, sealer and witness (Ctrl-C stops)"
	@echo "make lint       ruff check and ruff format --check"
	@echo "make typecheck  mypy"
	@echo "make test       install, lint, typecheck, pytest \$$(PYTEST_ARGS)"
	@echo "make format     ruff check --fix and ruff format"
	@echo "make clean      delete the SQLite database, its checkpoints and the witness state in var/"

# --- Set-up ---------------------------------------------------------------

install: system-packages $(STAMP) messages

system-packages:
	@bash scripts/ensure-system-packages.sh

# The virtualenv, created once with a Python >= 3.11.
$(PY):
	@command -v $(PYTHON3) >/dev/null || { \
		echo "Gerbang needs Python >= 3.11, but '$(PYTHON3)' was not found; set PYTHON3=/path/to/python3.11." >&2; \
		exit 1; }
	@$(PYTHON3) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Gerbang needs Python >= 3.11, but '$(PYTHON3)' is $$($(PYTHON3) --version 2>&1); set PYTHON3=/path/to/python3.11." >&2; \
		exit 1; }
	$(PYTHON3) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV); with Debian's python3, apt-get install python3-venv." >&2; \
		exit 1; }

# Python packages: reinstalled only when a requirements file changes.
$(STAMP): $(REQUIREMENTS) | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

# Only our own locale/ folder (not the packages inside .venv).
# Django skips catalogues whose .mo is already up to date.
messages: system-packages $(STAMP)
	$(PY) manage.py compilemessages -l id -l en --ignore '$(VENV)/*'

# --- Running ----------------------------------------------------------------

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput -v0
	bash scripts/run.sh

# --- Checks -----------------------------------------------------------------

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

test: install lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

# Lint fixes first, then formatting, so the fixed code ends up formatted.
format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The witness's memory and the checkpoints describe the log in that database:
# they go with it (a witness that remembered the old log would rightly refuse the new one).
clean:
	rm -f var/*.sqlite3*
	rm -rf var/witness var/checkpoints var/registry var/bank var/documents var/mail
