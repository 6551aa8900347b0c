# hierwbc: `make demo` and `make test` are the two set-up commands (see README).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export MPLBACKEND := Agg
export QT_QPA_PLATFORM := offscreen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv test demo bench clean lint

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import torch, ete3, anndata" # fails loudly if the lock did not install
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

test: venv
	$(BIN)/python -m pytest -n 2 --dist loadgroup

demo: venv
	$(BIN)/hierwbc demo

bench: venv  # make bench BENCH_ARGS=--quick: a smoke run at small sizes, no results written
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

lint: venv
	$(BIN)/python -m ruff check hierwbc hierarchy_editor tests bench reports notebooks

clean:
	rm -rf $(VENV) runs
