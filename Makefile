# Two commands do all set-up on a new machine: `make demo` and `make test`.
PYTHON ?= python3
SHARED ?= $(or $(OSLER_SHARED_DATA),$(abspath ../shared/data))
DEMO_DATA ?= $(abspath .osler-demo)
PIP = $(PYTHON) -m pip install --disable-pip-version-check -q

.PHONY: install install-test demo test lint bench

install:
	$(PIP) -e .

install-test:
	$(PIP) -e ".[test]"

## Install Osler, ingest the shared medical data into .osler-demo/ and show what it holds.
demo: install
	OSLER_DATA_DIR=$(DEMO_DATA) $(PYTHON) -m osler ingest $(SHARED)
	OSLER_DATA_DIR=$(DEMO_DATA) $(PYTHON) -m osler stats

## Install what the tests need and run the whole suite (lint included).
test: install-test
	$(PYTHON) -m ruff check src tests benchmarks
	OSLER_SHARED_DATA=$(SHARED) $(PYTHON) -m pytest

bench: install
	OSLER_SHARED_DATA=$(SHARED) $(PYTHON) benchmarks/ingest.py
