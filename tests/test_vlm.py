"""Image benchmarks from VLMEvalKit TSV files: TSVs built here with images drawn by Pillow (shapes, digits,
text), run through the engine with replayed, fake and endpoint models; metrics against hand-computed
cases from VLMEvalKit's documented formulas."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from conftest import cli, write_manifest

from almeval.errors import ConfigError, DataError
from almeval.runner import EvalOptions, evaluate

COLUMNS = ["index", "image", "question", "hint", "A", "B", "C", "D", "answer", "category", "l2-category"]


def drawn(text: str, color: str = "red", shape: str = "box") -> str:
    """A small PNG with a shape and some text on it, base64 (as VLMEvalKit stores images)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (64, 48), "white")
    pen = ImageDraw.Draw(img)
    (pen.ellipse if shape == "circle" else pen.rectangle)((4, 4, 30, 30), fill=color)
    pen.text((34, 16), text, fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_tsv(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t")
        out.writerow(columns)
        out.writerows([[r.get(c, "") for c in columns] for r in rows])
    return path


def replay(path: Path, answers: dict[str, str]) -> str:
    preds = write_manifest(path, [{"index": i, "prediction": t} for i, t in answers.items()])
    return f"replay:{preds}"


def run(tmp_path: Path, model: str, data: str, work: str = "w", **kw) -> dict:
    return evaluate(EvalOptions(model=model, data=(data,), work_dir=tmp_path / work, **kw))


def scores(out: dict, dataset: str, recipe: str) -> dict:
    return out["datasets"][dataset]["scores"][recipe]


def mcq_rows() -> list[dict]:
    base = {"question": "What is drawn?", "A": "a red box", "B": "a blue circle", "C": "a cat", "D": "a dog"}
    return [
        {**base, "index": "0", "image": drawn("0"), "answer": "A", "category": "shapes", "hint": "Look closely."},
        {**base, "index": "1", "image": drawn("1", "blue", "circle"), "answer": "B", "category": "shapes"},
        {**base, "index": "2", "image": drawn("cat"), "answer": "C", "category": "animals"},
        # MMBench's circular evaluation: the same questions with the options rotated
        {**base, "index": "1000000", "image": "0", "A": "a dog", "B": "a red box", "C": "a blue circle", "D": "a cat"}
        | {"answer": "B", "category": "shapes"},
        {**base, "index": "1000001", "image": "1", "A": "a dog", "B": "a red box", "C": "a blue circle", "D": "a cat"}
        | {"answer": "C", "category": "shapes"},
    ]


def test_multiple_choice_by_exact_matching_with_mmbench_circular_evaluation(tmp_path):
    """Option extraction as VLMEvalKit's exact matching does it (a letter among the reply's last tokens,
    "the answer is X", or the one option text the reply holds) and circular scoring: a question counts
    only if every rotation of it is right. Per category as subsets; unmatched replies counted invalid."""
    rows = [{**r, "l2-category": "reasoning" if r["index"] == "2" else "perception"} for r in mcq_rows()]
    tsv = write_tsv(tmp_path / "MMBench_DEV_EN.tsv", rows, COLUMNS)
    model = replay(
        tmp_path / "p.jsonl",
        {
            "0": "(A)",  # right
            "1000000": "The answer is B.",  # right: question 0 right in both rotations
            "1": "B",  # right
            "1000001": "I would say A or D",  # two letters, no option text: unmatched → wrong
            "2": "It is a cat.",  # the text of option C alone: right
        },
    )
    out = run(tmp_path, model, f"vlm:{tsv}")
    s = scores(out, "vlm:MMBench_DEV_EN", "vlm-mcq@2")
    assert (s["acc"], s["questions"], s["circular"], s["invalid"], s["n"]) == (66.67, 3, True, 1, 5)
    assert s["l2"] == {"perception": 50.0, "reasoning": 100.0}  # per l2-category, questions counted whole
    from almeval.store import Store

    rows = {(r.subset, r.recipe): r for r in Store(tmp_path / "w" / "almeval.sqlite").scores()}
    assert rows[("shapes", "vlm-mcq@2")].values["acc"] == 50.0 and rows[("animals", "vlm-mcq@2")].values["acc"] == 100
    # the file is named as a published one but is not it: reported, and marked in every score's provenance
    assert rows[("", "vlm-mcq@2")].provenance["data"] == "unverified"
    with pytest.raises(DataError, match="differs from the published"):
        run(tmp_path, model, f"vlm:{tsv}", work="w2", verify_data=True)


def test_choice_extraction_cases():
    from almeval.image_rules import choice_of

    options = {"A": "red", "B": "blue", "C": "green"}
    assert choice_of("B", options) == "B"
    assert choice_of("Answer: (C)", options) == "C"
    assert choice_of("Answer: B, I think", options) == "B"  # among the last four tokens
    assert choice_of("B is what the figure shows to me here", options) is None  # a letter far from the end
    assert choice_of("blue", options) == "B"  # the option's text
    assert choice_of("red or blue", options) is None  # two options' texts
    assert choice_of("It could be A or B", options) is None


def test_an_endpoint_vlm_is_sent_each_image_as_a_data_uri_before_the_text_and_reruns_are_free(tmp_path):
    from openai_server import FakeOpenAI

    rows = mcq_rows()[:3]
    tsv = write_tsv(tmp_path / "MMStar.tsv", rows, COLUMNS)
    with FakeOpenAI() as srv:
        opts = {"model_args": {"base_url": srv.base_url}}
        first = run(tmp_path, "openai:vlm", f"vlm:{tsv}", **opts)
        body = srv.stats.bodies[0]
        again = run(tmp_path, "openai:vlm", f"vlm:{tsv}", **opts)
        rows[1]["question"] = "Which shape is drawn?"
        write_tsv(tsv, rows, COLUMNS)
        changed = run(tmp_path, "openai:vlm", f"vlm:{tsv}", **opts)
        sent = list(srv.stats.bodies)
        digests = list(srv.stats.image_digests)
    [message] = body["messages"]
    kinds = [p["type"] for p in message["content"]]
    assert kinds == ["image_url", "text"]
    text = message["content"][1]["text"]
    assert "Options:\nA. a red box\nB. a blue circle" in text and text.endswith("letter of the correct option.")
    assert sorted(digests[:3]) == sorted(hashlib.sha256(base64.b64decode(r["image"])).hexdigest() for r in rows)
    assert (first["inferred"], again["inferred"], changed["inferred"]) == (3, 0, 1)
    assert len(sent) == 4 and "Which shape is drawn?" in sent[3]["messages"][0]["content"][1]["text"]


def yn_rows() -> list[dict]:
    a, b, c = drawn("a"), drawn("b", "green"), drawn("c", "blue")
    return [
        {"index": "0", "image": a, "question": "Is there a box?", "answer": "Yes", "category": "existence"},
        {"index": "1", "image": "0", "question": "Is there a cat?", "answer": "No", "category": "existence"},
        {"index": "2", "image": b, "question": "Is it green?", "answer": "Yes", "category": "existence"},
        {"index": "3", "image": "2", "question": "Is it red?", "answer": "No", "category": "existence"},
        {"index": "4", "image": c, "question": "Is the code valid?", "answer": "Yes", "category": "code_reasoning"},
        {"index": "5", "image": "4", "question": "Does it loop?", "answer": "No", "category": "code_reasoning"},
    ]


YN_REPLIES = {"0": "Yes.", "1": "no", "2": "No", "3": "No, it is not.", "4": "yes, it is", "5": "Yes and no"}


def test_mme_scores_acc_plus_acc_plus_per_category_and_perception_and_reasoning_totals(tmp_path):
    """existence: 3 of 4 right (75) + 1 of 2 images with both right (50) = 125; code_reasoning: 1 of 2
    (50) + 0 images (0) = 50 ("Yes and no" is Unknown: wrong and counted invalid). Perception 125,
    reasoning 50, score 175."""
    tsv = write_tsv(tmp_path / "MME.tsv", yn_rows())
    out = run(tmp_path, replay(tmp_path / "p.jsonl", YN_REPLIES), f"vlm:{tsv}")
    s = scores(out, "vlm:MME", "vlm-mme@1")
    assert (s["score"], s["perception"], s["reasoning"], s["invalid"]) == (175.0, 125.0, 50.0, 1)
    assert s["categories"] == {"code_reasoning": 50.0, "existence": 125.0}
    from almeval.report import render
    from almeval.store import Store

    report = render(Store(tmp_path / "w" / "almeval.sqlite"))
    assert "### Image benchmarks (VLMEvalKit)" in report and "perception 125.00 · reasoning 50.00" in report


def test_pope_reports_f1_with_yes_as_positive_and_accuracy_precision_recall(tmp_path):
    """Truth Yes,No,Yes,No,Yes,No; said Yes,No,No,No,Yes,Unknown: TP 2, FP 0, FN 1 → precision 100,
    recall 66.67, F1 80; accuracy 4/6."""
    tsv = write_tsv(tmp_path / "POPE.tsv", [{**r, "category": "random"} for r in yn_rows()])
    out = run(tmp_path, replay(tmp_path / "p.jsonl", YN_REPLIES), f"vlm:{tsv}")
    s = scores(out, "vlm:POPE", "vlm-pope@1")
    assert (s["f1"], s["precision"], s["recall"], s["acc"]) == (80.0, 100.0, 66.67, 66.67)


def test_hallusionbench_reports_question_figure_and_all_accuracy(tmp_path):
    """Indices carry set / figure / question ids (4th-6th parts). Figure 0 has questions 0 and 1, figure 1
    has questions 0 and 1. Right: (f0,q0) (f0,q1) (f1,q0); wrong: (f1,q1). aAcc 75; fAcc: figure 0 all
    right, figure 1 not → 50; qAcc: question 0 right on both figures, question 1 not → 50."""
    img = drawn("h")
    rows = [
        {"index": f"VD_chart_x_0_{f}_{q}", "image": img, "question": "Is it so?", "answer": "Yes"}
        | {"category": "VD", "l2-category": "chart"}
        for f in (0, 1)
        for q in (0, 1)
    ]
    tsv = write_tsv(tmp_path / "HallusionBench.tsv", rows)
    replies = {
        "VD_chart_x_0_0_0": "Yes",
        "VD_chart_x_0_0_1": "yes",
        "VD_chart_x_0_1_0": "Yes",
        "VD_chart_x_0_1_1": "No",
    }
    out = run(tmp_path, replay(tmp_path / "p.jsonl", replies), f"vlm:{tsv}")
    s = scores(out, "vlm:HallusionBench", "vlm-hallusion@1")
    assert (s["aAcc"], s["fAcc"], s["qAcc"]) == (75.0, 50.0, 50.0)


def test_open_answer_metrics_on_hand_computed_cases(tmp_path):
    img = drawn("7")
    ten = json.dumps(["2", "2", "two", "3", "3", "3", "3", "4", "4", "4"])

    def rows(*pairs):
        return [{"index": str(i), "image": img, "question": "q?", "answer": a} for i, (a, _) in enumerate(pairs)]

    cases = {
        # VQA accuracy: "Two." normalises to "2", which 3 of 10 answers are ("two" → "2"): each answer left
        # out in turn: 3 times 2 others match (2/3), 7 times 3 match (1) → 0.9
        "TextVQA_VAL": ("vlm-vqa@1", "acc", [(ten, "Two.")], 90.0),
        # ANLS: 1 - 1/11 for one edit in 11 characters; 0 below 0.5
        "DocVQA_VAL": ("vlm-anls@1", "anls", [("hello world", "hello wrld"), ("xyz", "abc")], 45.45),
        # relaxed accuracy: within 5% of a number (50% read as 0.5), else equal ignoring case
        "ChartQA_TEST": ("vlm-relaxed@1", "acc", [("12.3", "12.9"), ("50%", "0.52"), ("yes", "No")], 66.67),
        "OCRVQA_TEST": ("vlm-exact@1", "acc", [("Dover", " dover "), ("Dover", "Dover Press")], 50.0),
    }
    for name, (recipe, metric, pairs, want) in cases.items():
        tsv = write_tsv(tmp_path / f"{name}.tsv", rows(*pairs))
        model = replay(tmp_path / f"{name}.jsonl", {str(i): p for i, (_, p) in enumerate(pairs)})
        out = run(tmp_path, model, f"vlm:{tsv}", work=name)
        got = scores(out, f"vlm:{name}", recipe)
        assert got[metric] == want and got["n"] == len(pairs), name  # rows without a category counted once


def test_ocrbench_counts_hits_per_category(tmp_path):
    img = drawn("x^2")
    rows = [
        {"index": "0", "image": img, "question": "q", "answer": "['HELLO']", "category": "Regular Text Recognition"},
        {"index": "1", "image": img, "question": "q", "answer": "['x^{2}']"}
        | {"category": "Handwritten Mathematical Expression Recognition"},
        {"index": "2", "image": img, "question": "q", "answer": "['cat']", "category": "Regular Text Recognition"},
    ]
    tsv = write_tsv(tmp_path / "OCRBench.tsv", rows)
    replies = {"0": "It says hello.", "1": "x ^ { 2 }", "2": "dog"}
    out = run(tmp_path, replay(tmp_path / "p.jsonl", replies), f"vlm:{tsv}")
    s = scores(out, "vlm:OCRBench", "vlm-ocrbench@1")
    assert (s["score"], s["n"]) == (2, 3)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda rows: [{k: v for k, v in r.items() if k != "question"} for r in rows], r"MMStar.tsv:1: missing column"),
        (
            lambda rows: [rows[0], {**rows[1], "image": "not base64 at all!" * 5}],
            r"MMStar.tsv:3 \(index 1\): the image is not valid base64",
        ),
        (lambda rows: [rows[0], {**rows[1], "index": "0"}], r"MMStar.tsv:3 \(index 0\): index given twice"),
        (lambda rows: [rows[0], {**rows[1], "answer": ""}], r"MMStar.tsv:3 \(index 1\): options without an answer"),
        (
            lambda rows: [rows[0], {**rows[1], "image": base64.b64encode(b"not an image " * 9).decode()}],
            r"MMStar.tsv:3 \(index 1\): the image cannot be decoded",
        ),
    ],
)
def test_bad_tsvs_are_clear_errors_naming_the_row_exit_2_before_any_model_runs(tmp_path, change, problem):
    rows = change(mcq_rows()[:2])
    tsv = write_tsv(tmp_path / "MMStar.tsv", rows)
    preds = write_manifest(tmp_path / "p.jsonl", [{"index": "0", "prediction": "A"}, {"index": "1", "prediction": "B"}])
    res = cli("eval", "--model", f"replay:{preds}", "--data", f"vlm:{tsv}", "--work-dir", str(tmp_path / "w"))
    assert res.returncode == 2, res.stderr
    import re

    assert re.search(problem, res.stderr), res.stderr


def test_unknown_names_need_a_type_and_image_benchmarks_need_a_model_that_takes_images(tmp_path, monkeypatch):
    rows = mcq_rows()[:2]
    tsv = write_tsv(tmp_path / "MyQuiz.tsv", rows, COLUMNS)
    with pytest.raises(ConfigError, match=r"does not know the benchmark 'MyQuiz'.*#mcq"):
        run(tmp_path, "fake", f"vlm:{tsv}")
    log = tmp_path / "fake.log"
    for _ in range(2):  # echo: the answer letter itself; the rerun loads no model at all
        out = run(tmp_path, "fake", f"vlm:{tsv}#mcq", model_args={"log": str(log)})
    assert scores(out, "vlm:MyQuiz", "vlm-mcq@2")["acc"] == 100.0
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == ["init", "generate"]
    monkeypatch.setenv("LMUData", str(tmp_path))
    out = run(tmp_path, "fake", "vlm:MyQuiz#mcq", work="w3")  # by name under $LMUData
    assert scores(out, "vlm:MyQuiz", "vlm-mcq@2")["n"] == 2
    with pytest.raises(ConfigError, match="does not take images"):
        run(tmp_path, "sphinx", f"vlm:{tsv}#mcq", work="w2")


def test_a_local_qwen2_vl_runs_an_image_benchmark_batched_and_reruns_free(tmp_path):
    """qwen2-vl:DIR on a tiny random-weight Qwen2-VL built here (its real processor and generate): rows
    with one image and with two (a list cell) in one micro-batch; a rerun loads nothing."""
    from tiny_models import tiny_qwen2_vl

    model = tiny_qwen2_vl(tmp_path / "vl")
    rows = mcq_rows()[:3]
    rows[2]["image"] = str([drawn("x"), drawn("y", "green")])  # two images, as a Python list
    tsv = write_tsv(tmp_path / "MMStar.tsv", rows, COLUMNS)
    args = {"max_new_tokens": "3", "batch_size": "2"}
    first = run(tmp_path, f"qwen2-vl:{model}", f"vlm:{tsv}", model_args=args)
    s = scores(first, "vlm:MMStar", "vlm-mcq@2")
    assert first["inferred"] == 3 and s["n"] == 3 and s["failed"] == 0
    again = run(tmp_path, f"qwen2-vl:{model}", f"vlm:{tsv}", model_args=args)
    assert again["inferred"] == 0


def test_captioning_reports_cider_bleu4_and_rouge_l_from_pycocoevalcaps_scorers(tmp_path):
    """COCO captions (no question column: almeval's own one-line request), scored as VLMEvalKit scores
    them: pycocoevalcap's Bleu(4), Rouge() and Cider() on the replies against the reference captions."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    refs = [
        ["a red box on a white page", "a red square", "red box"],
        ["a blue circle", "a round blue shape on white"],
        ["a green cat sitting", "a cat drawn in green"],
    ]
    replies = {"0": "a red box", "1": "a blue round shape", "2": "a dog"}
    rows = [{"index": str(i), "image": drawn(str(i)), "answer": str(r)} for i, r in enumerate(refs)]
    tsv = write_tsv(tmp_path / "COCO_VAL.tsv", rows)
    model = replay(tmp_path / "p.jsonl", replies)
    s = scores(run(tmp_path, model, f"vlm:{tsv}"), "vlm:COCO_VAL", "vlm-caption@1")
    gts, res = {str(i): r for i, r in enumerate(refs)}, {i: [t] for i, t in replies.items()}
    bleu, _ = Bleu(4).compute_score(gts, res)
    assert s["cider"] == round(100 * Cider().compute_score(gts, res)[0], 2)
    assert s["bleu4"] == round(100 * bleu[3], 2) and s["rouge_l"] == round(100 * Rouge().compute_score(gts, res)[0], 2)
    again = scores(run(tmp_path, model, f"vlm:{tsv}"), "vlm:COCO_VAL", "vlm-caption@1")  # from stored item values
    assert again["cider"] == s["cider"]


def test_a_model_that_takes_one_image_gets_the_first_and_its_identity_says_so(tmp_path):
    from openai_server import FakeOpenAI

    from almeval.store import Store

    rows = mcq_rows()[:1]
    rows[0]["image"] = str([drawn("first"), drawn("second", "green")])
    tsv = write_tsv(tmp_path / "MMStar.tsv", rows, COLUMNS)
    with FakeOpenAI() as srv:
        run(tmp_path, "openai:vlm", f"vlm:{tsv}", model_args={"base_url": srv.base_url, "max_images": "1"})
        [body] = srv.stats.bodies
    assert [p["type"] for p in body["messages"][0]["content"]] == ["image_url", "text"]
    [score] = [s for s in Store(tmp_path / "w" / "almeval.sqlite").scores() if s.subset == ""]
    assert score.provenance["adapter"]["max_images"] == 1  # the report's provenance shows it


def test_with_a_judge_only_replies_exact_matching_cannot_read_are_sent_and_questions_stay_circular(tmp_path):
    """vlm-choice: exact matching decides where it can (recorded as a verdict naming the rule, no call);
    the judge names the option for the rest; right when it is the answer; MMBench's rotations still count
    as one question."""
    from openai_server import FakeOpenAI, ServerConfig

    from almeval.judges import JudgeOptions
    from almeval.store import Store

    tsv = write_tsv(tmp_path / "MMBench_DEV_EN.tsv", mcq_rows(), COLUMNS)
    replies = {
        "0": "(A)",
        "1000000": "The answer is B.",
        "1": "B",
        "1000001": "I would say A or D",
        "2": "It is a cat.",
    }
    model = replay(tmp_path / "p.jsonl", replies)
    with FakeOpenAI(ServerConfig(reply=lambda _m, messages: "Reasoning aside.\nC")) as srv:
        jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=5)
        out = run(tmp_path, model, f"vlm:{tsv}", judge=jopts)
        sent = [b["messages"][0]["content"] for b in srv.stats.bodies]
    assert len(sent) == 1 and "I would say A or D" in sent[0] and "a blue circle" in sent[0]
    assert (out["judged"], out["judge_decided_by_rule"]) == (1, 4)
    scores = out["datasets"]["vlm:MMBench_DEV_EN"]["scores"]
    assert scores["vlm-mcq@2"]["acc"] == 66.67  # exact matching alone
    judged = scores["judge-default@1:gpt-4o-mini"]
    assert (judged["acc"], judged["n"], judged["invalid"]) == (100.0, 5, 0)  # 3 questions, all right
    store = Store(tmp_path / "w" / "almeval.sqlite")
    [key] = [m.key for m in store.models()]
    verdicts = store.verdict_rows(key, "vlm:MMBench_DEV_EN", "gpt-4o-mini")
    made_by = sorted(r["model_returned"] for rs in verdicts.values() for r in rs)
    assert made_by == ["gpt-4o-mini-2024-07-18", *["rule:exact-choice"] * 4]  # who decided each
    again = run(tmp_path, model, f"vlm:{tsv}", judge=jopts)  # a rerun: cached, nothing sent
    assert again["judged"] == 0


def test_the_choice_letter_reading():
    from almeval.judges.parsers import choice_letter

    assert choice_letter("Thinking.\nOption (B).", answer="B").value == 1.0
    assert choice_letter("C", answer="B").value == 0.0 and choice_letter("Z", answer="B").label == "Z"
    assert not choice_letter("A or B", answer="A").ok and not choice_letter("", answer="A").ok
