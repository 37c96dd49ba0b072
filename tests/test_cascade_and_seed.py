"""The cascade baseline (real pocketsphinx + a tiny transformers LLM) and seed models behind extras."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from conftest import cli
from storeview import fetch
from tiny_models import tiny_llama

from almeval.runner import EvalOptions, evaluate
from almeval.store import Store


def test_cascade_transcribes_then_answers(tmp_path):
    llm = tiny_llama(tmp_path / "llm")
    model = f"cascade:sphinx+hf-causal:{llm}"
    out = evaluate(
        EvalOptions(
            model=model,
            data=("demo", "demo-mqa"),
            work_dir=tmp_path / "w",
            limit=2,
            model_args={"llm.max_new_tokens": "8"},
            skip_judge=True,
        )
    )
    assert out["failed"] == 0 and out["inferred"] == 4 and out["model"] == "cascade:sphinx+hf:llm"
    # ASR items are the transcript itself, scored like sphinx alone
    assert 0 <= out["datasets"]["demo"]["scores"]["asr-default@2"]["wer"] < 50
    assert out["adapter"]["asr"]["name"] == "sphinx" and out["adapter"]["llm"]["name"] == "hf-causal"
    store = Store(tmp_path / "w" / "almeval.sqlite")
    found = fetch(store, "SELECT i.dataset, p.text FROM items i JOIN predictions p ON p.key = i.pred_key")
    assert {d for d, _ in found} == {"demo", "demo-mqa"} and all(isinstance(t, str) for _, t in found)


def test_cascade_needs_two_halves(tmp_path):
    res = cli("eval", "-m", "cascade:sphinx", "-d", "demo", "-w", str(tmp_path / "w"), "-q")
    assert res.returncode == 2 and "ASR+LLM" in res.stderr and "Traceback" not in res.stderr


def test_seed_model_without_its_package_gives_the_install_hint(tmp_path):
    listing = cli("models", "list").stdout
    assert (
        "kimi-audio" in listing and "unavailable: pip install git+https://github.com/MoonshotAI/Kimi-Audio" in listing
    )
    res = cli("eval", "-m", "kimi-audio", "-d", "demo", "--limit", "1", "-w", str(tmp_path / "w"), "-q")
    assert res.returncode == 2 and "kimia_infer" in res.stderr and "Traceback" not in res.stderr
    res = cli("eval", "-m", f"step-audio:{tmp_path}", "-d", "demo", "--limit", "1", "-w", str(tmp_path / "w2"), "-q")
    assert res.returncode == 2 and "Step-Audio" in res.stderr and "Traceback" not in res.stderr
    res = cli("eval", "-m", "glm-4-voice", "-d", "demo", "--limit", "1", "-w", str(tmp_path / "w3"), "-q")
    assert res.returncode == 2 and "speech_tokenizer" in res.stderr and "Traceback" not in res.stderr
    runs = Store(tmp_path / "w" / "almeval.sqlite").runs()
    assert json.loads(runs[-1]["summary"]) == {"error": "failed"} and runs[-1]["status"] == "failed"
