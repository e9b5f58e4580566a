# Everyday commands. `make run` serves the site, `make test` checks everything;
# both set up what they need on a fresh Debian machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Where the virtualenv lives; point it elsewhere to try a clean setup (VENV=/tmp/venv).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Touched after a successful install: deps are reinstalled only when a requirements file
# changes. `make run` needs the runtime's alone; the test tool chain comes with `make test`.
RUNTIME_STAMP := $(VENV)/.runtime-installed
STAMP := $(VENV)/.requirements-installed

HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is for development: debug is on unless the environment says otherwise.
DJANGO_DEBUG ?= 1

# What the test suite needs from the system: a browser for the browser tests, and the
# servers of the production setup (installed, not started).
TEST_PACKAGES := chromium redis-server postgresql
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Shell code: install the Debian packages among $(1) that are missing, running
# `apt-get update` only then (once), with sudo only when not root.
define apt_ensure
missing=""; \
for pkg in $(1); do \
  dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
done; \
if [ -z "$$missing" ]; then :; \
elif ! command -v apt-get >/dev/null; then \
  echo "Missing system packages:$$missing (no apt-get here: install them yourself)."; \
else \
  echo "Installing system packages:$$missing"; \
  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
fi
endef

.PHONY: help run migrate superuser test lint test-js test-python test-django system-deps deps compose-check clean bench

help:
	@echo "make run          set up, migrate and serve http://$(HOST):$(PORT) (SQLite, in-process layer)"
	@echo "make superuser    create an admin account for /admin/"
	@echo "make test         system packages, deps, ruff, node tests, the whole suite (pytest and manage.py test)"
	@echo "make lint         ruff check, ruff format --check, mypy on the client library"
	@echo "make test-js      the page's logic modules through node --test (static/js/tests/)"
	@echo "make test-python  the suite through pytest"
	@echo "make test-django  the suite through Django's runner (python manage.py test)"
	@echo "make clean        remove caches, test databases and collected static files"
	@echo "make bench        short benchmark: project vs naive vs raw (bench/README.md)"

# --- setup ------------------------------------------------------------------------------

$(PY):
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { $(call apt_ensure,python3-venv); }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

deps: $(STAMP)

# Node runs the front end's unit tests. It may come from outside dpkg (nvm, a tarball):
# Debian's nodejs is installed only when there is no node at all.
system-deps:
	@$(call apt_ensure,$(TEST_PACKAGES) python3-venv)
	@command -v node >/dev/null || { $(call apt_ensure,nodejs); }

# --- running ----------------------------------------------------------------------------

migrate: $(RUNTIME_STAMP)
	$(PY) manage.py migrate --noinput

run: migrate
	DJANGO_DEBUG=$(DJANGO_DEBUG) $(PY) manage.py runserver $(HOST):$(PORT)

superuser: migrate
	$(PY) manage.py createsuperuser

# --- checking ---------------------------------------------------------------------------

test: system-deps $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-js
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-django

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd client && $(abspath $(VENV))/bin/mypy

# The page's logic modules (stores, protocol, outbox, members) under Node's own runner;
# no npm, no packages. The files are named (not the folder): node 18-20 would search a
# folder, but from node 21 on the arguments are file patterns.
test-js:
	node --test static/js/tests/*.test.js

# pytest exits 5 when it collects nothing: that fails the target, as it should.
test-python: $(STAMP)
	$(VENV)/bin/pytest

test-django: $(STAMP)
	$(PY) manage.py test --noinput

# docker-compose needs a secret to render the file; this one is only for the check.
compose-check:
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-config-check-only} docker-compose config -q

clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis staticfiles test_db.sqlite3*
	find . -name __pycache__ -type d -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

# Short benchmark run (< 5 minutes): project vs the reference servers; see bench/README.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/run.py --short --plot bench/out/fanout-short.png
