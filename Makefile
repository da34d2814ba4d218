# Parvis: the two commands of the README.
#   make run    set up, build, create the demo tenant and serve it at http://127.0.0.1:5000
#   make test   install everything the tests need, lint, run the whole suite on SQLite and
#               on a throw-away PostgreSQL cluster (browser tests included), then the
#               tenancy tests on a throw-away Citus cluster (built once with ../shared/citus)
# Both are idempotent: what is already installed or built is not done again.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := webapp/web/static/vendor/htmx.min.js
# The test cluster; its port and folder differ from a developer's own cluster (25429). Ports
# stay below 32768, where Linux's ephemeral range begins (an outgoing connection may hold one).
PG_PORT ?= 25430
PG_DIR ?= /tmp/parvis-pg-ci
PYTEST_ARGS ?= -n 2 --dist loadgroup
# The Citus cluster (.ci/citus.sh: a coordinator on CITUS_PORT, workers on the next two) and the
# tests that matter for tenancy, run on it.
CITUS_PORT ?= 25450
CITUS_DIR ?= /tmp/parvis-citus-ci
CITUS_TESTS ?= tests/test_citus.py tests/test_isolation.py tests/test_request_path.py \
	tests/test_read_transactions.py \
	tests/test_migrations.py::test_provisioned_and_migrated_tenants_have_the_same_schema \
	tests/test_migrations.py::test_control_plane_at_head_matches_the_models \
	tests/test_migrations.py::test_fleet_run_goes_past_a_failing_tenant_and_the_next_run_finishes \
	tests/tenants/test_registration.py tests/tenants/test_registration_race.py \
	tests/tenants/test_retention.py tests/webapp/test_billing.py \
	tests/browser/test_registration_journey.py
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export DEBIAN_FRONTEND := noninteractive

# Installs the packages listed in the shell array `missing`, if any (apt only when needed, so a
# second run is fast).
APT_INSTALL = if [ -n "$${missing[*]:-}" ]; then \
	  echo "installing with apt-get: $${missing[*]}"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
	fi

.PHONY: help run test system-run system-test assets translations

help:
	@echo "make run    demo at http://127.0.0.1:5000/t/demo/ (prints the logins)"
	@echo "make test   install what the tests need and run them all (SQLite, PostgreSQL, Citus)"

# The job worker (e-mails, reminders) runs beside the web server and stops with it.
run: system-run $(VENV)/.installed-run assets translations
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi jobs worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# The browser tests must run here: a missing Chromium fails them instead of skipping.
test: export PARVIS_REQUIRE_BROWSER = 1
test: system-test $(VENV)/.installed-test assets translations
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	@echo "=== test suite on SQLite ==="
	env -u PARVIS_TEST_DATABASE_URL -u PARVIS_REQUIRE_POSTGRES $(BIN)/pytest $(PYTEST_ARGS)
	@echo "=== test suite on PostgreSQL ==="
	export PARVIS_PG_PORT=$(PG_PORT) PARVIS_PG_DIR=$(PG_DIR); \
	trap '.ci/postgres.sh stop' EXIT; \
	url=$$(.ci/postgres.sh start); \
	PARVIS_TEST_DATABASE_URL=$$url PARVIS_REQUIRE_POSTGRES=1 $(BIN)/pytest $(PYTEST_ARGS)
	@echo "=== test suite on Citus ==="
	export PARVIS_CITUS_PORT=$(CITUS_PORT) PARVIS_CITUS_DIR=$(CITUS_DIR); \
	trap '.ci/citus.sh stop' EXIT; \
	url=$$(.ci/citus.sh start); \
	PARVIS_TEST_DATABASE_URL=$$url PARVIS_REQUIRE_POSTGRES=1 PARVIS_TEST_CITUS=1 \
	  $(BIN)/pytest $(PYTEST_ARGS) $(CITUS_TESTS)

system-run:
	@missing=(); \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv); \
	command -v npm >/dev/null || missing+=(nodejs npm); \
	$(APT_INSTALL)

system-test: system-run
	@missing=(); \
	[ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation); \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql); \
	command -v redis-server >/dev/null || missing+=(redis-server); \
	$(APT_INSTALL)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps: pip runs again only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed-run

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(HTMX): node_modules/.package-lock.json
	npm run --silent build

assets: $(HTMX)

# The .mo files are built, never committed; no catalog yet means nothing to compile.
translations: $(VENV)/.installed-run
	@if compgen -G 'translations/*/LC_MESSAGES/*.po' >/dev/null; then \
	  $(BIN)/pybabel -q compile -d translations -f; \
	else \
	  echo "no catalogs under translations/: nothing to compile"; \
	fi
