"""A local transformers model in the judge role (tiny random Llama, real from_pretrained + generate)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("transformers")

from test_judge import WRONG, _mcq, _verdicts
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


def _quiz_opts(tmp_path, judge: str) -> EvalOptions:
    """Six multiple-choice items from the fake model, judged by `judge`."""
    quiz = _mcq(tmp_path, n=6)
    return EvalOptions(
        model="fake",
        data=(str(quiz),),
        work_dir=tmp_path / "w",
        model_args={"wrong": WRONG},
        judge=JudgeOptions(judges=(judge,)),
    )


def test_local_judge_batches_and_counts_unparseable_replies(tmp_path, llama_dir):
    judge = f"hf:{llama_dir}"
    opts = _quiz_opts(tmp_path, judge)
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


def test_a_constrained_local_judge_always_gives_a_wellformed_verdict(tmp_path, llama_dir):
    """`hf-choose:DIR`: the same random-weight model now picks "Result: yes" or "Result: no" by
    log-probability, so every verdict parses (what it prefers is still its own)."""
    judge = f"hf-choose:{llama_dir}"
    out = evaluate(_quiz_opts(tmp_path, judge))
    s = out["datasets"]["quiz"]["scores"][f"judge-default@1:{judge}"]
    assert out["judged"] == 6 and s["invalid"] == 0 and s["errors"] == 0 and s["n"] == 6
    replies = {r for _, r in _verdicts(tmp_path, "w")}
    assert replies <= {"Result: yes", "Result: no"}


def test_choose_picks_the_candidate_the_model_finds_most_likely(llama_dir):
    """Checked against the model's own scores: the chosen candidate has the highest summed log-probability."""
    import torch

    model = HFCausalLM({"path": str(llama_dir)})
    conv = [{"role": "user", "content": "Is the sky blue? Answer with Result: yes or Result: no."}]
    cands = ["Result: yes", "Result: no", "Result: maybe not"]
    chosen = model.choose([conv], [cands])[0]
    prompt = model.tok.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
    head = model.tok(prompt, add_special_tokens=False)["input_ids"]
    scores = {}
    for c in cands:  # one sequence at a time, no padding: the reference computation
        seq = head + model.tok(c, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logp = model.model(input_ids=torch.tensor([seq])).logits.log_softmax(-1)[0]
        scores[c] = sum(float(logp[i - 1, seq[i]]) for i in range(len(head), len(seq)))
    assert chosen == max(scores, key=scores.__getitem__)


def test_every_written_out_verdict_parses():
    from almeval.judges.templates import builtin_templates

    for template in builtin_templates().values():
        verdicts = template.verdicts()
        assert verdicts, template.id
        assert all(template.parse_reply(v).ok for v in verdicts), template.id
