"""Several processes (one per GPU) sharing one store split the work by claiming keys; a restart with
a different process count loses nothing and redoes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import asr_rows, calls, write_manifest, write_wav

from almeval.store import Store

N = 96


def _start(manifest, work, log, latency=0.05):
    cmd = [
        sys.executable,
        "-m",
        "almeval",
        "eval",
        "--model",
        "fake",
        "--data",
        str(manifest),
        "--work-dir",
        str(work),
        "-q",
        "-a",
        f"log={log}",
        "-a",
        f"batch_latency={latency}",
        "-a",
        "batch_size=4",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


def _inferred(log):
    return [i for c in calls(log) for i in c["items"]]


def test_two_processes_split_the_work_without_overlap(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(N))
    work = tmp_path / "work"
    logs = [tmp_path / "gpu0.jsonl", tmp_path / "gpu1.jsonl"]
    procs = [_start(manifest, work, log, latency=0.25) for log in logs]  # ~6 s of work: both get a share
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    a, b = (_inferred(log) for log in logs)
    assert a and b, "both processes must have taken part"
    assert not set(a) & set(b) and len(a) + len(b) == N  # every item inferred exactly once
    store = Store(work / "almeval.sqlite")
    assert store.counts()["items"] == N and store.check() == []
    assert store.db.execute("SELECT count(*) FROM claims").fetchone()[0] == 0  # released


def test_kill_one_of_two_then_one_process_finishes(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(N))
    work = tmp_path / "work"
    logs = [tmp_path / "gpu0.jsonl", tmp_path / "gpu1.jsonl", tmp_path / "restart.jsonl"]
    procs = [_start(manifest, work, log, latency=0.15) for log in logs[:2]]
    deadline = time.time() + 60
    while len(_inferred(logs[0])) < 12 and time.time() < deadline:
        time.sleep(0.05)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    procs[1].communicate(timeout=120)
    store = Store(work / "almeval.sqlite")
    done = {f"set/{i}" for (i,) in store.db.execute("SELECT idx FROM items").fetchall()}
    assert len(done) < N, "the killed process's claimed keys are not done yet"

    restart = _start(manifest, work, logs[2], latency=0.0)  # one process now
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err.decode()
    redone = set(_inferred(logs[2]))
    assert redone.isdisjoint(done) and redone | done == {f"set/{i}" for i in range(N)}
    assert store.counts()["items"] == N and store.check() == []
