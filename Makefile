# gymgate: `make run` serves on :8000, `make test` runs every check. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
ADMIN_TOKEN_FILE := .gymgate-admin-token

# Extra prerequisites of `make test`, added by the files in mk/ (browsers, Postgres, …).
TEST_PREREQS :=
-include mk/*.mk

.PHONY: install run test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "gymgate needs Python >= 3.11 ($(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

$(ADMIN_TOKEN_FILE):
	@umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > $@
	@echo "made an admin token in $@"

run: install $(ADMIN_TOKEN_FILE) web-assets
	@$(BIN)/python -c 'import socket; socket.create_server(("0.0.0.0", $(PORT))).close()' 2>/dev/null || \
		{ echo "port $(PORT) is busy (another gymgate?): try PORT=$$(( $(PORT) + 1 )) make run"; exit 1; }
	@echo "admin token: export GYMGATE_ADMIN_TOKEN=\$$(cat $(ADMIN_TOKEN_FILE))"
	GYMGATE_DEV_MODE=1 GYMGATE_ADMIN_TOKEN=$${GYMGATE_ADMIN_TOKEN:-$$(cat $(ADMIN_TOKEN_FILE))} \
		$(BIN)/gymgate serve --host 0.0.0.0 --port $(PORT)

lint: install lint-containers
	$(BIN)/ruff check src tests benchmarks testkit scripts
	$(BIN)/ruff format --check src tests benchmarks testkit scripts
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests benchmarks testkit scripts
	$(BIN)/ruff check --fix src tests benchmarks testkit scripts

# pytest workers for `make test` (pytest-xdist); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2

test: install $(TEST_PREREQS)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: install bench-deps
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
