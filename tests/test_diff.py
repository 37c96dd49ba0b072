"""`almeval diff A B`: per-benchmark change with a paired bootstrap CI, McNemar for right/wrong items, and the
items that changed — for judged recipes (verdicts from the store) and ASR alike."""

from __future__ import annotations

import json

from conftest import cli
from openai_server import FakeOpenAI
from test_judge import WRONG, _mcq

from almeval.judges import JudgeOptions
from almeval.runner import EvalOptions, evaluate


def test_diff_of_a_judged_benchmark_counts_flips_and_tests_them(tmp_path):
    quiz = _mcq(tmp_path, n=24)
    with FakeOpenAI() as srv:
        jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=2.0)
        for args in ({"wrong": WRONG}, {"mode": "echo"}):  # A answers 4 of 24 wrongly, B none
            evaluate(
                EvalOptions(model="fake", data=(str(quiz),), work_dir=tmp_path / "w", model_args=args, judge=jopts)
            )
    runs = json.loads(cli("runs", "-w", str(tmp_path / "w"), "--json").stdout)
    a, b = (r["model"].split("@")[1] for r in runs)
    out = cli("diff", a, b, "-w", str(tmp_path / "w"), "--format", "json")
    assert out.returncode == 0, out.stderr
    entry = next(e for e in json.loads(out.stdout)["benchmarks"] if e["recipe"] == "judge-default@1:gpt-4o-mini")
    # A: 20/24 = 83.33, B: 24/24 = 100; the 4 items only B gets right; McNemar exact p = 2 · (1/2)^4 = 0.125
    assert (entry["a"], entry["b"], entry["delta"]) == (83.33, 100.0, 16.67)
    assert entry["mcnemar"] == {"a_only_right": 0, "b_only_right": 4, "p": 0.125}
    assert sorted(c["index"] for c in entry["changed"]) == sorted(WRONG.split(";"))
    lo, hi = entry["ci95_delta"]
    assert 0 < lo <= 16.67 <= hi
    md = cli("diff", a, b, "-w", str(tmp_path / "w")).stdout
    assert "| quiz | judge-default@1:gpt-4o-mini | 83.33 | 100.00 | 16.67 |" in md and "0 / 4, p=0.125" in md


def test_diff_refuses_an_ambiguous_or_unknown_model(tmp_path):
    quiz = _mcq(tmp_path, n=2)
    for mode in ("echo", "upper"):
        evaluate(EvalOptions(model="fake", data=(str(quiz),), work_dir=tmp_path / "w", model_args={"mode": mode}))
    out = cli("diff", "fake", "nothing", "-w", str(tmp_path / "w"))
    assert out.returncode == 2 and "names 2 stored models" in " ".join(out.stderr.split())
