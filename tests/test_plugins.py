"""Plugins by entry points: a separately installed package adds a model and benchmarks (each one
declaration with its recipes and judge) without editing almeval (groups `almeval.adapters`,
`almeval.benchmarks`); registering a name twice is an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import asr_rows, cli, write_manifest, write_wav

PLUGIN = '''
import os

from pathlib import Path

from almeval.adapters.base import Adapter
from almeval.datasets.catalog import benchmark
from almeval.rules import McqExtract


class Shout(Adapter):
    """Answers every item with its reference in capitals (the normaliser lowercases it again)."""

    name = "shout"

    def generate(self, requests):
        return [r.sample.answer.upper() for r in requests]


STRICT = McqExtract(name="tiny-extract")  # a rule recipe of the plugin's own
TEMPLATES = str(Path(__file__).with_name("templates"))  # its judge templates (package data)
BENCHMARKS = (
    benchmark("tiny-asr", "ASR", lang="en", manifest=os.environ.get("TINY_MANIFEST", "")),
    benchmark("tiny-quiz", "MQA", rules=("tiny-extract",), judge="tiny-yes", manifest=os.environ.get("TINY_QUIZ", "")),
)
'''


def _install(tmp_path: Path, entry_points: str) -> Path:
    """Build and install (pip --target) a one-module distribution with the given entry points."""
    src = tmp_path / "plugin"
    (src / "tinyplugin" / "templates").mkdir(parents=True)
    (src / "tinyplugin" / "__init__.py").write_text(PLUGIN)
    (src / "tinyplugin" / "templates" / "tiny-yes.yaml").write_text(
        'id: tiny-yes\nparse: yes_no\nuser: "Is <<{prediction}>> the answer to <<{question}>>, given {answer}? '
        'End with Result: yes or Result: no."\n'
    )
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "almeval-tinyplugin"\nversion = "0.1"\n'
        '[tool.setuptools]\npackages = ["tinyplugin"]\n'
        '[tool.setuptools.package-data]\ntinyplugin = ["templates/*.yaml"]\n' + entry_points
    )
    target = tmp_path / "site"
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target)]
    out = subprocess.run([*cmd, str(src)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return target


def test_a_plugin_package_adds_a_model_and_a_benchmark_that_run_end_to_end(tmp_path):
    site = _install(
        tmp_path,
        '[project.entry-points."almeval.adapters"]\nshout = "tinyplugin:Shout"\n'
        '[project.entry-points."almeval.benchmarks"]\ntiny = "tinyplugin:BENCHMARKS"\n'
        '[project.entry-points."almeval.recipes"]\ntiny-extract = "tinyplugin:STRICT"\n'
        '[project.entry-points."almeval.judges"]\ntiny = "tinyplugin:TEMPLATES"\n',
    )
    rows = asr_rows(5)
    for i, row in enumerate(rows):  # five different recordings: five distinct content keys
        row["audio_path"] = write_wav(tmp_path / "data" / f"a{i}.wav", freq=300.0 + 50 * i).name
    manifest = write_manifest(tmp_path / "data" / "tiny.jsonl", rows)
    quiz = [{**r, "question": "Pick one. (A) yes (B) no", "answer": "A", "meta": {}} for r in rows]
    env = {
        "PYTHONPATH": str(site),
        "TINY_MANIFEST": str(manifest),
        "TINY_QUIZ": str(write_manifest(tmp_path / "data" / "quiz.jsonl", quiz)),
    }
    listing = cli("models", "list", env=env)
    assert listing.returncode == 0 and "shout" in listing.stdout and "almeval-tinyplugin" in listing.stdout
    datasets = json.loads(cli("data", "list", "--json", env=env).stdout)
    listed = {d["dataset"]: d for d in datasets}
    assert listed["tiny-asr"]["prepared"]
    assert listed["tiny-asr"]["rules"] == ["asr-default", "asr-kimi (needs --reference kimi=PATH)"]
    assert listed["tiny-quiz"]["rules"] == ["tiny-extract"] and listed["tiny-quiz"]["judge"] == "tiny-yes"
    code = "from almeval.judges.templates import builtin_templates as t; print(t()['tiny-yes'].parse)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True
        ).stdout.strip()
        == "yes_no"
    )
    work = str(tmp_path / "w")
    args = ("--data", "tiny-asr", "--data", "tiny-quiz", "-w", work, "--json", "--skip-judge")
    out = cli("eval", "--model", "shout", *args, env=env)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["inferred"] == 10 and summary["datasets"]["tiny-asr"]["scores"]["asr-default@2"]["wer"] == 0.0
    # the answer "A" shouted back is extracted as A by the rule recipe the declaration names
    assert summary["datasets"]["tiny-quiz"]["scores"]["tiny-extract@1"]["acc"] == 100.0


def test_a_plugin_that_registers_a_built_in_name_again_is_refused(tmp_path):
    site = _install(tmp_path, '[project.entry-points."almeval.adapters"]\nfake = "tinyplugin:Shout"\n')
    out = cli("models", "list", env={"PYTHONPATH": str(site)})
    assert out.returncode == 2
    assert "registered twice" in out.stderr and "almeval-tinyplugin" in out.stderr
