# Gatehouse: `make demo` runs the demo chain, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench protos lint typecheck venv clean system-deps

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

protos: $(STAMP)
	$(PY) -m protos.build

demo: $(STAMP)
	$(VENV)/bin/gatehouse demo

system-deps:
	@bash scripts/system-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: $(STAMP) system-deps lint typecheck
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(VENV)/bin/gatehouse bench

clean:
	rm -rf $(VENV) .gatehouse .pytest_cache .mypy_cache .ruff_cache
