# One place for set-up, tests and the demo. Every target is idempotent and safe on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamps
# Debian packages the tests and the demo use: the broker, the PC/SC stack with a virtual reader,
# the toolchain pyscard and evdev build with, and headless Chromium for the dashboard tests;
# systemd (systemd-analyze verify) and shellcheck for the unit files and the image recipe;
# PostgreSQL (initdb, pg_ctl) for the tests of the PostgreSQL store.
APT_PACKAGES := mosquitto mosquitto-clients pcscd libpcsclite-dev swig vsmartcard-vpcd \
	build-essential python3-dev python3-venv linux-libc-dev openssl fonts-wqy-microhei systemd shellcheck \
	chromium chromium-driver postgresql

.PHONY: setup test demo bench lint fmt models clean
setup: $(STAMP)/apt $(STAMP)/install $(STAMP)/models

$(STAMP)/apt: Makefile
	@mkdir -p $(STAMP)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "apt: installing $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		fi; \
	else echo "apt: not root, skipping system packages ($(APT_PACKAGES))"; fi
	@touch $@

$(STAMP)/install: pyproject.toml $(STAMP)/apt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@mkdir -p $(STAMP)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[booth,central,dev,sim,readers]'
	@touch $@

$(STAMP)/models: $(STAMP)/install appliance/quality/model_manifest.json
	$(BIN)/booth models fetch
	@touch $@

models: $(STAMP)/install
	$(BIN)/booth models fetch

# mypy's settings (packages, strict parts) are in pyproject.toml's [tool.mypy].
test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

demo: setup
	$(BIN)/booth demo --booths 3

bench: setup
	$(BIN)/python bench/booth_cycle.py
	$(BIN)/python bench/reader.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/uplink.py
	$(BIN)/python bench/screen.py
	$(BIN)/python bench/preview.py
	$(BIN)/python bench/office.py

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy

fmt:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
