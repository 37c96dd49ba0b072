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
