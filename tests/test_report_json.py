"""`almeval report --format json`: every score with n, counts, CI, recipe id, model label and key, provenance."""

from __future__ import annotations

import json

from conftest import cli, run, write_manifest

from almeval.datasets.catalog import DEMO_DIR

FIELDS = {
    "model",
    "model_label",
    "model_key",
    "benchmark",
    "subset",
    "recipe",
    "metric",
    "value",
    "ci95",
    "n",
    "size",
    "complete",
    "counts",
    "parts",
    "provenance",
    "run_id",
}


def test_report_json_holds_every_score_with_its_fields_and_agrees_with_the_run(tmp_path, kimi_reference):
    rows = [json.loads(line) for line in (DEMO_DIR / "demo.jsonl").read_text().splitlines()]
    preds = [{"index": r["index"], "prediction": r["answer"]} for r in rows]
    preds[0]["prediction"] = "null"  # one failed item, counted beside the score
    replay = write_manifest(tmp_path / "run" / "preds.jsonl", preds)
    summary = run(tmp_path, ["demo"], model=f"replay:{replay}", limit=10)

    out = cli("report", "-w", str(tmp_path / "work"), "--format", "json", "--recipe", "all")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["format"] == 1 and doc["recipe_view"] == "all"
    scores = doc["scores"]
    assert scores and all(set(s) == FIELDS for s in scores)
    overall = {s["recipe"]: s for s in scores if s["subset"] == ""}
    assert set(overall) == {"asr-default@2", "asr-kimi@2"}
    default = overall["asr-default@2"]
    assert default["value"] == summary["datasets"]["demo"]["scores"]["asr-default@2"]["wer"]
    assert default["model_label"] == "replay:preds" and default["model_key"] == summary["model_key"]
    assert (default["n"], default["size"], default["complete"]) == (10, 24, False)
    assert default["counts"]["failed"] == 1
    assert default["ci95"] is not None and len(default["ci95"]) == 2
    assert default["provenance"]["model_key"] == summary["model_key"]

    plain = cli("report", "-w", str(tmp_path / "work"), "--format", "json")
    assert {s["recipe"] for s in json.loads(plain.stdout)["scores"]} == {"asr-default@2"}


def test_report_refuses_an_unknown_recipe_view_or_format(tmp_path):
    run(tmp_path, ["demo"], limit=2)
    bad = cli("report", "-w", str(tmp_path / "work"), "--recipe", "kimmi")
    assert bad.returncode == 2 and "did you mean 'kimi'" in " ".join(bad.stderr.split()).lower()
    bad = cli("report", "-w", str(tmp_path / "work"), "--format", "html5")
    assert bad.returncode == 2 and "unknown report format" in bad.stderr


def test_the_report_explains_each_benchmark_it_shows(tmp_path):
    run(tmp_path, ["demo", "demo-mqa"], limit=2, skip_judge=True)
    text = cli("report", "-w", str(tmp_path / "work")).stdout
    about = text.split("## About these benchmarks", 1)[1].split("\n## ", 1)[0]
    assert "- **demo**: 24 English utterances" in about and "true accuracy here is 0" in about
