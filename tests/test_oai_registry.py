"""openai/evals registries read as data: a small registry of our own in a fork's layout (a Chinese eval
set, a fact_zh-style model-graded spec, id indirection), and the official one where installed."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from conftest import cli

from almeval.datasets.oai import Registry, official_registry
from almeval.errors import ConfigError, DataError, UnknownNameError


def fork(base: Path) -> Path:
    """A fork's package: evals/registry/ (returned) and, beside it, elsuite/modelgraded/classify_utils.py with
    its answer prompts. Our own wording throughout, the official layout."""
    root = base / "evals" / "registry"
    (root / "evals").mkdir(parents=True)
    (root / "eval_sets").mkdir()
    (root / "modelgraded").mkdir()
    (root / "data" / "capitals_zh").mkdir(parents=True)
    (root / "evals" / "capitals_zh.yaml").write_text(
        "capitals_zh:\n  id: capitals_zh.dev.v0\n  description: 首都问答\n  metrics: [accuracy]\n"
        "capitals_zh.dev.v0:\n  class: evals.elsuite.basic.includes:Includes\n"
        "  args:\n    samples_jsonl: capitals_zh/samples.jsonl\n",
        encoding="utf-8",
    )
    (root / "evals" / "facts_zh.yaml").write_text(
        "facts_zh:\n  id: facts_zh.dev.v0\n  metrics: [accuracy]\n"
        "facts_zh.dev.v0:\n  class: evals.elsuite.modelgraded.classify:ModelBasedClassify\n"
        "  args:\n    samples_jsonl: capitals_zh/samples.jsonl\n    eval_type: cot_classify_zh\n"
        "    modelgraded_spec: fact_zh\n"
        "capitals_checked:\n  id: capitals_checked.dev.v0\n"
        "capitals_checked.dev.v0:\n  class: evals.elsuite.modelgraded.classify:ModelBasedClassify\n"
        "  args:\n    samples_jsonl: capitals_zh/samples.jsonl\n    modelgraded_spec: meets_zh\n"
        "    metaeval: true\n    modelgraded_spec_args:\n      criteria: 答案是城市名\n",
        encoding="utf-8",
    )
    (root / "eval_sets" / "chinese.yaml").write_text(
        "chinese:\n  evals:\n    - capitals_zh\n    - facts_zh\n    - capitals_checked\n"
    )
    (root / "modelgraded" / "fact_zh.yaml").write_text(
        "fact_zh:\n  prompt: |-\n    比较提交的答案与专家答案。\n    [问题]: {input}\n    [专家]: {ideal}\n"
        "    [提交]: {completion}\n  choice_strings: ABCDE\n  input_outputs:\n    input: completion\n",
        encoding="utf-8",
    )
    (root / "modelgraded" / "meets_zh.yaml").write_text(
        "meets_zh:\n  prompt: |-\n    任务: {input}\n    回答: {completion}\n    标准: {criteria}\n"
        "    先逐步推理, 最后一行只写 Y 或 N。\n  eval_type: cot_classify\n"
        "  choice_scores:\n    'Y': 1.0\n    'N': 0.0\n  choice_strings: 'YN'\n"
        "  input_outputs:\n    input: completion\n",
        encoding="utf-8",
    )
    utils = base / "evals" / "elsuite" / "modelgraded" / "classify_utils.py"
    utils.parent.mkdir(parents=True)
    utils.write_text(
        'ANSWER_PROMPTS = {\n    "cot_classify_zh": """\n'
        '先写出推理, 再单独一行写出 {choices} 之一。\n""".strip(),\n}\n',
        encoding="utf-8",
    )
    samples = [
        {
            "input": [{"role": "system", "content": "用一个词回答。"}, {"role": "user", "content": "法国的首都？"}],
            "ideal": "巴黎",
            "choice": "Y",
        },
        {"input": "日本的首都？", "ideal": ["东京", "東京"], "choice": "Y"},
    ]
    (root / "data" / "capitals_zh" / "samples.jsonl").write_text(
        "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8"
    )
    return root


def test_a_forks_registry_resolves_ids_sets_and_samples(tmp_path):
    registry = Registry.load([fork(tmp_path / "fork")], official=False)
    spec = registry.resolve("capitals_zh")
    assert (spec.id, spec.cls, spec.metrics) == (
        "capitals_zh.dev.v0",
        "evals.elsuite.basic.includes:Includes",
        ("accuracy",),
    )
    assert spec.description == "首都问答"
    samples = registry.samples(spec)
    assert [s["index"] for s in samples] == [0, 1] and samples[1]["ideal"] == ["东京", "東京"]
    assert registry.eval_set("chinese") == ("capitals_zh", "facts_zh", "capitals_checked")
    graded = registry.resolve("facts_zh")
    assert graded.args["modelgraded_spec"] == "fact_zh" and "fact_zh" in registry.modelgraded
    assert set(registry.names) == {
        "capitals_zh",
        "facts_zh",
        "capitals_checked",
    }  # the ids' targets are not listed as evals
    with pytest.raises(UnknownNameError, match="Did you mean 'capitals_zh'"):
        registry.resolve("capital_zh")


def test_a_later_registry_overrides_an_earlier_one_by_name(tmp_path):
    first, second = fork(tmp_path / "a"), fork(tmp_path / "b")
    (second / "evals" / "capitals_zh.yaml").write_text(
        "capitals_zh:\n  id: capitals_zh.dev.v0\n  description: overridden\n"
        "capitals_zh.dev.v0:\n  class: evals.elsuite.basic.match:Match\n"
        "  args:\n    samples_jsonl: capitals_zh/samples.jsonl\n"
    )
    spec = Registry.load([first, second], official=False).resolve("capitals_zh")
    assert spec.cls == "evals.elsuite.basic.match:Match" and spec.registry == second.resolve()


def test_broken_registries_are_clear_errors(tmp_path):
    root = fork(tmp_path / "fork")
    (root / "evals" / "loop.yaml").write_text("a-loop:\n  id: b-loop\nb-loop:\n  id: a-loop\n")
    registry = Registry.load([root], official=False)
    with pytest.raises(ConfigError, match="does not resolve to a class"):
        registry.resolve("a-loop")
    (root / "data" / "capitals_zh" / "samples.jsonl").write_text(
        '{"input": "ok", "ideal": "x"}\n{"ideal": "no input"}\n'
    )
    with pytest.raises(DataError, match=r"samples.jsonl:2: a sample needs an input"):
        registry.samples(registry.resolve("capitals_zh"))
    with pytest.raises(ConfigError, match="not a registry folder"):
        Registry.load([tmp_path], official=False)


def test_data_list_oai_lists_the_registries(tmp_path):
    res = cli("data", "list", "--oai", "--json", "--oai-registry", str(fork(tmp_path / "fork")))
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    mine = {r["eval"]: r for r in rows if "eval" in r and r["registry"].startswith(str(tmp_path))}
    assert mine["capitals_zh"]["class"].endswith("includes:Includes")
    assert {"eval_set": "chinese", "evals": ["capitals_zh", "facts_zh", "capitals_checked"]} in rows


@pytest.mark.skipif(official_registry() is None, reason="the evals package's registry is not installed")
def test_the_official_registry_is_read_without_importing_evals():
    import sys

    registry = Registry.load()
    assert "evals" not in sys.modules  # read as files, never imported (its dependencies are not installed)
    spec = registry.resolve("test-fuzzy-match")
    assert spec.cls == "evals.elsuite.basic.fuzzy_match:FuzzyMatch" and registry.samples(spec)
    classes = {registry.resolve(n).cls for n in registry.names}
    assert {
        "evals.elsuite.basic.match:Match",
        "evals.elsuite.basic.includes:Includes",
        "evals.elsuite.basic.fuzzy_match:FuzzyMatch",
        "evals.elsuite.modelgraded.classify:ModelBasedClassify",
    } <= classes


def _score(grader, pairs, args=None):
    from almeval.values import Prediction, Sample

    rows = []
    for i, (ideal, completion) in enumerate(pairs):
        meta = {"ideal": ideal, "oai_args": args or {}}
        sample = Sample("oai", "", str(i), (), "q", "", meta=meta)
        rows.append(grader.compact(grader.item(sample, Prediction(str(i), completion))))
    return grader.aggregate("", rows)


def test_the_basic_graders_on_hand_computed_cases():
    from almeval.rules import OAI_FUZZY_MATCH, OAI_INCLUDES, OAI_MATCH

    # Match: the completion starts with an ideal answer
    assert _score(OAI_MATCH, [("Paris", "Paris."), (["B", "b"], "b) two"), ("Paris", "It is Paris")])["acc"] == 66.67
    # Includes: anywhere, case-sensitive unless ignore_case
    assert _score(OAI_INCLUDES, [("Paris", "It is Paris"), ("paris", "It is Paris")])["acc"] == 50.0
    assert _score(OAI_INCLUDES, [("paris", "It is Paris")], {"ignore_case": True})["acc"] == 100.0
    # FuzzyMatch: normalised containment either way; F1 over normalised tokens (best ideal)
    out = _score(OAI_FUZZY_MATCH, [("The Eiffel Tower", "eiffel tower!"), (["x", "New York City"], "New York")])
    assert out["acc"] == 100.0
    # item 1: F1 1.0; item 2: "new york" vs "new york city": p=1, r=2/3 → 0.8; mean 0.9
    assert out["f1_score"] == 90.0


def _evals_functions():
    """openai/evals' own grader functions, taken from the installed package's source (utils.py, api.py)
    and run as they are, without importing the package (its dependencies are not installed)."""
    import re
    import string
    from collections import Counter

    from almeval.references import functions_from

    root = official_registry().parent
    namespace = {"re": re, "string": string, "Counter": Counter, "record_match": lambda *a, **k: None}
    functions_from(root / "elsuite" / "utils.py", {"normalize", "fuzzy_match", "f1_score", "get_answer"}, namespace)
    functions_from(root / "api.py", {"record_and_check_match"}, namespace)
    return namespace


@pytest.mark.skipif(official_registry() is None, reason="the evals package's registry is not installed")
def test_graders_agree_with_the_evals_package_on_real_registry_evals():
    """Five real evals of the official registry (the first by name with usable samples: two Match, two
    Includes, one FuzzyMatch), fixed completions made from each sample's ideal answer in four ways; almeval's
    accuracy (and FuzzyMatch's f1_score) against the package's own functions on the same completions."""
    from almeval.datasets.oai import GRADED
    from almeval.recipes import recipes_for
    from almeval.values import DatasetInfo

    def grader(cls):  # the recipe a spec's class is graded by, as the engine resolves it
        [recipe] = recipes_for(DatasetInfo(name="oai:x", task="Text", rules=(GRADED[cls],), judge=None))
        return recipe

    fn = _evals_functions()
    registry = Registry.load()
    wanted = {"evals.elsuite.basic.match:Match": 2, "evals.elsuite.basic.includes:Includes": 2}
    wanted["evals.elsuite.basic.fuzzy_match:FuzzyMatch"] = 1
    chosen = []
    for name in registry.names:
        spec = registry.resolve(name)
        if wanted.get(spec.cls, 0) == 0 or spec.args.get("num_few_shot") or spec.args.get("ignore_case"):
            continue
        try:
            samples = registry.samples(spec)[:40]
        except Exception:
            continue
        ideals = [s.get("ideal") for s in samples]
        if not samples or not all(isinstance(i, str) or (isinstance(i, list) and i) for i in ideals):
            continue
        wanted[spec.cls] -= 1
        chosen.append((spec, samples))
    assert len(chosen) == 5, [s.name for s, _ in chosen]
    for spec, samples in chosen:
        pairs = []
        for k, s in enumerate(samples):
            ideal = s["ideal"] if isinstance(s["ideal"], list) else [s["ideal"]]
            first = str(ideal[0])
            pairs.append((s["ideal"], [first, f"Answer: {first}", first.upper() + ".", "no idea"][k % 4]))
        ours = _score(grader(spec.cls), pairs)
        if spec.cls.endswith(":Match"):
            theirs = [fn["record_and_check_match"]("p", c, i) is not None for i, c in pairs]
        elif spec.cls.endswith(":Includes"):
            theirs = [any(fn["get_answer"](c, r) is not None for r in _as_list(i)) for i, c in pairs]
        else:
            theirs = [any(fn["fuzzy_match"](c, r) for r in _as_list(i)) for i, c in pairs]
            f1 = sum(fn["f1_score"](c, _as_list(i)) for i, c in pairs) / len(pairs)
            assert abs(ours["f1_score"] - round(100 * f1, 2)) <= 0.01, spec.name
        accuracy = round(100 * sum(theirs) / len(theirs), 2)
        print(f"\n| {spec.name} | {spec.cls.rsplit(':', 1)[1]} | {len(pairs)} | {accuracy} | {ours['acc']} |")
        assert abs(ours["acc"] - accuracy) <= 0.01, spec.name


def _as_list(ideal):
    return ideal if isinstance(ideal, list) else [ideal]


def test_an_eval_runs_by_name_through_the_engine_and_a_changed_sample_reruns_alone(tmp_path):
    """`--data oai:NAME` with an endpoint model: each sample's chat messages go as given; the grader of
    its class scores; after one sample changes, a rerun sends exactly that one again."""
    from conftest import write_manifest
    from openai_server import FakeOpenAI

    from almeval.report import render
    from almeval.runner import EvalOptions, evaluate
    from almeval.store import Store

    root = fork(tmp_path / "fork")

    def run_once(srv):
        opts = EvalOptions(
            model="openai:m",
            data=("oai:capitals_zh",),
            work_dir=tmp_path / "w",
            model_args={"base_url": srv.base_url},
            oai_registries=(root,),
        )
        return evaluate(opts)

    with FakeOpenAI() as srv:
        out = run_once(srv)
        first = [b["messages"] for b in srv.stats.bodies]
        samples = root / "data" / "capitals_zh" / "samples.jsonl"
        rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
        rows[1]["input"] = "韩国的首都？"
        write_manifest(samples, rows)
        again = run_once(srv)
        second = [b["messages"] for b in srv.stats.bodies[len(first) :]]
    chat = next(m for m in first if len(m) == 2)  # the order of the two requests is not fixed
    assert [m["role"] for m in chat] == ["system", "user"] and chat[0]["content"] == "用一个词回答。"
    assert [{"role": "user", "content": "日本的首都？"}] in first
    assert out["datasets"]["oai:capitals_zh"]["scores"]["oai-includes@1"]["n"] == 2
    assert again["inferred"] == 1 and second == [[{"role": "user", "content": "韩国的首都？"}]]
    assert "### Text evals (openai/evals)" in render(Store(tmp_path / "w" / "almeval.sqlite"))


def test_an_eval_set_runs_its_evals_and_an_ungraded_class_is_a_clear_error(tmp_path):
    from conftest import write_manifest

    from almeval.runner import EvalOptions, evaluate

    root = fork(tmp_path / "fork")
    (root / "eval_sets" / "gradable.yaml").write_text("gradable:\n  evals:\n    - capitals_zh\n")
    preds = write_manifest(
        tmp_path / "p" / "preds.jsonl", [{"index": 0, "prediction": "巴黎"}, {"index": 1, "prediction": "?"}]
    )
    out = evaluate(
        EvalOptions(
            model=f"replay:{preds}", data=("oai-set:gradable",), work_dir=tmp_path / "w", oai_registries=(root,)
        )
    )
    assert out["datasets"]["oai:capitals_zh"]["scores"]["oai-includes@1"]["acc"] == 50.0
    (root / "evals" / "other.yaml").write_text(
        "other:\n  class: evals.elsuite.multiple_choice:MultipleChoice\n"
        "  args:\n    samples_jsonl: capitals_zh/samples.jsonl\n"
    )
    (root / "eval_sets" / "mixed.yaml").write_text("mixed:\n  evals:\n    - capitals_zh\n    - other\n")
    with pytest.raises(ConfigError, match=r"uses evals\.elsuite\.multiple_choice:MultipleChoice, which .* supported: "):
        evaluate(EvalOptions(model="fake", data=("oai-set:mixed",), work_dir=tmp_path / "w2", oai_registries=(root,)))


def _fork_replies(model, messages):
    """The judge's fixed replies for the fork's two model-graded evals (by what each prompt holds)."""
    text = messages[-1]["content"]
    if "标准:" in text:  # meets_zh: Y for the Paris item, N for the other
        return "逐步推理。\nY" if "回答: 巴黎" in text else "推理。\nN."
    return "理由。\nC" if "[提交]: 巴黎" in text else "(D)"


def _graded_run(tmp_path, root, srv, data="oai-set:chinese", name="w"):
    from conftest import write_manifest

    from almeval.judges import JudgeOptions
    from almeval.runner import EvalOptions, evaluate

    preds = write_manifest(
        tmp_path / "p" / "preds.jsonl", [{"index": 0, "prediction": "巴黎"}, {"index": 1, "prediction": "大阪 {x}"}]
    )
    jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=2.0)
    opts = EvalOptions(
        model=f"replay:{preds}", data=(data,), work_dir=tmp_path / name, oai_registries=(root,), judge=jopts
    )
    return evaluate(opts)


def test_model_graded_evals_of_a_fork_are_judged_as_oaieval_asks_and_read_its_way(tmp_path):
    """ModelBasedClassify through the judge pool: the fork's fact_zh spec with its own cot_classify_zh answer
    prompt (from the classify_utils.py beside its registry), and a scored metaeval spec filled from its spec
    args. The judge is sent oaieval's messages (chat input as text, braces of the input doubled, a list ideal
    as Python writes it) with oaieval's request; replies are read from the last line up; counts, score and
    metascore as oaieval reports them."""
    from openai_server import FakeOpenAI, ServerConfig

    root = fork(tmp_path / "fork")
    with FakeOpenAI(ServerConfig(reply=_fork_replies)) as srv:
        out = _graded_run(tmp_path, root, srv)
        bodies = list(srv.stats.bodies)
    assert len(bodies) == 4  # two evals × two samples; the Includes eval has no judge
    facts = sorted((b for b in bodies if "[专家]" in b["messages"][0]["content"]), key=lambda b: "日本" not in str(b))
    [message] = facts[0]["messages"]
    assert message["role"] == "user"
    assert message["content"] == (
        "比较提交的答案与专家答案。\n[问题]: 日本的首都？\n[专家]: ['东京', '東京']\n[提交]: 大阪 {x}\n\n"
        '先写出推理, 再单独一行写出 "A" or "B" or "C" or "D" or "E" 之一。'
    )
    chat = facts[1]["messages"][0]["content"]
    assert chat.startswith("比较提交的答案与专家答案。\n[问题]: 用一个词回答。\nUser: 法国的首都？\n\n[专家]: 巴黎")
    params = {
        k: facts[0][k] for k in ("temperature", "top_p", "max_tokens", "n", "frequency_penalty", "presence_penalty")
    }
    assert params == {
        "temperature": 0,
        "top_p": 1,
        "max_tokens": 1024,
        "n": 1,
        "frequency_penalty": 0,
        "presence_penalty": 0,
    }
    meets = next(b for b in bodies if "标准: 答案是城市名" in b["messages"][0]["content"])
    assert "之一" not in meets["messages"][0]["content"]  # no eval_type in the eval's args: nothing appended
    scores = out["datasets"]
    fact = scores["oai:facts_zh"]["scores"]["judge-default@1:gpt-4o-mini"]
    assert fact["counts"] == {"C": 1, "D": 1} and fact["score"] is None and fact["n"] == 2  # fact_zh scores no choice
    checked = scores["oai:capitals_checked"]["scores"]["judge-default@1:gpt-4o-mini"]
    assert (checked["score"], checked["counts"], checked["metascore"]) == (0.5, {"N": 1, "Y": 1}, 50.0)
    from almeval.report import render
    from almeval.store import Store

    report = render(Store(tmp_path / "w" / "almeval.sqlite"))
    assert "| choices C 1, D 1 |" in report and "choices N 1, Y 1 · metascore 50.00% of 2" in report


def test_a_changed_modelgraded_spec_rejudges_only_its_evals_and_changed_scores_only_rescore(tmp_path):
    from openai_server import FakeOpenAI, ServerConfig

    root = fork(tmp_path / "fork")
    spec = root / "modelgraded" / "meets_zh.yaml"
    with FakeOpenAI(ServerConfig(reply=_fork_replies)) as srv:
        _graded_run(tmp_path, root, srv)
        assert srv.stats.requests == 4
        again = _graded_run(tmp_path, root, srv)
        assert srv.stats.requests == 4 and again["inferred"] == 0  # a rerun is free
        spec.write_text(spec.read_text(encoding="utf-8").replace("'N': 0.0", "'N': 0.5"), encoding="utf-8")
        rescored = _graded_run(tmp_path, root, srv)
        assert srv.stats.requests == 4  # a choice score is how replies are read: no call
        assert rescored["datasets"]["oai:capitals_checked"]["scores"]["judge-default@1:gpt-4o-mini"]["score"] == 0.75
        spec.write_text(spec.read_text(encoding="utf-8").replace("先逐步推理", "请先逐步推理"), encoding="utf-8")
        _graded_run(tmp_path, root, srv)
        rejudged = [b["messages"][0]["content"] for b in srv.stats.bodies[4:]]
    assert len(rejudged) == 2 and all("请先逐步推理" in m for m in rejudged)  # fact_zh's items were not sent again


def test_model_graded_specs_almeval_cannot_run_as_oaieval_does_are_refused_before_anything_runs(tmp_path):
    root = fork(tmp_path / "fork")
    evals = root / "evals" / "facts_zh.yaml"
    registry = lambda: Registry.load([root], official=False)  # noqa: E731
    text = evals.read_text(encoding="utf-8")
    evals.write_text(
        text.replace("    modelgraded_spec: fact_zh\n", "    modelgraded_spec: fact_zh\n    multicomp_n: 2\n")
    )
    with pytest.raises(ConfigError, match="multicomp_n 2"):
        registry().graded(registry().resolve("facts_zh"))
    evals.write_text(text.replace("cot_classify_zh", "cot_classify_xx"), encoding="utf-8")
    with pytest.raises(UnknownNameError, match="cot_classify_xx"):
        registry().graded(registry().resolve("facts_zh"))
    evals.write_text(text, encoding="utf-8")
    samples = root / "data" / "capitals_zh" / "samples.jsonl"
    samples.write_text('{"input": "q", "ideal": "a"}\n', encoding="utf-8")  # no labelled choice for the metaeval
    from almeval.datasets import oai

    oai.use_registries([root])
    [info] = oai.select("oai:capitals_checked")
    with pytest.raises(DataError, match=r"samples.jsonl:1: a metaeval sample needs its labelled `choice`"):
        oai.load(info, None)
    [info] = oai.select("oai:facts_zh")
    samples.write_text('{"input": "q"}\n', encoding="utf-8")  # fact_zh fills {ideal}
    with pytest.raises(DataError, match=r"samples.jsonl:1: the modelgraded spec 'fact_zh' needs ideal"):
        oai.load(info, None)


def _evals_classify():
    """openai/evals' own model-graded code, taken from the installed package's source (classify_utils.py,
    utils.py, prompt/base.py) and run as it is, without importing the package: classify() with PromptFn,
    the answer prompts, reply reading and scoring."""
    import copy
    import logging
    import string

    from almeval.references import functions_from

    root = official_registry().parent
    namespace = {"copy": copy, "logging": logging, "string": string}
    functions_from(root / "prompt" / "base.py", {"chat_prompt_to_text_prompt", "is_chat_prompt"}, namespace)
    utils = {"format_necessary", "format_prompt", "scrub_formatting_from_prompt", "PromptFn"}
    functions_from(root / "elsuite" / "utils.py", utils, namespace)
    classify = {"ANSWER_PROMPTS", "MATCH_FNS", "INVALID_STR", "get_choice_strings", "classify", "get_choice_score"}
    classify |= {"choice_to_str", "get_choice", "append_answer_prompt"}
    functions_from(root / "elsuite" / "modelgraded" / "classify_utils.py", classify, namespace)
    return namespace


class _Fixed:
    """A completion function that answers every prompt with a fixed reply and keeps the prompts."""

    def __init__(self, reply):
        self.reply, self.prompts, self.kwargs = reply, [], []

    def __call__(self, prompt, **kwargs):
        self.prompts.append(prompt)
        self.kwargs.append(kwargs)
        text = self.reply(prompt)
        return type("Result", (), {"get_completions": lambda _self: [text]})()


def _reply_for(messages, choices):
    """One of seven replies, chosen by the prompt's digest: a choice alone on the last line, one followed by
    punctuation, one on the first line then reasoning, a lower-cased one, none at all, two choices."""
    import hashlib

    k = int(hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode()).hexdigest(), 16)
    a, b = choices[k % len(choices)], choices[(k // 7) % len(choices)]
    return [
        f"Step by step, the answer holds.\n{a}",
        f"Reasoning first.\n\n({a}).",
        f"{a}\nBecause it fits.",
        f"Thinking.\n{a.lower()}",
        "I cannot decide.",
        f"{a}\nOr rather\n{b}",
        f"  {b}  ",
    ][k % 7]


OFFICIAL_GRADED = (  # ModelBasedClassify evals of the installed registry, chosen to cover what differs
    "coqa-fact",  # fact: chat input, list-free ideal, cot_classify, no choice scores
    "coqa-fact-expl",  # classify_cot: read from the first line
    "coqa-closedqa-correct",  # closedqa: spec args fill {criteria}, eval_type from the spec, Y/N scores
    "joke-fruits-likert",  # choice_scores from_strings (1-5)
    "joke-fruits-ans-meta",  # classify, metaeval: the sample's own completion is judged
    "logic-riddles",  # fact again, on another data set
)


@pytest.mark.skipif(official_registry() is None, reason="the evals package's registry is not installed")
@pytest.mark.filterwarnings("ignore:The 'warn' function is deprecated:DeprecationWarning")  # evals' own logging call
def test_model_graded_evals_agree_with_the_evals_package_on_real_registry_evals(tmp_path):
    """Six real model-graded evals: almeval runs each through the engine (fixed completions replayed, a
    fixed judge reply set served by the local test server); the evals package's own classify() builds its
    prompt and reads the same reply. The judge receives exactly the messages evals builds, and the score,
    the counts and the metascore equal evals' aggregation (ModelBasedClassify.run) to 0.01."""
    from conftest import write_manifest
    from openai_server import FakeOpenAI, ServerConfig

    from almeval.judges import JudgeOptions
    from almeval.runner import EvalOptions, evaluate

    ev = _evals_classify()
    registry = Registry.load()
    for name in OFFICIAL_GRADED:
        spec = registry.resolve(name)
        graded = registry.graded(spec)
        samples = registry.samples(spec)[:30]
        completions = [f"{s.get('ideal', 'It is so')} {{k}}" if k % 3 else "No idea." for k, s in enumerate(samples)]
        completions = [c.replace("{k}", str(k)) for k, c in enumerate(completions)]
        preds = write_manifest(
            tmp_path / name / "preds.jsonl", [{"index": k, "prediction": c} for k, c in enumerate(completions)]
        )
        reply = partial(_reply_for, choices=graded.choices)
        with FakeOpenAI(ServerConfig(reply=lambda _model, messages, reply=reply: reply(messages))) as srv:
            jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=5.0)
            out = evaluate(
                EvalOptions(model=f"replay:{preds}", data=(f"oai:{name}",), work_dir=tmp_path / name / "w", judge=jopts)
            )
            sent = sorted(json.dumps(b["messages"], ensure_ascii=False, sort_keys=True) for b in srv.stats.bodies)
        ours = out["datasets"][f"oai:{name}"]["scores"]["judge-default@1:gpt-4o-mini"]

        mg, _ = registry.modelgraded[spec.args["modelgraded_spec"]]
        mg_spec = type("Spec", (), {"eval_type": None, "choice_scores": None, **mg})
        fixed = _Fixed(reply)
        choices, scores, metas = [], [], []
        for row, completion in zip(samples, completions, strict=True):
            test_sample = {k: v for k, v in row.items() if k != "index"}
            for key in mg["input_outputs"]:
                test_sample[key] = ev["scrub_formatting_from_prompt"](test_sample[key])
            outputs = {v: completion for v in mg["input_outputs"].values() if v not in test_sample}
            choice, info = ev["classify"](
                mg=mg_spec,
                completion_fn=fixed,
                completion_kwargs={"max_tokens": 1024},
                eval_type=spec.args.get("eval_type"),
                n=1,
                match_fn=spec.args.get("match_fn"),
                format_kwargs={**outputs, **test_sample, **(spec.args.get("modelgraded_spec_args") or {})},
            )
            choices.append(choice)
            scores += [info["score"]] if info["score"] is not None else []
            if spec.args.get("metaeval"):
                metas.append(choice == test_sample["choice"])
        theirs = sorted(json.dumps(p, ensure_ascii=False, sort_keys=True) for p in fixed.prompts)
        assert sent == theirs, name  # the judge was sent exactly what evals sends
        assert {k: fixed.kwargs[0][k] for k in ("temperature", "top_p", "max_tokens", "n")} == {
            k: srv.stats.bodies[0][k] for k in ("temperature", "top_p", "max_tokens", "n")
        }
        counts = {("invalid" if c == "__invalid__" else c): choices.count(c) for c in set(choices)}
        assert ours["counts"] == counts, name
        score = sum(scores) / len(scores) if scores else None
        assert (ours["score"] is None) == (score is None), name
        if score is not None:
            assert abs(ours["score"] - score) <= 0.01, name
        if metas:
            assert abs(ours["metascore"] - 100 * sum(metas) / len(metas)) <= 0.01, name
        print(f"\n| {name} | {len(samples)} | {score} | {ours['score']} | {counts} |")


def test_few_shot_match_evals_send_the_shots_between_the_inputs_messages_as_match_does(tmp_path):
    """num_few_shot / few_shot_jsonl: the input's messages but the last, the first N shots' `sample`
    messages (their `name`, e.g. example_user, kept), then the input's last message."""
    from openai_server import FakeOpenAI

    from almeval.runner import EvalOptions, evaluate

    root = fork(tmp_path / "fork")
    data = root / "data" / "capitals_zh"
    shots = [
        [
            {"role": "system", "name": "example_user", "content": f"第{k}个问题？"},
            {"role": "system", "name": "example_assistant", "content": f"答案{k}"},
        ]
        for k in range(3)
    ]
    (data / "few_shot.jsonl").write_text("".join(json.dumps({"sample": s}, ensure_ascii=False) + "\n" for s in shots))
    (root / "evals" / "shots.yaml").write_text(
        "capitals_shots:\n  class: evals.elsuite.basic.match:Match\n"
        "  args:\n    samples_jsonl: capitals_zh/samples.jsonl\n"
        "    few_shot_jsonl: capitals_zh/few_shot.jsonl\n    num_few_shot: 2\n"
    )
    samples = data / "samples.jsonl"
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    samples.write_text(json.dumps(rows[0], ensure_ascii=False) + "\n", encoding="utf-8")  # chat input only
    with FakeOpenAI() as srv:
        opts = EvalOptions(
            model="openai:m",
            data=("oai:capitals_shots",),
            work_dir=tmp_path / "w",
            model_args={"base_url": srv.base_url},
            oai_registries=(root,),
        )
        evaluate(opts)
        [body] = srv.stats.bodies
    assert body["messages"] == [rows[0]["input"][0], *shots[0], *shots[1], rows[0]["input"][1]]
    samples.write_text('{"input": "plain", "ideal": "x"}\n')
    with pytest.raises(DataError, match=r"samples.jsonl:1: a few-shot eval needs chat messages as input"):
        evaluate(opts)


def test_a_local_text_model_runs_an_eval_through_its_chat_template(tmp_path):
    """hf-causal (a tiny random-weight Llama built here) as the model under test: each sample's messages go
    through the tokenizer's chat template, batched; the grader scores its replies."""
    from tiny_models import tiny_llama

    from adapters.base import text_chat
    from almeval.datasets import oai
    from almeval.runner import EvalOptions, evaluate
    from almeval.values import Request

    root = fork(tmp_path / "fork")
    model = tiny_llama(tmp_path / "llm")
    out = evaluate(
        EvalOptions(
            model=f"hf-causal:{model}",
            data=("oai:capitals_zh",),
            work_dir=tmp_path / "w",
            model_args={"max_new_tokens": "4"},
            oai_registries=(root,),
        )
    )
    score = out["datasets"]["oai:capitals_zh"]["scores"]["oai-includes@1"]
    assert out["inferred"] == 2 and score["n"] == 2 and score["failed"] == 0
    oai.use_registries([root])
    [info] = oai.select("oai:capitals_zh")
    first, second = oai.load(info, None)[0]
    assert text_chat(Request("k", first, "")) == first.meta["input"]  # system and user, as given
    assert text_chat(Request("k", second, "")) == [{"role": "user", "content": "日本的首都？"}]


def test_export_writes_oaieval_record_logs_that_the_evals_packages_own_log_reader_reads(tmp_path):
    """`almeval export RUN --format oaieval`: per eval a JSONL log in oaieval's layout (spec, per-sample
    sampling / match / metrics events with oaieval's sample ids, final report). Read back with the evals
    package's own log_utils where it is installed, else as plain JSON lines."""
    from openai_server import FakeOpenAI, ServerConfig

    root = fork(tmp_path / "fork")
    with FakeOpenAI(ServerConfig(reply=_fork_replies)) as srv:
        out = _graded_run(tmp_path, root, srv)
    work = tmp_path / "w"
    res = cli(
        "export", out["run_id"], "--out", str(tmp_path / "logs"), "--work-dir", str(work), "--oai-registry", str(root)
    )
    assert res.returncode == 0, res.stderr
    logs = {p.stem: p for p in (tmp_path / "logs").glob("*.jsonl")}
    assert set(logs) == {"capitals_zh", "facts_zh", "capitals_checked"}
    reader = _evals_log_reader()
    spec = reader["extract_spec"](logs["capitals_checked"])
    assert (spec["eval_name"], spec["base_eval"], spec["split"]) == (
        "capitals_checked.dev.v0",
        "capitals_checked",
        "dev",
    )
    assert reader["extract_final_results"](logs["capitals_checked"]) == {
        "counts/N": 1,
        "counts/Y": 1,
        "score": 0.5,
        "metascore": 0.5,
    }
    metrics = reader["extract_individual_results"](logs["capitals_checked"])
    assert sorted(m["choice"] for m in metrics) == ["N", "Y"] and {m["metascore"] for m in metrics} == {True, False}
    assert reader["extract_final_results"](logs["facts_zh"]) == {"counts/C": 1, "counts/D": 1}
    matches = reader["extract_individual_results"](logs["capitals_zh"], "match")
    assert [m["correct"] for m in matches] == [True, False] and matches[1]["expected"] == ["东京", "東京"]
    assert reader["extract_final_results"](logs["capitals_zh"])["accuracy"] == 0.5
    events = [json.loads(line) for line in logs["capitals_zh"].read_text(encoding="utf-8").splitlines()]
    assert [e["sample_id"] for e in events if e.get("type") == "sampling"] == ["capitals_zh.dev.0", "capitals_zh.dev.1"]
    first = next(e for e in events if e.get("type") == "sampling")
    assert first["data"]["prompt"][1] == {"role": "user", "content": "法国的首都？"} and first["data"]["sampled"] == [
        "巴黎"
    ]


def _evals_log_reader():
    """evals/utils/log_utils.py of the installed package, loaded as a file (importing `evals` would pull its
    dependencies); a plain reader of the same three functions where the package is absent."""
    import importlib.util

    registry = official_registry()
    if registry is not None:
        source = registry.parent / "utils" / "log_utils.py"
        spec = importlib.util.spec_from_file_location("evals_log_utils", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return vars(module)

    def lines(path):
        return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]

    return {
        "extract_spec": lambda p: next(x["spec"] for x in lines(p) if "spec" in x),
        "extract_final_results": lambda p: next(x["final_report"] for x in lines(p) if "final_report" in x),
        "extract_individual_results": lambda p, t="metrics": [x["data"] for x in lines(p) if x.get("type") == t],
    }


def test_model_graded_evals_can_be_judged_later_from_stored_predictions(tmp_path):
    """`almeval eval --skip-judge`, then `almeval judge --oai-registry …`: the modelgraded spec is resolved
    again from the registries and the stored samples fill its prompt; the scores equal a judged run's."""
    from conftest import write_manifest
    from openai_server import FakeOpenAI, ServerConfig

    from almeval.judges import JudgeOptions
    from almeval.judging import JudgeRunOptions, judge_stored
    from almeval.progress import Ui
    from almeval.runner import EvalOptions, evaluate

    root = fork(tmp_path / "fork")
    preds = write_manifest(
        tmp_path / "p" / "preds.jsonl", [{"index": 0, "prediction": "巴黎"}, {"index": 1, "prediction": "大阪 {x}"}]
    )
    work = tmp_path / "w"
    evaluate(
        EvalOptions(
            model=f"replay:{preds}",
            data=("oai:capitals_checked",),
            work_dir=work,
            oai_registries=(root,),
            skip_judge=True,
        )
    )
    with FakeOpenAI(ServerConfig(reply=_fork_replies)) as srv:
        jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=2.0)
        out = judge_stored(JudgeRunOptions(judge=jopts, work_dir=work, oai_registries=(root,)), Ui(quiet=True), "r1")
    [result] = out["datasets"].values()
    scores = result["scores"]["judge-default@1:gpt-4o-mini"]
    assert (scores["score"], scores["metascore"], out["judged"]) == (0.5, 50.0, 2)
