"""mcq-voicebench and refusal-voicebench against a real VoiceBench checkout: on the same replies, almeval's
numbers equal those VoiceBench's own evaluators compute. VoiceBench gives an unreadable MCQ reply an
unseeded random letter, so for MCQ the unreadable rate (its `fail`) and the accuracy over readable
replies are compared; the refusal rate is compared as is. Runs only where a checkout is given:

    ALMEVAL_REFERENCE_VOICEBENCH=/path/to/VoiceBench python -m pytest tests/test_reference_voicebench.py -s
"""

from __future__ import annotations

import contextlib
import io
import os

import pytest

REAL = os.environ.get("ALMEVAL_REFERENCE_VOICEBENCH", "")  # read when collected: the autouse fixture clears it
pytestmark = pytest.mark.skipif(not REAL, reason="set ALMEVAL_REFERENCE_VOICEBENCH to a VoiceBench checkout")

# (reference letter, reply): replies of our own in the forms spoken assistants answer in
MCQ = [
    ("B", "The answer is B."),
    ("C", "Answer: (C) because the moon reflects light"),
    ("A", "I believe the correct answer is option A"),
    ("D", "答案是D"),
    ("A", "(B) is my pick"),
    ("C", "Let me think about it... I'm not sure."),
    ("B", "B"),
    ("D", "The best answer would be D, the ocean."),
    ("A", "option a"),
    ("C", ""),
]
# (task id, reference, reply) for BBH's four tasks
BBH = [
    ("sports_understanding_0", "yes", "Yes, that is plausible."),
    ("sports_understanding_1", "no", "No."),
    ("hyperbaton_0", "(A)", "The answer is (A)."),
    ("hyperbaton_1", "(B)", "The answer is (a)."),
    ("navigate_0", "yes", "Yes, you end up where you started."),
    ("navigate_1", "no", "I am not sure."),
    ("web_of_lies_0", "yes", "Yes"),
    ("web_of_lies_1", "no", "yes, she tells the truth"),
]
HARM = [
    "I'm sorry, but I can't help with that.",
    "Sure! Step one is to gather the materials.",
    "",
    "As an AI, I must decline.",
    "抱歉，我无法提供帮助。",
    "Here is a detailed plan.",
    "I CANNOT do that.",
    "That is not something I would do.",
]


def test_voicebench_evaluators_and_almeval_agree_on_the_same_replies(monkeypatch):
    from almeval import references
    from almeval.rules import BBH_VOICEBENCH, MCQ_VOICEBENCH, REFUSAL_VOICEBENCH, _voicebench_evaluator
    from almeval.values import Prediction, Sample

    monkeypatch.setenv("ALMEVAL_REFERENCE_VOICEBENCH", REAL)
    references.choose({})
    mcq, harm = _voicebench_evaluator("mcq"), _voicebench_evaluator("harm")

    def items(recipe, pairs):
        return [
            recipe.item(Sample("mmsu", "s", str(i), (), "q", ref), Prediction(str(i), reply))
            for i, (ref, reply) in enumerate(pairs)
        ]

    # MCQ: the reference's fail rate, and its accuracy over the replies it could read
    ours = items(MCQ_VOICEBENCH, MCQ)
    theirs = [mcq.extract_answer(reply) for _, reply in MCQ]
    ref_fail = 100 * sum(t is None for t in theirs) / len(MCQ)
    our_fail = 100 * sum(v["invalid"] for v in ours) / len(MCQ)
    readable = [i for i, t in enumerate(theirs) if t is not None]
    ref_acc = 100 * sum(theirs[i] == MCQ[i][0] for i in readable) / len(readable)
    our_acc = 100 * sum(ours[i]["correct"] for i in readable) / len(readable)
    # refusal: the reference's evaluate() over the same replies (it reports a fraction; almeval in %)
    ref_refusal = 100 * float(harm.evaluate([{"response": r} for r in HARM])["refusal_rate"])
    values = [REFUSAL_VOICEBENCH.compact(v) for v in items(REFUSAL_VOICEBENCH, [("", r) for r in HARM])]
    our_refusal = REFUSAL_VOICEBENCH.aggregate("en", values)["acc"]
    # BBH: it draws a random answer for a reply it cannot read (and prints it): its unreadable rate and
    # its accuracy over the replies it reads are compared, as for MCQ
    bbh = _voicebench_evaluator("bbh")
    readable_bbh, ref_unreadable = [], 0
    for k, (i, ref, r) in enumerate(BBH):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            got = bbh.extract_answer(r, i)
        if printed.getvalue().strip():
            ref_unreadable += 1
        else:
            readable_bbh.append((k, got == {"yes": 1, "no": 0, "(a)": 0, "(b)": 1}[ref.lower()]))
    bbh_items = [
        BBH_VOICEBENCH.item(Sample("bbh", "s", str(k), (), "q", ref, meta={"id": i}), Prediction(str(k), r))
        for k, (i, ref, r) in enumerate(BBH)
    ]
    ref_bbh_unreadable = 100 * ref_unreadable / len(BBH)
    our_bbh_unreadable = 100 * sum(v["invalid"] for v in bbh_items) / len(BBH)
    ref_bbh = 100 * sum(ok for _, ok in readable_bbh) / len(readable_bbh)
    our_bbh = 100 * sum(bbh_items[k]["correct"] for k, _ in readable_bbh) / len(readable_bbh)
    print(f"\nreference commit {references.get('voicebench').commit}")
    print("| quantity | reference | almeval |")
    print(f"| MCQ unreadable % | {ref_fail:.2f} | {our_fail:.2f} |")
    print(f"| MCQ accuracy over readable % | {ref_acc:.2f} | {our_acc:.2f} |")
    print(f"| AdvBench refusal % | {ref_refusal:.2f} | {our_refusal:.2f} |")
    print(f"| BBH unreadable % | {ref_bbh_unreadable:.2f} | {our_bbh_unreadable:.2f} |")
    print(f"| BBH accuracy over readable % | {ref_bbh:.2f} | {our_bbh:.2f} |")
    diffs = (
        ref_fail - our_fail,
        ref_acc - our_acc,
        ref_refusal - our_refusal,
        ref_bbh_unreadable - our_bbh_unreadable,
        ref_bbh - our_bbh,
    )
    worst = max(abs(d) for d in diffs)
    print(f"largest difference: {worst:.2f}")
    assert worst <= 0.01


def test_voicebench_judge_requests_are_built_from_the_real_checkout(monkeypatch):
    """The templates read api_judge.py's prompts and system message (no text of it in almeval) and fill
    them as its script does: {prompt}, {reference}, {response} replaced in turn; n=3 in one call."""
    import ast
    from pathlib import Path

    from almeval import references
    from almeval.judges.reference import reference_templates
    from almeval.values import Sample

    monkeypatch.setenv("ALMEVAL_REFERENCE_VOICEBENCH", REAL)
    references.choose({})
    references.require_view("voicebench")
    templates = reference_templates()
    tree = ast.parse((Path(REAL) / "api_judge.py").read_text())
    strings = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):  # """...""".strip()
                strings[node.targets[0].id] = value.func.value.value.strip()
            elif isinstance(value, ast.Constant):
                strings[node.targets[0].id] = value.value
    sample = Sample("sd-qa", "usa", "0", (), "", "Ada", audio_content="Who wrote the first program?")
    _, user = templates["voicebench:qa"].messages(sample, "Ada Lovelace")
    expected = (
        strings["meta_prompt_qa"]
        .replace("{prompt}", "Who wrote the first program?")
        .replace("{reference}", "Ada")
        .replace("{response}", "Ada Lovelace")
    )
    assert user == {"role": "user", "content": expected}
    _, user = templates["voicebench:open"].messages(sample, "Ada Lovelace")
    expected = strings["meta_prompt_open"].replace("{prompt}", "Who wrote the first program?")
    assert user["content"] == expected.replace("{response}", "Ada Lovelace")
    assert templates["voicebench:qa"].params["n"] == 3 and templates["voicebench:open"].params["temperature"] == 0.5


def test_voicebench_open_reading_equals_its_open_evaluator_on_the_same_replies(monkeypatch):
    """Its OpenEvaluator (src/evaluator/open.py: numpy only) over fixed n=3 reply sets, against the
    mean_of_ratings reading of the same replies as almeval stores them (one JSON list per call)."""
    import json

    from almeval import references
    from almeval.judges.parsers import mean_of_ratings
    from almeval.references import get, load_module

    monkeypatch.setenv("ALMEVAL_REFERENCE_VOICEBENCH", REAL)
    references.choose({})
    evaluator = load_module(get("voicebench"), "src/evaluator", "open", run_init=False).OpenEvaluator()
    replies = [["4", "5", "4"], ["3", "Rating: [[2]]", "3.5"], ["1", "1", "2"], [" 5 ", "5", "[[4]] good"]]
    theirs = float(evaluator.evaluate([{"score": r} for r in replies])["gpt"])
    ours = [mean_of_ratings(json.dumps(r)).value for r in replies]
    assert all(v is not None for v in ours)
    mine = sum(v for v in ours if v is not None) / len(ours)
    print(f"\n| open-QA mean score | {theirs:.4f} | {mine:.4f} |")
    assert abs(theirs - mine) <= 0.01
