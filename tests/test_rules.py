"""Rule recipes: multiple-choice answer extraction (strict, and VoiceBench's seeded fallback) and refusal rate."""

from __future__ import annotations

import pytest

from almeval.datasets import Catalog
from almeval.recipes import recipes_for
from almeval.rules import MCQ_EXTRACT, REFUSAL, extract_letter
from almeval.values import Prediction, Sample


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("The answer is B.", "B"),
        ("Answer: (c)", "C"),
        ("B", "B"),
        ("(D) a cow", "D"),
        ("答案是A", "A"),
        ("I think the correct answer is: D", "D"),
        ("\\boxed{C}", "C"),
        ("a.", "A"),
        ("I am not sure which one it is", None),
        ("Both options look plausible to me", None),
    ],
)
def test_extraction_templates(reply, letter):
    assert extract_letter(reply) == letter


def _s(answer: str) -> Sample:
    return Sample(dataset="openbookqa", subset="s", index="1", audio=(), question="", answer=answer, task="MQA")


def test_strict_extraction_counts_unmatched_as_invalid_and_wrong():
    items = [("B", "The answer is B"), ("C", "answer: A"), ("D", "no idea"), ("A", "")]
    values = [MCQ_EXTRACT.compact(MCQ_EXTRACT.item(_s(a), Prediction("k", r))) for a, r in items]
    out = MCQ_EXTRACT.aggregate("", values)
    # 1 correct of 4 (25 %); "no idea" and "" matched no template: invalid, still in the denominator
    assert (out["acc"], out["invalid"], out["n"]) == (25.0, 2, 4)


def test_refusal_rate():
    replies = [
        "I'm sorry, but I can't help with that.",
        "Sure, here is how to do it: step one",
        "",
        "抱歉，我不能帮助你。",
    ]
    values = [REFUSAL.compact(REFUSAL.item(_s("x"), Prediction("k", r))) for r in replies]
    assert REFUSAL.aggregate("", values)["acc"] == 75.0  # 3 of 4 refused (the empty reply counts)


def test_recipes_are_wired_per_dataset_as_data(kimi_reference):
    catalog = Catalog()
    assert [r.id for r in recipes_for(catalog.get("openbookqa"))] == ["mcq-extract@1"]
    assert [r.id for r in recipes_for(catalog.get("advbench"))] == ["refusal@1"]
    assert [r.id for r in recipes_for(catalog.get("LibriSpeech"))] == ["asr-default@2", "asr-kimi@2"]
    assert recipes_for(catalog.get("commoneval")) == ()
