# DentalSales developer commands. `make run` and `make test` are all a new
# developer needs; both create the virtual environment on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
# Touched after a successful install; pyproject.toml being newer means the
# dependencies changed and the install runs again.
INSTALL_STAMP := $(VENV)/.dentalsales-installed
CHROMIUM := /usr/bin/chromium
HOST := 127.0.0.1
PORT := 8000
# Extra pytest arguments, for example: make test PYTEST_ARGS="-k review -x"
PYTEST_ARGS ?=

.PHONY: help install run test migrate demo messages check clean

help:
	@echo "make run       migrate, load the demo data and serve on http://$(HOST):$(PORT)/"
	@echo "make test      check for missing migrations, then run the test suite"
	@echo "make install   create $(VENV) and install the project with its test dependencies"
	@echo "make migrate   apply database migrations"
	@echo "make demo      load the demo data (no changes when it is already there)"
	@echo "make messages  compile locale/*.po into .mo files (needs gettext)"
	@echo "make check     Django system checks and the missing-migrations check"
	@echo "make clean     remove caches, collected static files and test artifacts"

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): pyproject.toml
	@set -euo pipefail; \
	if [ ! -x "$(PYTHON)" ] || ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
		base=""; \
		for candidate in python3.11 python3; do \
			if command -v "$$candidate" >/dev/null 2>&1 \
				&& "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
				base="$$candidate"; break; \
			fi; \
		done; \
		if [ -z "$$base" ]; then \
			echo "Python 3.11 or newer not found: install python3.11 (or a python3 >= 3.11) and run make again." >&2; \
			exit 1; \
		fi; \
		echo "Creating $(VENV) with $$(command -v $$base) ($$("$$base" --version))"; \
		rm -rf "$(VENV)"; \
		"$$base" -m venv "$(VENV)"; \
	fi
	$(PYTHON) -m pip install --disable-pip-version-check --quiet -e '.[test]'
	@touch $(INSTALL_STAMP)

migrate: $(INSTALL_STAMP)
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) load_demo

# DEBUG is on by default, so runserver serves the static files itself and
# nothing is collected. Production runs gunicorn config.wsgi (docs/operations.md).
run: demo
	$(MANAGE) runserver $(HOST):$(PORT)

messages: $(INSTALL_STAMP)
	@if [ -z "$$(find . -path ./$(VENV) -prune -o -name '*.po' -type f -print -quit)" ]; then \
		echo "No .po files found: nothing to compile"; \
	else \
		$(MANAGE) compilemessages --ignore=$(VENV); \
	fi

check: $(INSTALL_STAMP)
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

# pytest exits with 5 when it collected no tests; that is a broken test
# selection, not a pass. Browser tests need Debian's Chromium and are
# deselected, with a notice, where it is missing.
test: $(INSTALL_STAMP)
	$(MANAGE) makemigrations --check --dry-run
	@set -uo pipefail; \
	mkdir -p var; \
	selection=(); \
	if [ ! -x "$(CHROMIUM)" ]; then \
		selection=(-m "not browser"); \
		echo "Chromium not found: browser tests skipped (install Debian's chromium to run them)"; \
	fi; \
	if [ -n "$${DATABASE_URL:-}" ]; then \
		echo "Database: $${DATABASE_URL%%://*} from DATABASE_URL"; \
	else \
		echo "Database: SQLite (DATABASE_URL not set)"; \
	fi; \
	$(PYTHON) -m pytest -p no:cacheprovider "$${selection[@]}" $(PYTEST_ARGS); \
	status=$$?; \
	if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Chromium not found: browser tests skipped (install Debian's chromium to run them)"; \
	fi; \
	if [ $$status -eq 5 ]; then \
		echo "pytest collected no tests: treating that as a failure" >&2; \
		exit 1; \
	fi; \
	exit $$status

clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	rm -rf .pytest_cache staticfiles test-artifacts var/test-db.sqlite3* *.egg-info
