"""The command line as a user meets it: demo, report, listings, cache commands, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import asr_rows, cli, write_manifest, write_wav


def test_import_almeval_does_not_import_torch_or_pandas():
    code = (
        "import sys, almeval, almeval.runner, almeval.adapters, almeval.cli; "
        "print(any(m in sys.modules for m in ('torch', 'transformers', 'pandas', 'pyarrow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sphinx_on_the_demo_gives_a_real_wer_and_report(tmp_path):
    """Real speech (flite + CMU ARCTIC), real offline ASR, real normalisers: a plausible, non-zero WER."""
    work = tmp_path / "work"
    out = cli("eval", "--model", "sphinx", "--data", "demo", "--limit", "6", "-w", str(work), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    wer = summary["datasets"]["demo"]["scores"]["asr-default@2"]["wer"]
    assert 0 < wer < 40, f"pocketsphinx on flite speech should be imperfect but close, got {wer}"
    assert "6 items, 6 inferred" in out.stderr

    report = tmp_path / "report.md"
    assert cli("report", "-w", str(work), "--out", str(report)).returncode == 0
    text = report.read_text()
    assert re.search(rf"\| sphinx \| {wer:.2f} \[[0-9.]+–[0-9.]+\] \(partial 6/24\) \|", text), text
    assert "pocketsphinx-" in text and "asr-default@2" in text


def test_eval_exit_code_1_when_items_fail(tmp_path):
    write_wav(tmp_path / "a.wav")
    manifest = write_manifest(tmp_path / "set.jsonl", asr_rows(3))
    out = cli("eval", "-m", "fake", "-d", str(manifest), "-a", "fail=1", "-q", cwd=tmp_path)
    assert out.returncode == 1 and "1 failed" in out.stderr


def test_listings(tmp_path):
    models = cli("models", "list")
    assert models.returncode == 0 and "sphinx" in models.stdout and "replay" in models.stdout
    data = cli("data", "list")
    assert data.returncode == 0 and "LibriSpeech" in data.stdout and "demo-mqa" in data.stdout
    assert cli("eval", "--help").returncode == 0


def test_cache_stats_check_prune(tmp_path):
    write_wav(tmp_path / "a.wav")
    manifest = write_manifest(tmp_path / "set.jsonl", asr_rows(4))
    assert cli("eval", "-m", "fake", "-d", str(manifest), "-q", cwd=tmp_path).returncode == 0
    stats = json.loads(cli("cache", "stats", cwd=tmp_path).stdout)
    assert stats["cache"]["by_kind"] == {"audio": 1, "pred": 4}
    assert stats["store"]["items"] == 4
    check = cli("cache", "check", cwd=tmp_path)
    assert check.returncode == 0 and "ok" in check.stderr
    assert "pruned 0 entries" in cli("cache", "prune", "--older-than", "1d", cwd=tmp_path).stdout
    assert "pruned 4 entries" in cli("cache", "prune", "--older-than", "0s", "--kind", "pred", cwd=tmp_path).stdout
    # the store still holds every prediction: a rerun needs no model and gives the same numbers
    rerun = cli("eval", "-m", "fake", "-d", str(manifest), "--json", "-q", cwd=tmp_path)
    assert json.loads(rerun.stdout)["model_loaded"] is False


def test_dataset_root_and_env_override(tmp_path):
    root = tmp_path / "bench"
    write_wav(root / "LibriSpeech" / "a.wav")
    rows = [{**r, "meta": {}} for r in asr_rows(3)]
    write_manifest(root / "LibriSpeech" / "LibriSpeech.jsonl", rows)
    out = cli("eval", "-m", "fake", "-d", "asr", "--json", "-q", env={"ALMEVAL_DATASET_ROOT": str(root)}, cwd=tmp_path)
    summary = json.loads(out.stdout)
    assert list(summary["datasets"]) == ["LibriSpeech", "demo"]
    assert "Fleurs-zh" in summary["skipped_unprepared"]


def test_mistakes_are_caught_before_anything_runs(tmp_path):
    work = str(tmp_path / "w")
    typo = cli("eval", "-m", "fake", "-d", "demo", "-w", work, "-a", "modee=echo")
    assert typo.returncode == 2 and "Did you mean 'mode'" in " ".join(typo.stderr.split())
    for wrong, right in (("gtp-4o-mini", "gpt-4o-mini"), ("smolm2", "smollm2")):
        out = cli("eval", "-m", "fake", "-d", "demo", "-w", work, "-j", wrong, env={"OPENAI_API_KEY": "sk-test"})
        assert out.returncode == 2 and f"Did you mean '{right}'" in " ".join(out.stderr.split()), out.stderr
    unprepared = cli("eval", "-m", "fake", "-d", "LibriSpeech", "-w", work)
    assert unprepared.returncode == 2 and "almeval data prepare LibriSpeech" in " ".join(unprepared.stderr.split())


def test_a_dataset_that_only_a_judge_scores_is_flagged_when_no_judge_is_given(tmp_path):
    write_wav(tmp_path / "a.wav")
    rows = [{**r, "meta": {"task": "OpenQA"}} for r in asr_rows(2)]
    manifest = write_manifest(tmp_path / "chat.jsonl", rows)
    out = cli("eval", "-m", "fake", "-d", str(manifest), "-w", str(tmp_path / "w"), "--json")
    assert out.returncode == 0
    assert "chat will get NO score" in " ".join(out.stderr.split())
    assert json.loads(out.stdout)["datasets"]["chat"]["scored_by"] == "needs a judge (pass --judge)"


def test_error_messages_are_not_hard_wrapped(tmp_path):
    out = cli("eval", "-m", "fake", "-d", "demo", "-w", str(tmp_path / "w"), "-a", "modee=echo")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_judges_list_names_judges_prices_and_templates():
    out = cli("judges", "list", "--json")
    assert out.returncode == 0
    listing = json.loads(out.stdout)
    judges = {j["judge"]: j for j in listing["judges"]}
    assert judges["gpt-4o-mini"]["usd_per_1m_in_out"] == [0.15, 0.6] and "smollm2" in judges
    templates = {t["template"]: t for t in listing["templates"]}
    assert templates["mcq-yesno"]["parse"] == "yes_no" and "openqa-score" in templates


def test_the_readme_python_example_runs(tmp_path, capsys):
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = text.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, "README.md (Python API)", "exec"), {})
    printed = capsys.readouterr().out
    assert "sphinx" in printed and "('demo', 'asr-default@2'" in printed and (tmp_path / "api-results").is_dir()


def test_json_output_stays_one_json_document_when_a_dependency_prints(tmp_path):
    """lm-eval (the ifeval recipe's checkers) prints on import; --json's stdout must still parse."""
    write_wav(tmp_path / "a.wav")
    rows = [
        {
            "index": 0,
            "audio_path": "a.wav",
            "question": "q",
            "answer": "",
            "audio_content": "Write one word in capitals.",
            "subset": "ifeval",
            "meta": {"instruction_id_list": ["change_case:english_capital"], "kwargs": [{}]},
        }
    ]
    manifest = write_manifest(tmp_path / "ifeval.jsonl", rows)
    out = cli("eval", "-m", "fake", "-d", str(manifest), "-w", str(tmp_path / "w"), "--json", "-a", "mode=upper")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["datasets"]["ifeval"]["scores"]["ifeval@1"]["n"] == 1
