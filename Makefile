# The README's commands: `make run` (the app on the embedded default) and `make test`
# (everything); `make test-fast` is the edit loop.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp

.PHONY: run test test-fast lint typecheck clean

# Bytecode is cached (in __pycache__, ignored by git) even where the environment says not
# to: without it every process, and every CLI or server a test starts, compiles some 2,000
# modules before its first line runs.
unexport PYTHONDONTWRITEBYTECODE

$(RUNTIME_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(RUNTIME_STAMP)

# The developer tools (pytest, ruff, mypy, Playwright, schemathesis) only for the tests.
$(DEV_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(DEV_STAMP)

## Run the system on the embedded default (SQLite + in-process) at http://127.0.0.1:8080
run: $(RUNTIME_STAMP)
	$(BIN)/hotline db upgrade
	$(BIN)/hotline demo-data
	$(BIN)/hotline serve

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

## Lint, type-check, the import contract and the whole test suite: one process per core,
## then the tests that flush the run's Redis database, in one process
test: lint typecheck
	$(BIN)/python -m pytest -q --durations=15 -n auto -m 'not redis'
	$(BIN)/python -m pytest -q --durations=5 -m redis

## The edit loop: SQLite only, no Redis, PostgreSQL, browser or large-volume tests, one
## process per core. Schemathesis and Hypothesis serve only the fuzz tests, which are slow:
## their pytest plugins (a second and a half to load in every process) stay out.
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m 'not slow' -n auto --dist worksteal -p no:schemathesis -p no:hypothesispytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
