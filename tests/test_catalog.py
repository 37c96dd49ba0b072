"""Every benchmark is one declaration (almeval/datasets/catalog.py) and every name in it resolves:
recipes, judge templates, suite components and recipes, preparers, and a source fixture per series."""

from __future__ import annotations

import importlib

import pytest
import source_fixtures as fx

from almeval.datasets import Catalog
from almeval.datasets.catalog import BENCHMARKS, SERIES, SUITES, TASKS
from almeval.judges.templates import Wiring, load_templates
from almeval.recipes import rule_names
from almeval.values import TASK_DEFAULT, Sample


@pytest.mark.parametrize("info", BENCHMARKS, ids=lambda b: b.name)
def test_each_benchmark_declares_names_that_resolve(info):
    assert info.task in TASKS and info.series
    names, optional = rule_names(info)  # raises on an unknown recipe name
    wiring = Wiring.load(load_templates(), {}, BENCHMARKS)
    judged = []
    for subset in info.subsets or ("",):
        sample = Sample(info.name, subset, "0", (), "q", "a", task=info.task)
        template = wiring.template_for(sample)  # raises on an unknown template id
        judged.append(template)
        if isinstance(info.judge, dict):
            assert template is not None and template.id == info.judge[subset]
    assert names or optional or any(judged), f"{info.name} has neither a rule recipe nor a judge: it cannot be scored"
    if info.judge is None:
        assert not any(judged)
    if info.judge == TASK_DEFAULT and info.task != "ASR":
        assert all(judged)


@pytest.mark.parametrize("series", [s for s in SERIES if s.prepare], ids=lambda s: s.name)
def test_each_series_preparer_imports_and_has_a_source_fixture(series):
    module, _, func = series.prepare.partition(":")
    assert callable(getattr(importlib.import_module(f"almeval.prepare.{module}"), func))
    assert callable(getattr(fx, series.name.lower().replace("-", ""))), f"tests/source_fixtures.py lacks {series.name}"


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_each_suite_names_existing_components_and_the_recipe_of_each(suite):
    by_name = {b.name: b for b in BENCHMARKS}
    assert set(suite.recipes) == set(suite.weights)
    if suite.over == "subsets":
        assert set(suite.weights) <= set(by_name[suite.of].subsets)
        names, optional = rule_names(by_name[suite.of])
        for family in suite.recipes.values():  # an exact family: "judge" alone would match nothing
            judged = family in ("judge-default", "judge-kimi") and by_name[suite.of].judge is not None
            assert judged or family in (*names, *optional), f"{suite.name}: no recipe {family}"
    else:
        assert set(suite.weights) <= set(by_name)
        for part, family in suite.recipes.items():
            names, optional = rule_names(by_name[part])
            judged = family in ("judge-default", "judge-kimi") and by_name[part].judge is not None
            assert judged or family in (*names, *optional), f"{suite.name}: {part} has no recipe {family}"


def test_names_are_unique_and_the_catalog_registers_every_declaration():
    names = [b.name for b in BENCHMARKS]
    assert len(names) == len(set(names))
    assert {d.name for d in Catalog().all()} == set(names)


def test_audio_paths_resolve_to_the_string_pathlib_writes():
    """Planning joins plain relative paths as text (pathlib's parsing was a quarter of its time): the
    string must be pathlib's, whatever the path looks like."""
    from pathlib import Path

    from almeval.datasets.manifest import _resolve

    cases = ["a.wav", "audio/a.wav", "./a.wav", "a//b.wav", "a/./b.wav", "a/b/", "../a.wav", "a/../b.wav"]
    cases += ["/abs/a.wav", ".", "..", "", "a b/ç.wav", ".hidden", "a/.b", "a\\b.wav"]
    for base in [Path("/tmp/x"), Path("rel/dir"), Path("."), Path("/"), Path("//"), Path("//x")]:
        for p in cases:
            path = Path(p)
            assert _resolve(base, p) == str(path if path.is_absolute() else base / path), (base, p)


def test_a_list_of_digests_is_written_as_its_canonical_json():
    from almeval.cache.keys import canonical_json
    from almeval.store import _hex_list

    for digests in ([], ["ab12"], ["ab12", "cd34", "ef"]):
        assert _hex_list(digests) == canonical_json(digests)
