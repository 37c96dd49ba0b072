"""The micro-batcher flushes on size, on its deadline, on a params change and at end of input."""

from __future__ import annotations

import asyncio
import time

from almeval.batching import MicroBatcher
from almeval.values import Request, Sample


def _r(i: int, params: dict | None = None) -> Request:
    s = Sample(dataset="d", subset="s", index=str(i), audio=(), question="", answer="")
    return Request(key=str(i), sample=s, prompt="", params=params or {})


async def test_flushes_on_size_and_end():
    q: asyncio.Queue = asyncio.Queue()
    for i in range(5):
        q.put_nowait(_r(i))
    q.put_nowait(None)
    b = MicroBatcher(q, size=2, deadline_s=10)
    sizes = []
    while (batch := await b.next()) is not None:
        sizes.append(len(batch))
    assert sizes == [2, 2, 1]


async def test_flushes_on_deadline_without_polling():
    q: asyncio.Queue = asyncio.Queue()
    b = MicroBatcher(q, size=8, deadline_s=0.05)
    q.put_nowait(_r(0))
    q.put_nowait(_r(1))
    t0 = time.monotonic()
    batch = await b.next()
    waited = time.monotonic() - t0
    assert [r.key for r in batch] == ["0", "1"]
    assert 0.04 <= waited < 1.0


async def test_late_item_joins_before_deadline():
    q: asyncio.Queue = asyncio.Queue()
    b = MicroBatcher(q, size=2, deadline_s=5)
    q.put_nowait(_r(0))
    asyncio.get_running_loop().call_later(0.02, q.put_nowait, _r(1))
    t0 = time.monotonic()
    assert [r.key for r in await b.next()] == ["0", "1"]
    assert time.monotonic() - t0 < 1.0  # woken by the put, not by the 5 s deadline


async def test_params_change_starts_a_new_batch():
    q: asyncio.Queue = asyncio.Queue()
    for i, p in enumerate([{"t": 0}, {"t": 0}, {"t": 1}, {"t": 1}]):
        q.put_nowait(_r(i, p))
    q.put_nowait(None)
    b = MicroBatcher(q, size=8, deadline_s=10)
    assert [r.key for r in await b.next()] == ["0", "1"]
    assert [r.key for r in await b.next()] == ["2", "3"]
    assert await b.next() is None
