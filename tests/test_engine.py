"""The core engine end to end with the registered fake model: cache, store, invalidation, limits."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import asr_rows, calls, run, write_manifest, write_wav
from storeview import fetch, one

from almeval.store import Store


def test_second_identical_run_loads_nothing(tmp_path, asr_set):
    log = tmp_path / "calls.jsonl"
    first = run(tmp_path, [str(asr_set)], model_args={"log": str(log), "batch_size": "5"})
    assert (first["items"], first["inferred"], first["model_loaded"]) == (12, 12, True)
    assert [c["event"] for c in calls(log)] == ["init", "generate", "generate", "generate"]  # 5 + 5 + 2
    assert first["datasets"]["set"]["scores"]["asr-default@2"]["wer"] == 0.0  # echo = reference

    log.unlink()
    second = run(tmp_path, [str(asr_set)], model_args={"log": str(log), "batch_size": "5"})
    assert second["inferred"] == 0 and second["inference_cache_hits"] == 12
    assert second["model_loaded"] is False
    assert not log.exists(), "no adapter may be constructed when everything is cached"
    assert second["datasets"]["set"]["scores"] == first["datasets"]["set"]["scores"]
    assert (tmp_path / "work" / "runs" / f"{second['run_id']}.json").is_file()


def test_disk_cache_alone_serves_a_new_work_dir(tmp_path, asr_set):
    run(tmp_path, [str(asr_set)])
    from almeval.runner import EvalOptions, evaluate

    fresh = evaluate(EvalOptions(model="fake", data=(str(asr_set),), work_dir=tmp_path / "other"))
    assert fresh["inferred"] == 0 and fresh["model_loaded"] is False
    store = Store(tmp_path / "other" / "almeval.sqlite")
    assert store.counts()["items"] == 12 and store.counts()["predictions"] == 12
    assert store.check() == []


def test_prompt_change_reinfers_exactly_that_dataset(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    write_manifest(tmp_path / "data" / "one.jsonl", asr_rows(7))
    write_manifest(tmp_path / "data" / "two.jsonl", asr_rows(5, prefix="t"))
    config = tmp_path / "config.yaml"
    config.write_text("DATASETS:\n  datasets:\n    one: data/one.jsonl\n    two: data/two.jsonl\n")
    first = run(tmp_path, ["one", "two"], config=config)
    assert first["inferred"] == 12

    config.write_text(config.read_text() + "PROMPTS:\n  two: 'Write down exactly what is said.'\n")
    log = tmp_path / "calls.jsonl"
    second = run(tmp_path, ["one", "two"], config=config, model_args={"log": str(log)})
    assert second["inferred"] == 5
    assert second["datasets"]["two"]["changed"] == 5 and second["datasets"]["one"]["to_infer"] == 0
    inferred = {i for c in calls(log) for i in c["items"]}
    assert inferred == {f"two/t{i}" for i in range(5)}


def test_prompt_override_for_unknown_dataset_is_an_error(tmp_path, asr_set):
    config = tmp_path / "config.yaml"
    config.write_text("PROMPTS:\n  LibriSpeeh: 'x'\n")
    with pytest.raises(Exception, match="LibriSpeech"):
        run(tmp_path, [str(asr_set)], config=config)


def test_same_bytes_two_paths_share_one_entry_changed_bytes_do_not(tmp_path):
    a = write_wav(tmp_path / "data" / "a.wav")
    (tmp_path / "data" / "copy.wav").write_bytes(a.read_bytes())
    rows = [
        {
            "index": i,
            "audio_path": p,
            "question": "q",
            "answer": "same words",
            "subset": "s",
            "meta": {"task": "ASR", "lang": "en"},
        }
        for i, p in enumerate(["a.wav", "copy.wav"])
    ]
    manifest = write_manifest(tmp_path / "data" / "pair.jsonl", rows)
    first = run(tmp_path, [str(manifest)])
    assert (first["items"], first["inferred"]) == (2, 1)  # one inference serves both paths
    store = Store(tmp_path / "work" / "almeval.sqlite")
    keys = dict(fetch(store, "SELECT idx, pred_key FROM items"))
    assert keys["0"] == keys["1"] and store.counts()["predictions"] == 1

    write_wav(tmp_path / "data" / "copy.wav", freq=880.0)  # new bytes under the same path
    second = run(tmp_path, [str(manifest)])
    assert second["inferred"] == 1 and second["datasets"]["pair"]["changed"] == 1
    keys = dict(fetch(store, "SELECT idx, pred_key FROM items"))
    assert keys["0"] != keys["1"]


def test_audio_is_hashed_once_per_file(tmp_path, asr_set):
    first = run(tmp_path, [str(asr_set)])
    assert first["audio_files_hashed"] == 1  # 12 items, one file
    assert run(tmp_path, [str(asr_set)])["audio_files_hashed"] == 0  # digest memo hit


def test_limit_is_partial_and_reused_item_by_item(tmp_path, asr_set):
    log = tmp_path / "calls.jsonl"
    part = run(tmp_path, [str(asr_set)], limit=5)
    assert part["inferred"] == 5
    store = Store(tmp_path / "work" / "almeval.sqlite")
    row = one(store, "SELECT n, dataset_size, complete FROM scores WHERE subset=''")
    assert row == (5, 12, 0)

    full = run(tmp_path, [str(asr_set)], model_args={"log": str(log)})
    assert (full["inferred"], full["inference_cache_hits"]) == (7, 5)
    assert {i for c in calls(log) for i in c["items"]} == {f"set/{i}" for i in range(5, 12)}
    assert one(store, "SELECT n, dataset_size, complete FROM scores WHERE subset=''") == (12, 12, 1)


def test_failed_items_are_recorded_counted_and_retried(tmp_path, asr_set, kimi_reference):
    first = run(tmp_path, [str(asr_set)], model_args={"fail": "3;4"})
    assert first["failed"] == 2
    scores = first["datasets"]["set"]["scores"]
    # default counts a failed prediction as all deletions; kimi drops it from the denominator
    assert scores["asr-default@2"]["failed"] == 2 and scores["asr-default@2"]["wer"] > 0
    assert scores["asr-kimi@2"]["wer"] == 0.0 and scores["asr-kimi@2"]["n"] == 10
    store = Store(tmp_path / "work" / "almeval.sqlite")
    errors = fetch(store, "SELECT error FROM predictions WHERE status='error'")
    assert len(errors) == 2 and "fake failure" in errors[0][0]

    second = run(tmp_path, [str(asr_set)])  # no failures scripted now: only the two are redone
    assert second["inferred"] == 2 and second["failed"] == 0
    assert second["datasets"]["set"]["scores"]["asr-default@2"]["wer"] == 0.0


def test_store_rows_are_unique_after_many_runs(tmp_path, asr_set):
    for _ in range(3):
        run(tmp_path, [str(asr_set)])
    store = Store(tmp_path / "work" / "almeval.sqlite")
    assert store.counts()["items"] == 12 and store.counts()["runs"] == 3
    assert store.check() == []


def test_whole_batch_exception_fails_only_that_batch(tmp_path, asr_set, monkeypatch):
    from almeval.adapters.fake import FakeAdapter

    original = FakeAdapter.generate

    def flaky(self, requests):
        if any(r.sample.index == "0" for r in requests):
            raise RuntimeError("CUDA out of memory (simulated)")
        return original(self, requests)

    monkeypatch.setattr(FakeAdapter, "generate", flaky)
    out = run(tmp_path, [str(asr_set)], model_args={"batch_size": "4"})
    assert out["failed"] == 4 and out["inferred"] == 12
    store = Store(tmp_path / "work" / "almeval.sqlite")
    assert "CUDA out of memory" in one(store, "SELECT error FROM predictions WHERE status='error'")[0]


def test_store_that_is_not_sqlite_gives_a_store_error(tmp_path, asr_set):
    from almeval.errors import StoreError

    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "almeval.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"almeval\.sqlite"):
        run(tmp_path, [str(asr_set)])


def test_replay_kimi_result_file(tmp_path, asr_set, kimi_reference):
    rows = [json.loads(line) for line in asr_set.read_text().splitlines()]
    for r in rows:
        r["prediction"] = r["answer"]
    rows[0]["prediction"] = "null"  # Kimi-Audio-Evalkit's marker for a missing prediction
    rows[1]["prediction"] = "sentence numbers 1"  # "numbers" is 1 substitution of 3 words
    result = write_manifest(tmp_path / "Kimi-Audio_set.jsonl", rows)
    out = run(tmp_path, [str(asr_set)], model=f"replay:{result}")
    scores = out["datasets"]["set"]["scores"]
    assert out["model"] == "replay:Kimi-Audio_set" and out["failed"] == 1
    # kimi drops the null: 11 items, 3 words each → 33 words, 1 error; default adds 3 deletions of 36 words
    assert scores["asr-kimi@2"]["wer"] == round(100 * 1 / 33, 2)
    assert scores["asr-default@2"]["wer"] == round(100 * 4 / 36, 2)


def test_sqlite_file_is_real_and_wal(tmp_path, asr_set):
    run(tmp_path, [str(asr_set)])
    con = sqlite3.connect(tmp_path / "work" / "almeval.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT count(*) FROM samples").fetchone()[0] == 12
