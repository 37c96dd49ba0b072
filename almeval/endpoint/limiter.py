"""One limiter per endpoint (C6): a concurrency cap, requests/min and tokens/min buckets.

Built on aiolimiter (leaky buckets whose waiters are woken by loop timers, never polled). Tokens are
estimated before a call and corrected from `usage` after it: an under-estimate is charged to the
bucket afterwards, so later calls wait for it. A 429 with Retry-After pauses the whole endpoint, not
just the call that got it. Create it inside the running loop (the scheduler owns it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

REQUEST_WINDOW_S = 1.0  # the request bucket refills smoothly; its burst is one second's worth
HEADROOM = 0.98  # stay just under the server's RPM so its window edges never see a burst over the limit


@dataclass(frozen=True)
class Limits:
    concurrency: int = 32
    rpm: float = 500.0
    tpm: float = 200_000.0


class EndpointLimiter:
    def __init__(self, limits: Limits):
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.concurrency)
        rate = limits.rpm * HEADROOM / 60.0
        burst = max(1.0, rate * REQUEST_WINDOW_S)
        self._requests = AsyncLimiter(burst, burst / rate) if rate > 0 else None
        self._tokens = AsyncLimiter(limits.tpm, 60.0) if limits.tpm > 0 else None
        self._resume_at = 0.0
        self.throttled = 0  # times the server paused us (429)

    @asynccontextmanager
    async def slot(self, est_tokens: int) -> AsyncIterator[None]:
        """Hold a concurrency slot, a request token and `est_tokens` of the token bucket."""
        await self._wait_pause()
        async with self._slots:
            if self._requests is not None:
                await self._requests.acquire()
            if self._tokens is not None:
                await self._tokens.acquire(self._clamp(est_tokens))
            await self._wait_pause()
            yield

    def correct(self, est_tokens: int, used_tokens: int) -> None:
        """Charge what the call used beyond the estimate (in the background: the caller need not wait)."""
        extra = used_tokens - est_tokens
        if extra > 0 and self._tokens is not None:
            task = asyncio.get_running_loop().create_task(self._tokens.acquire(self._clamp(extra)))
            task.add_done_callback(lambda t: t.exception())

    def pause(self, seconds: float) -> None:
        """The server said 'retry after': hold every new call on this endpoint until then."""
        self.throttled += 1
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    async def _wait_pause(self) -> None:
        while (delay := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(delay)  # one timer per pause, not a poll

    def _clamp(self, tokens: int) -> float:
        return float(min(max(tokens, 1), self.limits.tpm))
