"""openai/evals registries read as data: a small registry of our own in a fork's layout (a Chinese eval
set, a fact_zh-style model-graded spec, id indirection), and the official one where installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli

from almeval.datasets.oai import Registry, official_registry
from almeval.errors import ConfigError, DataError, UnknownNameError


def fork(root: Path) -> Path:
    """A fork's evals/registry/: our own wording, the official layout."""
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
        "    modelgraded_spec: fact_zh\n",
        encoding="utf-8",
    )
    (root / "eval_sets" / "chinese.yaml").write_text("chinese:\n  evals:\n    - capitals_zh\n    - facts_zh\n")
    (root / "modelgraded" / "fact_zh.yaml").write_text(
        "fact_zh:\n  prompt: |-\n    比较提交的答案与专家答案。\n    [问题]: {input}\n    [专家]: {ideal}\n"
        "    [提交]: {completion}\n  choice_strings: ABCDE\n  input_outputs:\n    input: completion\n",
        encoding="utf-8",
    )
    samples = [
        {
            "input": [{"role": "system", "content": "用一个词回答。"}, {"role": "user", "content": "法国的首都？"}],
            "ideal": "巴黎",
        },
        {"input": "日本的首都？", "ideal": ["东京", "東京"]},
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
    assert registry.eval_set("chinese") == ("capitals_zh", "facts_zh")
    graded = registry.resolve("facts_zh")
    assert graded.args["modelgraded_spec"] == "fact_zh" and "fact_zh" in registry.modelgraded
    assert set(registry.names) == {"capitals_zh", "facts_zh"}  # the ids' targets are not listed as evals
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
    assert {"eval_set": "chinese", "evals": ["capitals_zh", "facts_zh"]} in rows


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
    import ast
    import re
    import string
    from collections import Counter

    root = official_registry().parent
    namespace = {"re": re, "string": string, "Counter": Counter, "record_match": lambda *a, **k: None}
    namespace.update({"Union": object, "Optional": object, "Callable": object, "Any": object})
    for source, names in (
        (root / "elsuite" / "utils.py", {"normalize", "fuzzy_match", "f1_score", "get_answer"}),
        (root / "api.py", {"record_and_check_match"}),
    ):
        tree = ast.parse(source.read_text())
        nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
        for node in nodes:
            node.returns = None
            for arg in [*node.args.args, *node.args.kwonlyargs]:
                arg.annotation = None
        exec(compile(ast.Module(body=nodes, type_ignores=[]), str(source), "exec"), namespace)
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
    with pytest.raises(ConfigError, match=r"uses evals\.elsuite\.modelgraded\.classify:ModelBasedClassify, which"):
        evaluate(EvalOptions(model="fake", data=("oai-set:chinese",), work_dir=tmp_path / "w2", oai_registries=(root,)))
