"""Results are keyed by the model's identity, not its label (C12), and scores follow the manifest in force."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from conftest import cli, run, write_manifest, write_wav
from openai_server import FakeOpenAI

from almeval.datasets.catalog import DEMO_DIR
from almeval.judges import JudgeOptions
from almeval.report import render
from almeval.runner import EvalOptions, evaluate
from almeval.store import Store


def _replay_file(folder: Path, wrong: bool) -> Path:
    """A Kimi-style result file for the demo set: every answer right, or every answer wrong."""
    rows = [json.loads(line) for line in (DEMO_DIR / "demo.jsonl").read_text().splitlines()]
    out = [{"index": r["index"], "prediction": "zebra" if wrong else r["answer"]} for r in rows]
    return write_manifest(folder / "preds.jsonl", out)


def _overall_wer(store: Store) -> dict[str, float]:
    names = store.display_names()
    return {names[s.model]: s.values["wer"] for s in store.scores() if s.subset == "" and s.recipe == "asr-default@2"}


def test_two_replay_files_with_the_same_name_are_two_models_and_a_rerun_leaves_the_other_alone(tmp_path):
    a, b = _replay_file(tmp_path / "a", wrong=False), _replay_file(tmp_path / "b", wrong=True)
    out_a = run(tmp_path, ["demo"], model=f"replay:{a}")
    out_b = run(tmp_path, ["demo"], model=f"replay:{b}")
    assert out_a["model"] == out_b["model"] == "replay:preds"
    assert out_a["model_key"] != out_b["model_key"]
    store = Store(tmp_path / "work" / "almeval.sqlite")
    wer = _overall_wer(store)
    key_a, key_b = out_a["model_key"][:8], out_b["model_key"][:8]
    assert wer == {f"replay:preds@{key_a}": 0.0, f"replay:preds@{key_b}": 100.0}
    report = render(store)
    assert f"| replay:preds@{key_a} | 0.00" in report and f"| replay:preds@{key_b} | 100.00" in report
    store.close()

    again = run(tmp_path, ["demo"], model=f"replay:{a}")
    assert again["inferred"] == 0 and again["inference_cache_hits"] == 24
    store = Store(tmp_path / "work" / "almeval.sqlite")
    assert _overall_wer(store) == wer  # b's 100.0 untouched, a still 0.0
    assert len(store.models()) == 2


def test_two_fake_modes_are_two_models_but_operational_options_are_not(tmp_path):
    write_wav(tmp_path / "d" / "a.wav")
    rows = [
        {"index": i, "audio_path": "a.wav", "question": "q", "answer": f"w{i}", "subset": "s", "meta": {"task": "ASR"}}
        for i in range(4)
    ]
    manifest = write_manifest(tmp_path / "d" / "set.jsonl", rows)
    echo = run(tmp_path, [str(manifest)], model_args={"mode": "echo"})
    const = run(tmp_path, [str(manifest)], model_args={"mode": "constant", "text": "nothing"})
    slow = run(tmp_path, [str(manifest)], model_args={"mode": "echo", "batch_latency": "0.01", "batch_size": "2"})
    assert echo["model_key"] != const["model_key"]
    assert slow["model_key"] == echo["model_key"] and slow["inferred"] == 0
    store = Store(tmp_path / "work" / "almeval.sqlite")
    assert sorted(_overall_wer(store).values()) == [0.0, 100.0]


def test_judge_refuses_an_ambiguous_label_and_takes_a_key_prefix(tmp_path):
    a, b = _replay_file(tmp_path / "a", wrong=False), _replay_file(tmp_path / "b", wrong=True)
    out_a = run(tmp_path, ["demo"], model=f"replay:{a}")
    out_b = run(tmp_path, ["demo"], model=f"replay:{b}")
    work = str(tmp_path / "work")
    refused = cli("judge", "-w", work, "--model", "replay:preds", "--judge", "gpt-4o-mini")
    assert refused.returncode == 2
    err = " ".join(refused.stderr.split())
    assert "names 2 models" in err and out_a["model_key"] in err and out_b["model_key"] in err
    # a key prefix picks one model; demo is scored by rules only, so the judge refuses and writes nothing
    chosen = cli(
        "judge", "-w", work, "--model", out_a["model_key"][:6], "-j", "gpt-4o-mini", "--judge-base-url", "http://x"
    )
    assert chosen.returncode == 2
    err = " ".join(chosen.stderr.split())
    assert f"nothing to judge: replay:preds@{out_a['model_key'][:8]}/demo are scored by rules only" in err


def _quiz(path: Path, n: int) -> Path:
    write_wav(path.parent / "q.wav")
    rows = [
        {"index": i, "audio_path": "q.wav", "question": f"Q{i} (A) x (B) y", "answer": "AB"[i % 2], "subset": "s"}
        for i in range(n)
    ]
    for r in rows:
        r["meta"] = {"task": "MQA"}
    return write_manifest(path, rows)


def test_judge_and_report_count_only_the_manifest_in_force(tmp_path):
    quiz = _quiz(tmp_path / "data" / "quiz.jsonl", 20)
    with FakeOpenAI() as srv:
        jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=2.0)
        opts = EvalOptions(model="fake", data=(str(quiz),), work_dir=tmp_path / "work", judge=jopts)
        first = evaluate(opts)
        assert first["datasets"]["quiz"]["scores"]["judge-default@1:gpt-4o-mini"]["n"] == 20
        _quiz(quiz, 15)  # the manifest shrinks: items 15..19 are dropped
        evaluate(opts)
        out = cli(
            "judge", "-w", str(tmp_path / "work"), "--json", "-j", "gpt-4o-mini", "--judge-base-url", srv.base_url
        )
    assert out.returncode == 0, out.stderr
    judged = json.loads(out.stdout)["datasets"]["fake/quiz"]
    assert judged["not_in_manifest"] == 5
    overall = judged["scores"]["judge-default@1:gpt-4o-mini"]
    assert overall["n"] == 15
    store = Store(tmp_path / "work" / "almeval.sqlite")
    row = next(s for s in store.scores() if s.subset == "" and s.recipe.startswith("judge-default"))
    assert (row.n, row.size, row.complete) == (15, 15, True)
    report = render(store)
    assert "(partial" not in report
    assert "5 stored item(s) are no longer in the manifest in force" in report


def test_a_format_2_store_is_upgraded_and_its_labels_become_legacy_keys(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE items (model TEXT, dataset TEXT, idx TEXT, subset TEXT, pred_key TEXT, status TEXT,"
        " run_id TEXT, updated FLOAT, PRIMARY KEY (model, dataset, idx))"
    )
    con.execute(
        "CREATE TABLE coverage (model TEXT, dataset TEXT, task TEXT, size INTEGER, items INTEGER,"
        " provenance TEXT, run_id TEXT, updated FLOAT, PRIMARY KEY (model, dataset))"
    )
    con.execute("INSERT INTO items VALUES ('sphinx', 'demo', '0', 's', 'k', 'ok', 'r', 0)")
    con.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, model TEXT, datasets TEXT, status TEXT, started FLOAT,"
        " finished FLOAT, options TEXT, summary TEXT)"
    )
    con.execute("INSERT INTO runs VALUES ('r', 'sphinx', '[]', 'done', 0, 1, '{}', '{}')")
    con.execute(
        "INSERT INTO coverage VALUES ('sphinx', 'demo', 'ASR', 1, 1, ?, 'r', 0)",
        [json.dumps({"adapter": {"name": "sphinx", "version": "1"}})],
    )
    con.execute("PRAGMA user_version=2")
    con.commit()
    con.close()
    store = Store(path)
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert ro.execute("PRAGMA user_version").fetchone()[0] == 5
    assert ro.execute("SELECT model FROM items").fetchall() == [("legacy-sphinx",)]
    assert ro.execute("SELECT model, status, owner FROM runs").fetchall() == [("legacy-sphinx", "done", None)]
    assert [(m.key, m.label) for m in store.models()] == [("legacy-sphinx", "sphinx")]
    assert store.display_names() == {"legacy-sphinx": "sphinx"}


def test_cache_prune_model_removes_one_models_stored_results_and_nothing_else(tmp_path):
    a, b = _replay_file(tmp_path / "a", wrong=False), _replay_file(tmp_path / "b", wrong=True)
    out_a = run(tmp_path, ["demo"], model=f"replay:{a}")
    run(tmp_path, ["demo"], model=f"replay:{b}")
    work = str(tmp_path / "work")
    ambiguous = cli("cache", "prune", "-w", work, "--model", "replay:preds")
    assert ambiguous.returncode == 2 and "names 2 stored models" in " ".join(ambiguous.stderr.split())
    gone = cli("cache", "prune", "-w", work, "--model", out_a["model_key"][:8])
    assert gone.returncode == 0 and "removed" in gone.stdout
    store = Store(tmp_path / "work" / "almeval.sqlite")
    assert _overall_wer(store) == {"replay:preds": 100.0}  # only b is left, shown by its plain label again
    again = run(tmp_path, ["demo"], model=f"replay:{a}")  # a comes back from the cache, nothing inferred
    assert again["inferred"] == 0 and again["datasets"]["demo"]["scores"]["asr-default@2"]["wer"] == 0.0
