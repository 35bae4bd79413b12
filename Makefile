# Two commands for a newcomer: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0
# Test processes for `make test` (pytest-xdist): `auto` is one per core; 0 runs in one.
PYTEST_WORKERS ?= auto

.PHONY: run test unit check lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of PyTorch first: an unpinned torch would resolve to a CUDA build of GBs.
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Set up, migrate and serve on http://127.0.0.1:8080 (SQLite, policies/).
run: $(STAMP)
	GUARDIAN_ENV=$${GUARDIAN_ENV:-development} $(BIN)/guardian serve --inbox 8025

## Set up and run lint, types and the whole test suite (SQLite and PostgreSQL).
test: $(STAMP) check
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## The fast inner loop: the tests of the pure modules (no database, no server), in seconds.
unit: $(STAMP)
	$(BIN)/python -m pytest -m pure -q $(PYTEST_ARGS)

## Lint and type checks only.
check: lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check guardian tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## Ingest benchmark on SQLite and PostgreSQL (see docs/performance.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
