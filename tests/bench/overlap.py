"""Does judging overlap inference? One run, three measurements, fresh work dir and cache each:

    python tests/bench/overlap.py [--items 640] [--batch-size 32] [--batch-latency 0.5] [--judge-latency 0.5]
                            [--judge-concurrency 32]

  inference alone   almeval eval --skip-judge (fake model sleeping batch-latency per batch, like a GPU)
  judge alone       almeval judge over those stored predictions (loopback server, judge-latency per call)
  both              almeval eval with --judge: predictions stream to the judge as batches land
Prints both / max(inference alone, judge alone) (target <= 1.1) and the sequential sum for comparison.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judge_throughput import server


def manifest(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    sf.write(root / "q.wav", (0.1 * np.sin(np.arange(16000) / 10)).astype(np.float32), 16000)
    path = root / "quiz.jsonl"
    with path.open("w") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "index": i,
                        "audio_path": "q.wav",
                        "question": f"Question {i}? (A) x (B) y (C) z",
                        "answer": "ABC"[i % 3],
                        "subset": "s",
                        "meta": {"task": "MQA"},
                    }
                )
                + "\n"
            )
    return path


def timed(args: list[str], cache: Path) -> tuple[float, dict]:
    env = {**os.environ, "ALMEVAL_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "almeval", *args, "--json", "-q"], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return wall, json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=640)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--batch-latency", type=float, default=0.5)
    ap.add_argument("--judge-latency", type=float, default=0.5)
    ap.add_argument("--judge-concurrency", type=int, default=32)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, server("--latency", str(a.judge_latency)) as base:
        root = Path(tmp)
        data = manifest(root / "data", a.items)
        model = [
            "eval",
            "-m",
            "fake",
            "-d",
            str(data),
            "-a",
            f"batch_size={a.batch_size}",
            "-a",
            f"batch_latency={a.batch_latency}",
        ]
        judge = [
            "--judge",
            "gpt-4o-mini",
            "--judge-base-url",
            f"{base}/v1",
            "--judge-concurrency",
            str(a.judge_concurrency),
            "--judge-rpm",
            "100000",
            "--judge-tpm",
            "1e9",
        ]
        infer_s, _ = timed([*model, "-w", str(root / "w1"), "--skip-judge"], root / "c1")
        judge_s, js = timed(["judge", "-w", str(root / "w1"), *judge], root / "c1")
        both_s, bs = timed([*model, "-w", str(root / "w2"), *judge], root / "c2")
    assert js["judged"] == a.items and bs["judged"] == a.items, (js["judged"], bs["judged"])
    print(
        f"{a.items} items; batches of {a.batch_size} at {a.batch_latency}s; judge {a.judge_latency}s per call, "
        f"{a.judge_concurrency} concurrent (process wall times, interpreter start included)"
    )
    print(f"  inference alone {infer_s:7.2f} s")
    print(f"  judge alone     {judge_s:7.2f} s")
    print(f"  both, streamed  {both_s:7.2f} s   sequential sum would be {infer_s + judge_s:.2f} s")
    print(
        f"  both / max(alone) = {both_s / max(infer_s, judge_s):.3f} (target <= 1.1); "
        f"both / sum = {both_s / (infer_s + judge_s):.3f}"
    )


if __name__ == "__main__":
    main()
