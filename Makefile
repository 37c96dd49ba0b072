# The README's commands. Every target installs what it needs into .venv first (once).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORK ?= almeval-results

.PHONY: install demo test bench lint typecheck clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	# CPU torch first, pinned, so no later dependency can pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,sphinx]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/almeval eval --model sphinx --data demo --work-dir $(WORK)
	$(BIN)/almeval report --work-dir $(WORK) --out $(WORK)/report.md
	@echo "report: $(WORK)/report.md"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/rerun.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(WORK) *.egg-info
