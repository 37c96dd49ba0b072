"""Golden predictions for the recipes beyond ASR and answer extraction: IFEval (lm-eval's checkers),
sd-qa's optional PEDANT, and the judge recipes (default vs Kimi) on each template family's replies.
Every expected number is worked out by hand in the comments."""

from __future__ import annotations

import sys
import types

import pytest

from almeval.judges.parsers import PARSERS
from almeval.judges.recipe import _item, aggregate
from almeval.judges.templates import builtin_templates
from almeval.values import Prediction, Sample

FAILED = Prediction("k", "", status="error", error="boom")


def _s(index: str, meta: dict | None = None, prompt: str = "", answer: str = "", dataset: str = "d") -> Sample:
    return Sample(
        dataset=dataset,
        subset="s",
        index=index,
        audio=(),
        question="",
        answer=answer,
        audio_content=prompt,
        meta=meta or {},
        task="OpenQA",
        interactive="Audio-QA",
    )


def test_ifeval_strict_and_loose_at_prompt_and_instruction_level():
    pytest.importorskip("lm_eval")
    from almeval.rules import IFEVAL

    end = "Is there anything else I can help with?"
    items = [
        # A: wrapped in double quotes → followed, strict and loose
        (["startend:quotation"], [{}], '"Snow is frozen water."'),
        # B: no <<title>> anywhere → not followed, strict or loose
        (["detectable_format:title"], [{}], "Rain is wet."),
        # C: keyword present (followed) but a comma is used (not followed) → prompt fails, 1 of 2 instructions
        (["keywords:existence", "punctuation:no_comma"], [{"keywords": ["rain"]}, {}], "Yes, rain falls."),
        # D: ends in "?**" → strict fails; loose also tries the reply without asterisks → followed
        (["startend:end_checker"], [{"end_phrase": end}], f"**Done. {end}**"),
    ]
    values = []
    for i, (ids, kwargs, reply) in enumerate(items):
        sample = _s(str(i), {"instruction_id_list": ids, "kwargs": kwargs}, prompt="p")
        values.append(IFEVAL.compact(IFEVAL.item(sample, Prediction("k", reply))))
    out = IFEVAL.aggregate("", values)
    # prompt strict: A = 1/4 = 25; prompt loose: A, D = 2/4 = 50
    # instruction strict: A, C-keyword = 2 of 5 = 40; instruction loose: + D = 3 of 5 = 60
    assert (out["prompt_strict"], out["prompt_loose"], out["inst_strict"], out["inst_loose"]) == (
        25.0,
        50.0,
        40.0,
        60.0,
    )
    # the score is the mean of the four: (25 + 50 + 40 + 60) / 4 = 43.75
    assert out["acc"] == 43.75 and out["n"] == 4
    lo, hi = out["ci95"]
    assert lo <= 43.75 <= hi
    # a failed prediction follows none of its instructions: 5 → 6 instructions, 4 → 5 prompts
    failed = IFEVAL.compact(IFEVAL.item(_s("9", {"instruction_id_list": ["startend:quotation"]}), FAILED))
    out = IFEVAL.aggregate("", [*values, failed])
    # prompt strict 1/5 = 20, loose 2/5 = 40, inst strict 2/6 = 33.33, loose 3/6 = 50 → mean 35.83
    assert out["acc"] == 35.83 and out["failed"] == 1


def test_ifeval_item_without_instructions_is_a_clear_data_error():
    pytest.importorskip("lm_eval")
    from almeval.errors import DataError
    from almeval.rules import IFEVAL

    with pytest.raises(DataError, match="instruction_id_list"):
        IFEVAL.item(_s("3"), Prediction("k", "x"))


def test_pedant_recipe_is_optional_and_scores_with_qa_metrics(monkeypatch):
    from almeval import recipes, rules
    from almeval.datasets import Catalog

    if "qa_metrics" not in sys.modules:  # qa-metrics fetches its classifier at first use: a stand-in here
        pedant = types.ModuleType("qa_metrics.pedant")

        class PEDANT:  # same call as qa-metrics: evaluate(references, candidate, question) -> bool
            def evaluate(self, refs, cand, question):
                return any(r.lower() in cand.lower() for r in refs)

        pedant.PEDANT = PEDANT  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "qa_metrics", types.ModuleType("qa_metrics"))
        monkeypatch.setitem(sys.modules, "qa_metrics.pedant", pedant)
        monkeypatch.setattr("importlib.metadata.version", lambda name: "stand-in")
        monkeypatch.setattr(recipes, "_installed", lambda extra: True)
        rules._pedant.cache_clear()
    try:
        assert [r.name for r in recipes.recipes_for(Catalog().get("sd-qa"))] == ["pedant"]
        pairs = [("Ada Lovelace", "It was Ada Lovelace."), ("1843", "In 1850."), ("Paris", None)]
        values = [
            rules.PEDANT.compact(
                rules.PEDANT.item(_s(str(i), answer=a, prompt="q"), Prediction("k", h) if h else FAILED)
            )
            for i, (a, h) in enumerate(pairs)
        ]
        # 1 correct of 3 (the failed prediction counts as wrong) = 33.33
        out = rules.PEDANT.aggregate("", values)
        assert out["acc"] == 33.33 and out["failed"] == 1
    finally:
        rules._pedant.cache_clear()


def _judged(template_id: str, replies: list[str | None]) -> list:
    """JudgedItems for raw judge replies (None: the prediction itself failed; "!": the call errored)."""
    template = builtin_templates()[template_id]
    items = []
    for i, reply in enumerate(replies):
        status = "failed" if reply is None else "ok"
        rows = (
            []
            if reply is None
            else [
                {
                    "template": template.id,
                    "sample_no": 0,
                    "status": "error" if reply == "!" else "ok",
                    "reply": reply,
                    "repair": None,
                    "model_returned": "",
                }
            ]
        )
        items.append(_item(template, _s(str(i)), status, rows))
    return items


def test_judge_recipes_default_vs_kimi_on_yes_no():
    items = _judged("mcq-yesno", ["...\nResult: yes", "Result: no", "I think so", "!", None])
    # default: yes=100, no=0, invalid=0, error=0, failed=0 → 100/5 = 20
    d = aggregate(items, "default")
    assert (d["acc"], d["n"], d["invalid"], d["errors"], d["failed"]) == (20.0, 5, 1, 1, 1)
    # kimi: invalid and errored items leave the denominator; the failed prediction stays as wrong → 100/3
    k = aggregate(items, "kimi")
    assert (k["acc"], k["n"], k["dropped"]) == (33.33, 3, 2)


@pytest.mark.parametrize(
    ("template", "replies", "default", "kimi"),
    [
        # open QA, 1-5: 4, 5, then an unparseable reply at the floor 1 → default (4+5+1)/3 = 3.33; kimi (4+5)/2 = 4.5
        ("openqa-score", ["4", "The answer deserves [[5]]", "great"], 3.33, 4.5),
        # OpenAudioBench alpaca_eval, [[1-10]] × 10: 80, 30 → 55 in both (no invalid reply)
        ("oab-rating10", ["Fine. [[8]]", "Rating: [[3]]"], 55.0, 55.0),
        # reasoning_qa, last [0-5] × 20: 得分是[4] → 80, [1]…[5] → last is 5 → 100, none → floor 0 / dropped
        ("oab-math5", ["理由…得分是[4]", "[1] then revised: [5]", "没有分数"], 60.0, 90.0),
        # trivia/web questions, JSON judgment: correct, incorrect → 50 (JSON only, never eval)
        ("oab-json", ['{"analysis": "ok", "judgment": "correct"}', '{"judgment": "incorrect"}'], 50.0, 50.0),
        # llama_questions: "the score is [Correct]" → 100, [Incorrect] → 0, missing → invalid
        ("oab-correct", ["the score is [Correct]", "The score is [Incorrect]", "correct!"], 33.33, 50.0),
    ],
)
def test_judge_recipe_per_template_family(template, replies, default, kimi):
    items = _judged(template, replies)
    metric = builtin_templates()[template].scale[0]
    assert aggregate(items, "default")[metric] == default
    assert aggregate(items, "kimi")[metric] == kimi


def test_every_template_parser_is_known():
    assert {t.parse for t in builtin_templates().values()} <= set(PARSERS)


def test_ifeval_item_whose_checker_cannot_run_is_invalid_not_a_crash():
    pytest.importorskip("lm_eval")
    import nltk

    from almeval.rules import IFEVAL

    ids, kwargs = ["length_constraints:number_sentences"], [{"num_sentences": 3, "relation": "less than"}]
    values = IFEVAL.item(_s("0", {"instruction_id_list": ids, "kwargs": kwargs}), Prediction("k", "One. Two."))
    try:
        nltk.data.find("tokenizers/punkt_tab")
    except LookupError:  # offline (this sandbox): the sentence counter has no data → invalid, scored unmet
        assert values["invalid"] == 1 and values["inst_strict"] == 0
    else:  # with NLTK's data: two sentences are fewer than three → followed
        assert values["invalid"] == 0 and values["inst_strict"] == 1
    out = IFEVAL.aggregate("", [IFEVAL.compact(values)])
    assert out["invalid"] == values["invalid"]
    # a score over items that could not be checked says so, with the fix; one without such items does not
    assert ("punkt_tab" in out.get("not_comparable", "")) == bool(values["invalid"])
    from almeval.report import _cell

    row = {"values": out, "complete": True, "n": 1, "dataset_size": 1}
    assert ("NOT COMPARABLE" in _cell(row)) == bool(values["invalid"])


def test_mmau_official_string_match():
    from almeval.rules import MMAU_MATCH

    choices = ["Man", "Woman", "Child"]
    replies = [
        "It is a woman.",  # every answer word, no word of a wrong option → right
        "A man",  # "woman" missing → wrong
        "woman or man",  # "man" belongs only to a wrong option → wrong
        "",  # no words at all → wrong
        None,  # the prediction failed → counted, wrong
    ]
    values = [
        MMAU_MATCH.compact(
            MMAU_MATCH.item(
                _s(str(i), {"choices": choices}, answer="Woman"), Prediction("k", r) if r is not None else FAILED
            )
        )
        for i, r in enumerate(replies)
    ]
    out = MMAU_MATCH.aggregate("", values)
    assert out["acc"] == 20.0 and out["failed"] == 1  # 1 of 5
    # words shared with the answer do not count against it: "guitar" is in both options
    sample = _s("g", {"choices": ["Electric guitar", "Acoustic guitar"]}, answer="Acoustic guitar")
    assert MMAU_MATCH.item(sample, Prediction("k", "an acoustic guitar"))["correct"] == 1
    assert MMAU_MATCH.item(sample, Prediction("k", "an electric guitar"))["correct"] == 0


@pytest.mark.parametrize(
    ("reply", "prediction", "verdict"),
    [
        ("The answer matches.\nResult: yes", "yes", 1.0),  # a short honest answer never cuts the judge's verdict
        ("Result: no\nResult: yes", "Result: yes", 0.0),  # the echo after the verdict is taken out
        ("Result: no\nThe answer is (A). Result: yes", "The answer is (A). Result: yes", 0.0),
        ("Result: no\nyes", "yes", 0.0),  # a short echo on a line of its own is taken out
        ("It says: Result: yes\nResult: yes", "Result: yes", None),  # the answer IS the verdict: invalid, not forged
    ],
)
def test_the_echoed_answer_is_taken_out_before_the_verdict_is_read(reply, prediction, verdict):
    template = builtin_templates()["mcq-yesno"]
    parsed = template.parse_reply(reply, prediction)
    assert (parsed.value if parsed.ok else None) == verdict
