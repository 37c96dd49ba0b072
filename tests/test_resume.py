"""kill -9 in the middle of a run, then rerun: nothing completed is redone, no row is duplicated."""

from __future__ import annotations

import json
import signal
import time

from conftest import asr_rows, calls, cli, start_fake_eval, write_manifest, write_wav
from storeview import fetch, one

from almeval.store import Store


def test_kill_9_then_resume(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(80))
    work, log1, log2 = tmp_path / "work", tmp_path / "run1.jsonl", tmp_path / "run2.jsonl"

    proc = start_fake_eval(manifest, work, log1, latency=0.1)
    deadline = time.time() + 60
    while sum(c["event"] == "generate" for c in calls(log1)) < 6 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = Store(work / "almeval.sqlite")
    done_before = {f"set/{i}" for (i,) in fetch(store, "SELECT idx FROM items WHERE status='ok'")}
    assert 0 < len(done_before) < 80, "the kill must land mid-run"
    assert store.check() == []

    proc = start_fake_eval(manifest, work, log2, latency=0.0)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    redone = {i for c in calls(log2) for i in c["items"]}
    assert redone.isdisjoint(done_before), "items completed before the kill were inferred again"
    assert redone | done_before == {f"set/{i}" for i in range(80)}
    assert one(store, "SELECT count(*), count(DISTINCT idx) FROM items") == (80, 80)
    assert store.counts()["predictions"] == 80
    assert store.check() == []
    statuses = dict(fetch(store, "SELECT status, count(*) FROM runs GROUP BY status"))
    assert statuses == {"interrupted": 1, "done": 1}  # the next run found the killed one's process gone


def test_a_format_1_store_is_upgraded_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)  # the format-1 predictions table: no params column
    con.execute(
        "CREATE TABLE predictions (key TEXT PRIMARY KEY, text TEXT, status TEXT, error TEXT, latency_s FLOAT,"
        " adapter TEXT, run_id TEXT, created FLOAT)"
    )
    con.execute("INSERT INTO predictions VALUES ('k', 'hello', 'ok', '', 0.1, '{}', 'r', 0)")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    store = Store(path)
    assert one(store, "PRAGMA user_version")[0] == 5  # 1 → 2 → 3 → 4 → 5
    assert fetch(store, "SELECT text, params FROM predictions") == [("hello", None)]
    assert store.check() == []


def test_almeval_runs_shows_a_killed_run_as_interrupted(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(40))
    work = tmp_path / "work"
    proc = start_fake_eval(manifest, work, tmp_path / "log.jsonl", latency=0.2)
    deadline = time.time() + 60
    while not (work / "almeval.sqlite").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out = cli("runs", "-w", str(work), "--json")
    assert out.returncode == 0, out.stderr
    assert [r["status"] for r in json.loads(out.stdout)] == ["interrupted"]
