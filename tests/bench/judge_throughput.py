"""Judge throughput against a rate-limited loopback server, and the client transport, in one run.

    python tests/bench/judge_throughput.py [--calls 2000] [--rpm 600] [--latency 0.2] [--transport-calls 3000]
                                           [--end-to-end 10000]

0. End to end: `almeval eval` on a replay model, N judged items, a zero-latency server with no limit,
   judge concurrency 128, cache and store writes included, against a bare aiohttp client POSTing the
   same bodies to the same server in the same run: calls/s of each and their ratio (goal >= 0.35).

1. The server allows `rpm` requests per 60-s sliding window (429 + Retry-After past it) and answers
   after `latency` s. almeval's judge stage (limiter at the same RPM, retries) sends `calls` distinct
   judge calls: achieved RPM / limit (target >= 0.95) and the share of 429s (target < 1%).
2. The openai client's two transports (httpx default vs aiohttp) at 64 concurrent calls against the
   same server with no limit and no latency: requests/s, the client's CPU ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from almeval.cache import Memo
from almeval.endpoint.client import Endpoint
from almeval.endpoint.limiter import Limits
from almeval.judges import JudgeSpec, JudgeStage, Wiring
from almeval.judges.templates import load_templates
from almeval.judging import run_judged
from almeval.store import Store
from almeval.values import DatasetInfo, Prediction, Sample


@contextmanager
def server(*args: str) -> Iterator[str]:
    """The loopback server in its own process; yields its base URL."""
    script = Path(__file__).resolve().parent.parent / "openai_server.py"
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def stats(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/stats") as resp:
        return json.load(resp)


def _pairs(n: int) -> list[tuple[Sample, Prediction]]:
    return [
        (
            Sample(
                dataset="bench",
                subset="s",
                index=str(i),
                audio=(),
                question=f"Question {i}? (A) x (B) y",
                answer="A",
                task="MQA",
            ),
            Prediction(f"p{i}", "A" if i % 3 else "B"),
        )
        for i in range(n)
    ]


async def _judge_all(url: str, n: int, limits: Limits, transport: str, tmp: Path) -> tuple[float, JudgeStage]:
    endpoint = Endpoint(model="gpt-4o-mini", base_url=url, timeout_s=30, limits=limits, transport=transport)
    wiring = Wiring.load(load_templates(), {}, [DatasetInfo("bench", "MQA")])
    stage = JudgeStage(
        [JudgeSpec("gpt-4o-mini", endpoint)],
        wiring,
        Store(tmp / "store.sqlite"),
        Memo(tmp / "cache"),
        "bench-model",
        "bench",
    )
    t0 = time.perf_counter()
    await run_judged(stage, _pairs(n))
    return time.perf_counter() - t0, stage


def throughput(calls: int, rpm: float, latency: float) -> None:
    with server("--limit", str(int(rpm)), "--latency", str(latency)) as base, tempfile.TemporaryDirectory() as tmp:
        wall, stage = asyncio.run(
            _judge_all(f"{base}/v1", calls, Limits(concurrency=64, rpm=rpm, tpm=10**9), "aiohttp", Path(tmp))
        )
        st = stats(base)
    achieved = calls / wall * 60
    share = st["throttled"] / st["requests"]
    print(
        f"{calls} judge calls, server limit {rpm:.0f} RPM (60-s sliding window), latency {latency}s: wall {wall:.1f}s"
    )
    print(f"  achieved {achieved:.1f} RPM, achieved / limit = {achieved / rpm:.3f} (target >= 0.95)")
    print(
        f"  429s: {st['throttled']} of {st['requests']} requests = {100 * share:.2f}% (target < 1%)"
        f"; judged {stage.counters.judged}, errors {stage.counters.errors}"
    )


def transports(calls: int) -> None:
    for transport in ("httpx", "aiohttp"):
        with server() as base, tempfile.TemporaryDirectory() as tmp:
            wall, _ = asyncio.run(
                _judge_all(f"{base}/v1", calls, Limits(concurrency=64, rpm=0, tpm=0), transport, Path(tmp))
            )
            print(f"transport {transport:<8} {calls} calls at concurrency 64, no limit: {calls / wall:7.1f} req/s")


def bare_client(url: str, bodies: list[bytes], concurrency: int) -> float:
    """The wire's limit here: a bare aiohttp client POSTing the same bodies at the same concurrency (no
    limiter, retries, cache or store). Calls per second."""
    import aiohttp

    async def run() -> float:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for b in bodies:
            queue.put_nowait(b)
        headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    async with session.post(f"{url}/chat/completions", data=body, headers=headers) as resp:
                        json.loads(await resp.read())

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return len(bodies) / (time.perf_counter() - t0)

    return asyncio.run(run())


def end_to_end(items: int, concurrency: int = 128, repeats: int = 3) -> None:
    """`almeval eval` on a replay model with `items` judged items (MQA template), a zero-latency server
    with no limit, judge concurrency 128, cache and store writes included — against the bare client on
    the same server, in one run. Both are measured `repeats` times, interleaved (bare, almeval, bare, …;
    each almeval run with a fresh work dir and disk cache), and the medians compared: one sample of each
    moves by ±10% on a shared 2-core machine."""
    import statistics

    with server() as base, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        import numpy as np
        import soundfile as sf

        (root / "data").mkdir()
        sf.write(root / "data" / "a.wav", np.zeros(1600, dtype=np.float32), 16000)
        rows = [
            {"index": i, "audio_path": "a.wav", "question": f"Question {i}? (A) x (B) y", "answer": "A"}
            | {"subset": "s", "meta": {"task": "MQA"}}
            for i in range(items)
        ]
        (root / "data" / "mqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        preds = "".join(json.dumps({"index": i, "prediction": "A" if i % 3 else "B"}) + "\n" for i in range(items))
        (root / "preds.jsonl").write_text(preds)
        template = load_templates()["mcq-yesno"]
        bodies = [
            json.dumps({"model": "gpt-4o-mini", "messages": template.messages(s, p.text), **template.params}).encode()
            for s, p in _pairs(items)
        ]
        bare, mine = [], []
        for rep in range(repeats):
            bare.append(bare_client(f"{base}/v1", bodies, concurrency))
            cmd = [sys.executable, "-m", "almeval", "eval", "--model", f"replay:{root / 'preds.jsonl'}", "--json", "-q"]
            cmd += ["--data", str(root / "data" / "mqa.jsonl"), "--work-dir", str(root / f"w{rep}")]
            cmd += ["--judge", "gpt-4o-mini", "--judge-base-url", f"{base}/v1"]
            cmd += ["--judge-concurrency", str(concurrency), "--judge-rpm", "0", "--judge-tpm", "0"]
            env = {**os.environ, "ALMEVAL_CACHE_DIR": str(root / f"cache{rep}"), "OPENAI_API_KEY": "x"}
            # as an installed almeval runs: its modules' bytecode cached (a sandbox that sets this variable
            # would have every run compile the modules it imports, ~0.1 s of each run here)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            t0 = time.perf_counter()
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
            process = time.perf_counter() - t0
            mine.append(out["judged"] / out["wall_s"])
            print(
                f"  run {rep + 1}: almeval {out['judged']} judged items in {out['wall_s']:.2f} s "
                f"({process:.2f} s with process start) = {mine[-1]:.0f} calls/s; "
                f"bare aiohttp client {bare[-1]:.0f} calls/s"
            )
        m, b = statistics.median(mine), statistics.median(bare)
        print(
            f"end to end, median of {repeats}: almeval {m:.0f} calls/s; bare aiohttp client {b:.0f} calls/s; "
            f"ratio {m / b:.2f} (goal >= 0.35)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rpm", type=float, default=600)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--transport-calls", type=int, default=3000)
    ap.add_argument("--end-to-end", type=int, default=10000, help="judged items of the end-to-end run (0: skip)")
    ap.add_argument("--repeats", type=int, default=3, help="end-to-end runs of each side, interleaved (median)")
    a = ap.parse_args()
    if a.end_to_end:
        end_to_end(a.end_to_end, repeats=a.repeats)
    if a.transport_calls:
        transports(a.transport_calls)
    if a.calls:
        throughput(a.calls, a.rpm, a.latency)


if __name__ == "__main__":
    main()
