"""Throughput of one run over N OpenAI-compatible replicas of a model, N = 1, 2, 4, 8, in one go.

    python tests/bench/replicas.py [--latency 0.5] [--per-server 4] [--items-per-server 40]

Each replica is a loopback server in its own process that answers after `latency` s and serves at most
`per-server` requests at once (a saturated vLLM replica, in miniature). `almeval eval --model openai:m
-a base_url=U1,…,UN -a concurrency=<per-server>` runs `items-per-server`·N distinct items (each its own
WAV). Prints items/s per N and the ratio to N × the one-server figure (goal ≥ 0.8 up to 8).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_throughput import server


def manifest(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sr = 16000
    rows = []
    for i in range(n):
        t = np.arange(int(sr * 0.1)) / sr
        sf.write(root / f"a{i}.wav", (0.1 * np.sin(2 * np.pi * (200 + i) * t)).astype(np.float32), sr)
        rows.append(
            {"index": i, "audio_path": f"a{i}.wav", "question": "", "answer": "x", "subset": "s"}
            | {"meta": {"task": "ASR", "lang": "en"}}
        )
    path = root / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--per-server", type=int, default=4)
    ap.add_argument("--items-per-server", type=int, default=40)
    a = ap.parse_args()
    base = None
    for n in (1, 2, 4, 8):
        with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
            root = Path(tmp)
            args = ("--latency", str(a.latency), "--max-concurrent", str(a.per_server))
            urls = [stack.enter_context(server(*args)) + "/v1" for _ in range(n)]
            data = manifest(root / "data", a.items_per_server * n)
            cmd = [sys.executable, "-m", "almeval", "eval", "--model", "openai:m", "--data", str(data), "--json", "-q"]
            cmd += [
                "--work-dir",
                str(root / "w"),
                "-a",
                f"base_url={','.join(urls)}",
                "-a",
                f"concurrency={a.per_server}",
            ]
            env = {**os.environ, "ALMEVAL_CACHE_DIR": str(root / "cache")}
            t0 = time.perf_counter()
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
            wall = time.perf_counter() - t0
            rate = out["inferred"] / out["wall_s"]
            base = base or rate
            print(
                f"N={n}: {out['inferred']} items in {out['wall_s']:.2f} s (process {wall:.2f} s): {rate:.1f} items/s, "
                f"{rate / (n * base):.2f} × N·(one server)"
            )


if __name__ == "__main__":
    main()
