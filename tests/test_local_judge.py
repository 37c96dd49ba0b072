"""A local transformers model in the judge role (tiny random Llama, real from_pretrained + generate)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("transformers")

from test_judge import WRONG, _mcq
from tiny_models import tiny_llama

from almeval.adapters.hf_causal import HFCausalLM
from almeval.judges import JudgeOptions
from almeval.runner import EvalOptions, evaluate

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    return tiny_llama(tmp_path_factory.mktemp("tiny") / "llama")


def test_greedy_outputs_identical_batched_and_one_at_a_time(llama_dir):
    model = HFCausalLM({"path": str(llama_dir), "max_new_tokens": "12"})
    convs = [
        [{"role": "user", "content": text}]
        for text in ("hi", "a much longer question that needs more padding on the left", "mid length one")
    ]
    params = {"max_tokens": 12, "temperature": 0.0}
    batched = model.chat(convs, params)
    single = [model.chat([c], params)[0] for c in convs]
    assert batched == single  # left padding + attention masks: padding must not change greedy outputs
    assert all(isinstance(t, str) for t in batched)


def test_local_judge_batches_and_counts_unparseable_replies(tmp_path, llama_dir):
    quiz = _mcq(tmp_path, n=6)
    judge = f"hf:{llama_dir}"
    opts = EvalOptions(
        model="fake",
        data=(str(quiz),),
        work_dir=tmp_path / "w",
        model_args={"wrong": WRONG},
        judge=JudgeOptions(judges=(judge,)),
    )
    out = evaluate(opts)
    s = out["datasets"]["quiz"]["scores"][f"judge-default@1:{judge}"]
    # random weights emit random bytes: every reply is invalid, counted, and scored at the floor — never dropped
    assert out["judged"] == 6 and s["invalid"] == 6 and s["n"] == 6 and s["acc"] == 0.0
    again = evaluate(opts)
    assert again["judged"] == 0 and again["judge_cache_hits"] == 6  # cached: the judge is not even loaded


def test_local_judge_identity_changes_with_weights(llama_dir, tmp_path):
    other = tiny_llama(tmp_path / "other", seed=1)
    a = HFCausalLM.identity({"path": str(llama_dir)})
    b = HFCausalLM.identity({"path": str(other)})
    assert a["weights"] != b["weights"] and a["path_name"] == "llama"
