"""almeval's image metrics against VLMEvalKit's own code on the same predictions: the installed
ms-vlmeval (VLMEvalKit on PyPI, put in `--no-deps` by `make install`), its functions run from its source
without importing the package (whose dependencies are not installed). Seeded random TSVs and replies
cover what each metric reads; every number must agree to 0.01."""

from __future__ import annotations

import copy
import logging
import os
import random
import re
import string
from collections import defaultdict
from importlib.util import find_spec
from pathlib import Path

import pytest
from test_vlm import drawn, replay, run, scores, write_tsv

from almeval.references import functions_from

ROOT = Path(next(iter(find_spec("vlmeval").submodule_search_locations or ()), "")) if find_spec("vlmeval") else None
pytestmark = pytest.mark.skipif(ROOT is None, reason="ms-vlmeval (VLMEvalKit) is not installed")


def _vlmevalkit() -> dict:
    import numpy as np
    import pandas as pd

    ns: dict = {"cp": copy, "os": os, "re": re, "string": string, "np": np, "pd": pd, "defaultdict": defaultdict}
    ns["logger"] = logging.getLogger("vlmeval")
    ns["load"] = lambda data: data  # its raters read a file; here they are given the table itself
    functions_from(ROOT / "smp/misc.py", {"process_punctuation", "istype", "listinstr", "d2df"}, ns)
    functions_from(ROOT / "utils/matching_util.py", {"can_infer_option", "can_infer_text", "can_infer"}, ns)
    functions_from(
        ROOT / "dataset/utils/yorn.py", {"YOrN_Extraction", "MME_rating", "POPE_rating", "Hallusion_rating"}, ns
    )
    names = {"_process_digit_article", "process_answer", "process_line", "hit_calculate", "relaxed_correctness"}
    functions_from(ROOT / "dataset/utils/vqa_eval.py", names | {"anls_compute", "levenshtein_distance"}, ns)
    return ns


MCQ_REPLIES = [
    "{a}",
    "({a})",
    "Answer: {a}",
    "{a}. {t}",
    "I think it is {t}.",
    "{t}",
    "It is {a} or {b}",
    "{a} is what the picture shows to me clearly",
    "no idea",
    "The correct option is {b}, surely",
]


def test_multiple_choice_agrees_with_vlmevalkits_can_infer_and_circular_grouping(tmp_path):
    vk, rng = _vlmevalkit(), random.Random(1)
    texts = ["a red box", "a blue circle", "a green cat", "a yellow dog"]
    img = drawn("q")
    rows, replies = [], {}
    for q in range(40):
        for turn in range(1 + (q % 2)):  # every other question has a rotated copy (index + 1,000,000)
            shift = turn * 1
            options = {L: texts[(i + shift) % 4] for i, L in enumerate("ABCD")}
            truth = rng.choice("ABCD")
            index = str(q + turn * 1_000_000)
            rows.append({"index": index, "image": img, "question": "What is it?", **options, "answer": truth})
            rows[-1]["l2-category"] = "coarse" if q % 3 else "fine"
            a = truth if rng.random() < 0.7 else rng.choice("ABCD")  # mostly right: both sides score > 0
            b = rng.choice("ABCD")
            replies[index] = rng.choice(MCQ_REPLIES).format(a=a, b=b, t=options[a])
    tsv = write_tsv(tmp_path / "MMBench_DEV_EN.tsv", rows)
    ours = scores(run(tmp_path, replay(tmp_path / "p.jsonl", replies), f"vlm:{tsv}"), "vlm:MMBench_DEV_EN", "vlm-mcq@2")
    groups: dict[int, list[bool]] = defaultdict(list)
    l2_of: dict[int, str] = {}
    for r in rows:
        picked = vk["can_infer"](replies[r["index"]], {L: r[L] for L in "ABCD"})
        groups[int(r["index"]) % 1_000_000].append(picked == r["answer"])
        l2_of[int(r["index"]) % 1_000_000] = r["l2-category"]
    theirs = 100 * sum(all(g) for g in groups.values()) / len(groups)
    for l2 in ("coarse", "fine"):
        mine = [all(g) for q, g in groups.items() if l2_of[q] == l2]
        assert abs(ours["l2"][l2] - 100 * sum(mine) / len(mine)) <= 0.01, l2
    assert 0 < theirs < 100  # a comparison that can tell
    print(f"\n| MMBench (circular, exact matching) | {len(rows)} | {theirs:.2f} | {ours['acc']} |")
    assert abs(ours["acc"] - theirs) <= 0.01


YN_REPLIES = ["Yes", "yes.", "No", "no, it is not", "Yes and no", "I cannot tell", "The answer is yes!", "NO."]


def _yn_table(rows, replies, vk):
    import pandas as pd

    data = pd.DataFrame(rows)
    data["extracted"] = [vk["YOrN_Extraction"](replies[i]) for i in data["index"]]
    data["score"] = data["answer"] == data["extracted"]
    return data


def test_mme_pope_and_hallusionbench_agree_with_vlmevalkits_raters(tmp_path):
    vk, rng = _vlmevalkit(), random.Random(2)
    categories = ["existence", "count", "OCR", "color", "code_reasoning", "text_translation"]
    rows, replies = [], {}
    for k in range(48):  # two questions per image, as MME has them
        image = f"img{k // 2}.png"
        category = categories[(k // 2) % len(categories)]
        rows.append({"index": str(k), "image": drawn(str(k)), "image_path": image, "category": category})
        rows[-1] |= {"question": "Is it?", "answer": "Yes" if k % 2 == 0 else "No"}
        replies[str(k)] = rng.choice(YN_REPLIES)
    for name, recipe in (("MME", "vlm-mme@1"), ("POPE", "vlm-pope@1")):
        tsv = write_tsv(tmp_path / f"{name}.tsv", rows)
        ours = scores(
            run(tmp_path, replay(tmp_path / f"{name}.jsonl", replies), f"vlm:{tsv}", work=name), f"vlm:{name}", recipe
        )
        data = _yn_table([{k: v for k, v in r.items() if k != "image"} for r in rows], replies, vk)
        if name == "MME":
            theirs = vk["MME_rating"](data).iloc[0].to_dict()
            assert abs(ours["perception"] - theirs["perception"]) <= 0.01
            assert abs(ours["reasoning"] - theirs["reasoning"]) <= 0.01
            for category, value in ours["categories"].items():
                assert abs(value - theirs[category]) <= 0.01, category
            print(f"\n| MME | {len(rows)} | perception {theirs['perception']:.2f} | {ours['perception']} |")
        else:
            theirs = vk["POPE_rating"](data).iloc[0].to_dict()
            for mine, their in (("f1", "Overall"), ("acc", "acc"), ("precision", "precision"), ("recall", "recall")):
                assert abs(ours[mine] - theirs[their]) <= 0.01, mine
            print(f"\n| POPE | {len(rows)} | F1 {theirs['Overall']:.2f} | {ours['f1']} |")
    hrows, hreplies = [], {}
    for k in range(40):
        index = f"VS_{'chart' if k < 20 else 'map'}_x_{k % 3}_{k % 4}_{k % 5}"
        if any(r["index"] == index for r in hrows):
            continue
        l2 = "chart" if k < 20 else "map"
        hrows.append({"index": index, "image": drawn("h"), "question": "Is it?", "answer": rng.choice(["Yes", "No"])})
        hrows[-1] |= {"category": "VS", "l2-category": l2}
        hreplies[index] = rng.choice(YN_REPLIES)
    tsv = write_tsv(tmp_path / "HallusionBench.tsv", hrows)
    out = run(tmp_path, replay(tmp_path / "h.jsonl", hreplies), f"vlm:{tsv}", work="hb")
    ours = scores(out, "vlm:HallusionBench", "vlm-hallusion@1")
    data = _yn_table([{k: v for k, v in r.items() if k != "image"} for r in hrows], hreplies, vk)
    theirs = vk["Hallusion_rating"](data).iloc[0].to_dict()
    for metric in ("aAcc", "fAcc", "qAcc"):
        assert abs(ours[metric] - theirs[metric]) <= 0.01, metric
    print(f"\n| HallusionBench | {len(hrows)} | qAcc {theirs['qAcc']:.2f} | {ours['qAcc']} |")


VQA_WORDS = ["two", "2", "the cat", "a cat", "Cat.", "dont", "don't", "3,000", "3000", "yes", "12.5", "12.9", "50%"]


def test_vqa_anls_relaxed_and_exact_agree_with_vlmevalkits_process_line(tmp_path):
    vk, rng = _vlmevalkit(), random.Random(3)
    img = drawn("v")
    cases = {
        "TextVQA_VAL": ("vlm-vqa@1", "acc", "vqa_score", 10),
        "DocVQA_VAL": ("vlm-anls@1", "anls", "anls", 2),
        "ChartQA_TEST": ("vlm-relaxed@1", "acc", "relaxed_accuracy", 1),
        "OCRVQA_TEST": ("vlm-exact@1", "acc", "accuracy", 2),
    }
    for name, (recipe, metric, method, per) in cases.items():
        rows, replies = [], {}
        for k in range(40):
            answers = [rng.choice(VQA_WORDS) for _ in range(per)]
            rows.append({"index": str(k), "image": img, "question": "What?", "answer": str(answers)})
            replies[str(k)] = rng.choice([*VQA_WORDS, "hello wrld", "the cats"])
        tsv = write_tsv(tmp_path / f"{name}.tsv", rows)
        out = run(tmp_path, replay(tmp_path / f"{name}.jsonl", replies), f"vlm:{tsv}", work=name)
        ours = scores(out, f"vlm:{name}", recipe)[metric]
        lines = [{"answer": r["answer"], "prediction": replies[r["index"]]} for r in rows]
        hits = vk["hit_calculate"]([vk["process_line"](line, method=method) for line in lines], name)
        theirs = 100 * sum(hits) / len(hits)
        print(f"\n| {name} | {len(rows)} | {theirs:.2f} | {ours} |")
        assert abs(ours - theirs) <= 0.01, name
