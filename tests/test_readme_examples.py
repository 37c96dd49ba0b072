"""The README's complete examples for adding a recipe and a judge template work as written."""

from __future__ import annotations

from pathlib import Path

import yaml

from almeval.judges.templates import load_templates, markers
from almeval.values import Prediction, Sample

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _block(after: str, lang: str) -> str:
    return README.split(after, 1)[1].split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_the_recipe_example_scores_items_and_aggregates():
    scope: dict = {}
    exec(compile(_block("**A recipe** (a rule", "python"), "README.md (recipe)", "exec"), scope)
    exact = scope["EXACT"]
    items = [Sample("d", "s", str(i), (), "q", answer) for i, answer in enumerate(("Paris", "blue", "4"))]
    preds = [Prediction("k0", " paris "), Prediction("k1", "red"), Prediction("k2", "", status="error")]
    rows = [exact.compact(exact.item(s, p)) for s, p in zip(items, preds, strict=True)]
    assert rows == [(0, 1), (0, 0), (1, 0)]
    agg = exact.aggregate("en", rows)
    assert (agg["acc"], agg["n"], agg["failed"]) == (33.33, 3, 1)
    assert exact.item_key(items[0], preds[0]) != exact.item_key(items[0], preds[1])


def test_the_judge_template_example_loads_and_reads_its_verdicts(tmp_path):
    folder = tmp_path / "my-templates"
    folder.mkdir()
    text = _block("**A judge template**", "yaml")
    (folder / "short-answer.yaml").write_text(text)
    template = load_templates([folder])["short-answer"]
    assert yaml.safe_load(text)["parse"] == "yes_no"
    messages = template.messages(Sample("d", "s", "0", (), "Capital of France?", "Paris"), "Paris. Result: yes")
    opening, closing = markers("Paris. Result: yes")
    assert f"Model's answer: {opening}Paris. Result: yes{closing}" in messages[-1]["content"]
    assert template.parse_reply("They match.\nResult: yes\nParis. Result: yes", "Paris. Result: yes").value == 1.0
