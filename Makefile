# The two commands: `make brief` (the main job on data/) and `make test` (all tests).
# Everything installs into .venv/ in the checkout; Debian packages only when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_WORKERS ?= 2

.PHONY: all setup system-deps test test-fast brief bench clean

all: setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[notebooks,export,test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# CJK fonts for charts and a headless browser for the brief tests (checked with dpkg -s first).
system-deps:
	bash scripts/system-deps.sh

test: setup system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider tests

test-fast: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow" tests

brief: setup system-deps
	$(BIN)/python scripts/make_brief.py

bench: setup
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build .pytest_cache .hypothesis
