"""Scheduler overhead, cached-rerun cost and memory, measured in one run with the fake model.

    python tests/bench/rerun.py [--items 10000] [--batch-latency 0.1] [--batch-size 32] [--rss-items 100000]

1. First run of an N-item ASR manifest, the fake model sleeping `batch-latency` per batch (as a GPU
   would, outside the GIL): wall time vs the adapter's own total latency → scheduler overhead.
2. The identical rerun, fully cached, timed as a whole process (interpreter start included).
3. Peak RSS of a first run over a 100,000-item manifest (batch latency 0).
Each run is a fresh `almeval eval` process with its own work dir and disk cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from helpers import fake_eval_cmd


def make_manifest(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sr = 16000
    for k in range(4):  # a few real files, varied lengths; the digest memo hashes each once
        t = np.arange(int(sr * (1 + k))) / sr
        sf.write(root / f"a{k}.wav", (0.2 * np.sin(2 * np.pi * 300 * (k + 1) * t)).astype(np.float32), sr)
    path = root / "bench.jsonl"
    with path.open("w") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "index": i,
                        "audio_path": f"a{i % 4}.wav",
                        "question": "transcribe",
                        "answer": f"item {i} says the quick brown fox",
                        "subset": f"s{i % 3}",
                        "meta": {"task": "ASR", "lang": "en"},
                    }
                )
                + "\n"
            )
    return path


def run_eval(manifest: Path, work: Path, cache: Path, args: list[str]) -> tuple[dict, float, float]:
    cmd = fake_eval_cmd(manifest, work, "--json", *args)
    env = {**os.environ, "ALMEVAL_CACHE_DIR": str(cache)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"almeval failed:\n{err.read().decode()}")
        out.seek(0)
        return json.loads(out.read()), wall, rusage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--batch-latency", type=float, default=0.1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rss-items", type=int, default=100_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = make_manifest(root / "data", a.items)
        fake = ["-a", f"batch_latency={a.batch_latency}", "-a", f"batch_size={a.batch_size}"]
        first, first_proc, _ = run_eval(manifest, root / "w1", root / "c1", fake)
        again, rerun_proc, rerun_rss = run_eval(manifest, root / "w1", root / "c1", fake)
        assert again["inferred"] == 0 and not again["model_loaded"], again
        latency = first["batches"] * a.batch_latency
        print(f"first run ({a.items} items, {first['batches']} batches x {a.batch_latency}s):")
        print(
            f"  adapter latency (nominal)   {latency:8.2f} s   (measured inside generate: {first['adapter_s']:.2f} s)"
        )
        print(f"  eval wall (in process)      {first['wall_s']:8.2f} s   process wall {first_proc:.2f} s")
        print(f"  overhead / adapter latency  {(first['wall_s'] - latency) / latency:8.3f}     (target <= 0.10)")
        print(
            f"cached rerun: process wall    {rerun_proc:8.2f} s   (target <= 3 s); in process {again['wall_s']:.2f} s;"
            f" rerun / first = {rerun_proc / first_proc:.4f}; peak RSS {rerun_rss:.0f} MB"
        )
        if a.rss_items:
            big = make_manifest(root / "big", a.rss_items)
            summary, wall, rss = run_eval(big, root / "w2", root / "c2", ["-a", "batch_size=64"])
            print(
                f"{a.rss_items} items, first run: peak RSS {rss:8.0f} MB (target <= 200)   wall {wall:.1f} s "
                f"({summary['inferred']} inferred)"
            )


if __name__ == "__main__":
    main()
