"""The endpoint limiter: request and token buckets that wake waiters on timers; 4xx not retried."""

from __future__ import annotations

import asyncio
import time

from conftest import write_manifest, write_wav
from openai_server import FakeOpenAI

from almeval.endpoint.limiter import EndpointLimiter, Limits
from almeval.judges import JudgeOptions
from almeval.runner import EvalOptions, evaluate


async def test_request_bucket_paces_calls():
    limiter = EndpointLimiter(Limits(concurrency=10, rpm=120 / 0.98, tpm=0))  # 2 requests/s after headroom
    t0 = time.monotonic()
    for _ in range(6):
        async with limiter.slot(1):
            pass
    # a burst of 2, then 4 more at 2/s: about 2 s
    assert 1.5 <= time.monotonic() - t0 < 4


async def test_token_bucket_is_corrected_from_usage():
    limiter = EndpointLimiter(Limits(concurrency=10, rpm=0, tpm=600))  # 600 tokens a minute = 10/s
    async with limiter.slot(590):  # estimated 590 …
        pass
    limiter.correct(590, 600)  # … the call used 600: the bucket is charged 10 more
    await asyncio.sleep(0)
    t0 = time.monotonic()
    async with limiter.slot(20):  # must wait for 20 tokens to drain at 10/s
        pass
    assert 1.5 <= time.monotonic() - t0 < 4


async def test_pause_holds_every_caller_until_retry_after():
    limiter = EndpointLimiter(Limits(concurrency=10, rpm=0, tpm=0))
    limiter.pause(0.3)
    t0 = time.monotonic()
    await asyncio.gather(*(_enter(limiter) for _ in range(5)))
    assert time.monotonic() - t0 >= 0.29 and limiter.throttled == 1


async def _enter(limiter: EndpointLimiter) -> None:
    async with limiter.slot(1):
        pass


def test_a_4xx_is_not_retried(tmp_path):
    write_wav(tmp_path / "q.wav")
    rows = [
        {"index": i, "audio_path": "q.wav", "question": "q", "answer": "A", "subset": "s", "meta": {"task": "MQA"}}
        for i in range(3)
    ]
    manifest = write_manifest(tmp_path / "quiz.jsonl", rows)
    with FakeOpenAI() as srv:
        out = evaluate(
            EvalOptions(
                model="fake",
                data=(str(manifest),),
                work_dir=tmp_path / "w",
                judge=JudgeOptions(judges=("bad-request",), base_url=srv.base_url, timeout_s=1),
            )
        )
        assert srv.stats.requests == 3  # one attempt each
    assert out["judge_errors"] == 3
