"""asr-kimi against a real Kimi-Audio-Evalkit checkout: on the same predictions, almeval's number equals
the one the reference's own `compute_wer` computes (its remove_sp applied first, as its ASR dataset
does; predictions "null" dropped). Runs only where a checkout is given:

    ALMEVAL_REFERENCE_KIMI=/path/to/Kimi-Audio-Evalkit python -m pytest tests/test_reference_kimi.py -s

(-s prints the table the README's Fidelity section quotes.) Needs the `kimi` extra (sacrebleu 1.5.1 as
the reference pins it, editdistance, zhconv)."""

from __future__ import annotations

import contextlib
import io
import os

import pytest

REAL = os.environ.get("ALMEVAL_REFERENCE_KIMI", "")  # read when collected: the autouse fixture clears it
pytestmark = pytest.mark.skipif(not REAL, reason="set ALMEVAL_REFERENCE_KIMI to a Kimi-Audio-Evalkit checkout")

# (language, references, predictions): our own sentences, chosen where normalisers disagree
CASES = {
    "en-informal": (
        "en",
        ["I kinda wanna go 'cause it's gonna rain.", "Dunno, sorta tired.", "HE HAS GOT TWENTY FIVE DOLLARS"],
        ["i kind of want to go because it is going to rain", "don't know sort of tired", "he's got $25"],
    ),
    "en-numbers": (
        "en",
        ["Mr. Smith lives at 10 Downing St.", "The 1960s were loud.", "<|en|> One oh one, please!"],
        ["mister smith lives at ten downing street", "the nineteen sixties were loud", "101 please"],
    ),
    "zh-tn": (
        "zh",
        ["我的电话是13812345678，明天见。", "今天是2024年5月1日，气温25℃。", "我用iPhone打电话给你", "两个人花了¥35。"],
        [
            "我的电话是一三八一二三四五六七八明天见",
            "今天是二零二四年五月一日气温二十五摄氏度",
            "我用 iphone 打电话给你",
            "二个人花了三十五元",
        ],
    ),
    "yue": ("yue", ["我哋今日去咗飲茶。", "佢話唔係咁樣。"], ["我们今日去咗饮茶", "佢话唔系咁样"]),
    "null-and-empty": ("en", ["Hello there.", "Good morning.", "See you."], ["null", "", "see you"]),
}


def _reference_rate(wer, lang, refs, hyps):
    kept = [(r, h) for r, h in zip(refs, hyps, strict=True) if h != "null"]
    gt = [wer.remove_sp(r, lang) for r, _ in kept]
    pred = [wer.remove_sp(h, lang) for _, h in kept]
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its first items
        return round(100 * wer.compute_wer(gt, pred, lang), 2)


def _almeval_rate(recipe, lang, refs, hyps):
    from almeval.values import Prediction, Sample

    values = [
        recipe.compact(recipe.item(Sample("d", "s", str(i), (), "q", r, lang=lang), Prediction(str(i), h)))
        for i, (r, h) in enumerate(zip(refs, hyps, strict=True))
    ]
    return recipe.aggregate(lang, values)[recipe.metric(lang)]


def test_asr_kimi_equals_the_references_compute_wer_on_the_same_predictions(monkeypatch):
    from almeval import references
    from almeval.metrics import ASR_DEFAULT, ASR_KIMI

    monkeypatch.setenv("ALMEVAL_REFERENCE_KIMI", REAL)
    references.choose({})
    wer = ASR_KIMI._module()
    print(f"\nreference commit {references.get('kimi').commit}")
    print("| case | reference | asr-kimi | asr-default |")
    worst = 0.0
    for name, (lang, refs, hyps) in CASES.items():
        ref = _reference_rate(wer, lang, refs, hyps)
        kimi, default = _almeval_rate(ASR_KIMI, lang, refs, hyps), _almeval_rate(ASR_DEFAULT, lang, refs, hyps)
        print(f"| {name} | {ref} | {kimi} | {default} |")
        worst = max(worst, abs(kimi - ref))
    print(f"largest |asr-kimi − reference|: {worst}")
    assert worst <= 0.01


def test_kimis_open_qa_judge_request_is_built_from_the_real_checkout(monkeypatch):
    """The template reads its prompt and system prompt from the checkout (no text of it in almeval) and
    fills them as its code does: question stripped, prediction as is, one text part."""
    import ast
    from pathlib import Path

    from almeval import references
    from almeval.judges.reference import reference_templates
    from almeval.values import Sample

    monkeypatch.setenv("ALMEVAL_REFERENCE_KIMI", REAL)
    references.choose({})
    references.require_view("kimi")
    template = reference_templates()["kimi:open-qa"]
    source = Path(REAL) / "almeval/datasets/ds_openqa.py"
    constants = {
        t.id: n.value.value
        for n in ast.parse(source.read_text()).body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    sample = Sample("alpacaeval_full", "s", "0", (), "", "", audio_content="  What is rain?  ", interactive="Audio-QA")
    system, user = template.messages(sample, " It is water. ")
    assert system["role"] == "system" and system["content"]
    expected = constants["OPEN_QA_PROMPT"].format(question="What is rain?", prediction=" It is water. ")
    assert user["content"] == [{"type": "text", "text": expected}]
    assert template.params["temperature"] == 0.5 and template.params["max_tokens"] == 1024
