"""Several processes (one per GPU) sharing one store split the work by claiming keys; a restart with
a different process count loses nothing and redoes nothing."""

from __future__ import annotations

import signal
import time

from conftest import asr_rows, calls, start_fake_eval, write_manifest, write_wav
from storeview import fetch, one

from almeval.store import Store

N = 96


def _inferred(log):
    return [i for c in calls(log) for i in c["items"]]


def test_two_processes_split_the_work_without_overlap(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(N))
    work = tmp_path / "work"
    logs = [tmp_path / "gpu0.jsonl", tmp_path / "gpu1.jsonl"]
    procs = [start_fake_eval(manifest, work, log, latency=0.25) for log in logs]  # ~6 s of work: both get a share
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    a, b = (_inferred(log) for log in logs)
    assert a and b, "both processes must have taken part"
    assert not set(a) & set(b) and len(a) + len(b) == N  # every item inferred exactly once
    store = Store(work / "almeval.sqlite")
    assert store.counts()["items"] == N and store.check() == []
    assert one(store, "SELECT count(*) FROM claims")[0] == 0  # released


def test_kill_one_of_two_then_one_process_finishes(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(N))
    work = tmp_path / "work"
    logs = [tmp_path / "gpu0.jsonl", tmp_path / "gpu1.jsonl", tmp_path / "restart.jsonl"]
    procs = [start_fake_eval(manifest, work, log, latency=0.15) for log in logs[:2]]
    deadline = time.time() + 60
    while len(_inferred(logs[0])) < 12 and time.time() < deadline:
        time.sleep(0.05)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    procs[1].communicate(timeout=120)
    store = Store(work / "almeval.sqlite")
    done = {f"set/{i}" for (i,) in fetch(store, "SELECT idx FROM items")}

    restart = start_fake_eval(manifest, work, logs[2], latency=0.0)  # one process now
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err.decode()
    redone = set(_inferred(logs[2]))
    assert redone.isdisjoint(done) and redone | done == {f"set/{i}" for i in range(N)}
    assert store.counts()["items"] == N and store.check() == []


def test_claims_of_a_dead_process_are_reaped_and_its_keys_inferred(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(8))
    from almeval.runner import EvalOptions, evaluate

    plan_only = evaluate(EvalOptions(model="fake", data=(str(manifest),), work_dir=tmp_path / "w", limit=1))
    assert plan_only["inferred"] == 1
    store = Store(tmp_path / "w" / "almeval.sqlite")
    keys = [k for (k,) in fetch(store, "SELECT pred_key FROM items")]
    # a process on this host that no longer exists holds a claim; one on another host holds a fresh one
    import socket

    dead = f"{socket.gethostname()}:999999999:old-run"
    assert store.claim(["k-dead"], dead, stale_s=600) == ["k-dead"]
    assert store.claim(["k-other"], "elsewhere:1:run", stale_s=600) == ["k-other"]
    assert store.claim(keys, "x:1:y", stale_s=600) == []  # already predicted: never claimed again
    assert store.reap(socket.gethostname(), lambda pid: pid != 999999999) == 1
    owners = dict(fetch(store, "SELECT key, owner FROM claims"))
    assert owners == {"k-other": "elsewhere:1:run"}
    assert store.claim(["k-other"], "me:2:run", stale_s=0) == ["k-other"]  # stale claims are taken over
