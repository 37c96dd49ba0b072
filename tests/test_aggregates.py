"""Aggregates are computed from their components: VoiceBench Avg (Kimi) reproduces Kimi-Audio-Evalkit's
table, VoiceBench Overall reproduces VoiceBench's own leaderboard."""

from __future__ import annotations

import pytest

from almeval.datasets.catalog import SUITES

VOICEBENCH, OVERALL, OPENAUDIOBENCH = (
    next(s for s in SUITES if s.name == n)
    for n in ("VoiceBench Avg (Kimi)", "VoiceBench Overall", "OpenAudioBench Avg")
)

# VoiceBench README leaderboard (commit 5338154): AlpacaEval, CommonEval, WildVoice, SD-QA, MMSU, OBQA, BBH,
# IFEval, AdvBench, Overall — four of its rows
VB_ROWS = {
    "GPT-4o-Audio": (4.78, 4.49, 4.58, 75.50, 80.25, 89.23, 84.10, 76.02, 98.65, 86.75),
    "Kimi-Audio": (4.46, 3.97, 4.20, 63.12, 62.17, 83.52, 69.70, 61.10, 100.00, 76.91),
    "Baichuan-Audio": (4.41, 4.08, 3.92, 45.84, 53.19, 71.65, 54.80, 50.31, 99.42, 69.27),
    "MERaLiON": (4.50, 3.77, 4.12, 55.06, 34.95, 27.23, 62.60, 62.93, 94.81, 65.04),
}
VB_KEYS = ("alpacaeval_full", "commoneval", "wildvoice", "sd-qa", "mmsu", "openbookqa", "bbh", "ifeval", "advbench")

# Kimi-Audio-Evalkit LEADERBOARD.md, VoiceBench: AlpacaEval, CommonEval, SD-QA, MMSU, OpenBookQA, IFEval, AdvBench, Avg
ROWS = {
    "Qwen2-Audio-chat": (3.69, 3.40, 35.35, 35.43, 49.01, 22.57, 98.85, 54.72),
    "Baichuan-chat": (4.00, 3.39, 49.64, 48.80, 63.30, 41.32, 86.73, 62.51),
    "GLM-4-Voice": (4.06, 3.48, 43.31, 40.11, 52.97, 24.91, 88.08, 57.17),
    "StepAudio-chat": (3.99, 2.99, 46.84, 28.72, 31.87, 29.19, 65.77, 48.86),
    "Qwen2.5-Omni": (4.33, 3.84, 57.41, 56.38, 79.12, 53.88, 99.62, 72.83),
    "Kimi-Audio": (4.46, 3.97, 63.12, 62.17, 83.52, 61.10, 100.00, 76.93),
}
KEYS = ("alpacaeval_full", "commoneval", "sd-qa", "mmsu", "openbookqa", "ifeval", "advbench")


@pytest.mark.parametrize("model", sorted(ROWS))
def test_voicebench_avg_reproduces_the_leaderboard(model):
    *parts, avg = ROWS[model]
    # e.g. Kimi-Audio: (20*4.46 + 20*3.97 + 63.12 + 62.17 + 83.52 + 61.10 + 100) / 7 = 538.51 / 7 = 76.93
    assert VOICEBENCH.compute(dict(zip(KEYS, parts, strict=True))) == pytest.approx(avg, abs=0.01)


@pytest.mark.parametrize("model", sorted(VB_ROWS))
def test_voicebench_overall_reproduces_voicebenchs_leaderboard(model):
    *parts, overall = VB_ROWS[model]
    # e.g. GPT-4o-Audio: (20*(4.78 + 4.49 + 4.58) + 75.50 + 80.25 + 89.23 + 84.10 + 76.02 + 98.65) / 9 = 86.75
    assert OVERALL.compute(dict(zip(VB_KEYS, parts, strict=True))) == pytest.approx(overall, abs=0.01)


def test_each_aggregate_names_the_exact_recipe_of_every_component():
    assert set(VOICEBENCH.recipes) == set(VOICEBENCH.weights) and set(OVERALL.recipes) == set(OVERALL.weights)
    assert OVERALL.recipes["mmsu"] == "mcq-voicebench" and OVERALL.recipes["bbh"] == "bbh-voicebench"
    assert VOICEBENCH.recipes["mmsu"] == "judge-kimi"


def test_an_aggregate_with_a_missing_component_is_not_reported():
    values = dict(zip(KEYS, ROWS["Kimi-Audio"][:-1], strict=True))
    del values["ifeval"]
    assert VOICEBENCH.compute(values) is None and VOICEBENCH.missing(values) == ["ifeval"]


def test_openaudiobench_avg_is_the_mean_of_its_subsets():
    # Kimi-Audio: (75.73 + 79.33 + 58.02 + 62.10 + 70.20) / 5 = 345.38 / 5 = 69.08
    values = dict(zip(OPENAUDIOBENCH.weights, (75.73, 79.33, 58.02, 62.10, 70.20), strict=True))
    assert OPENAUDIOBENCH.compute(values) == 69.08


def test_report_shows_an_aggregate_only_with_all_its_components(tmp_path):
    from almeval.report import render
    from almeval.store import Store
    from almeval.values import Score

    store = Store(tmp_path / "almeval.sqlite")
    scores = []
    # each component under the recipe the suite names: judge scores, IFEval's checkers, AdvBench's refusal rate
    recipe = {"ifeval": "ifeval@1", "advbench": "refusal@1"}
    for key, value in zip(KEYS, ROWS["Kimi-Audio"][:-1], strict=True):
        metric = "score" if key in ("alpacaeval_full", "commoneval") else "acc"
        vals = {metric: value, "metric": metric, "n": 10, "failed": 0, "invalid": 0}
        rid = recipe.get(key, "judge-kimi@1:gpt-4o-mini")
        scores.append(Score("kimi", key, "", rid, vals, n=10, size=10, complete=True, provenance={}, run_id="r"))
    store.put_scores((), [s for s in scores if s.dataset != "ifeval"])
    assert "| kimi | VoiceBench Avg (Kimi) | – (missing: ifeval) |" in render(store)
    store.put_scores((), scores)
    assert "| kimi | VoiceBench Avg (Kimi) | 76.93 |" in render(store)
