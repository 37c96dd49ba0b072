"""One limiter per endpoint (C6): a concurrency cap, requests/min and tokens/min buckets.

Built on aiolimiter (leaky buckets whose waiters are woken by loop timers, never polled). Tokens are
estimated before a call and corrected from `usage` after it: an under-estimate is charged to the
bucket afterwards, so later calls wait for it. A 429 with Retry-After pauses the whole endpoint, not
just the call that got it, and the endpoint's rate adapts (AIMD): each burst of 429s halves the rate
the calls are paced at, every success raises it again by a small step up to the configured RPM, so a
`--judge-rpm` set above what the server allows converges to what it does allow instead of exhausting
retries. Create it inside the running loop (the scheduler owns it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

DECREASE = 0.5  # multiplicative decrease of the pace on a 429
INCREASE = 0.02  # additive increase of the pace (share of the configured rate) per successful call
FLOOR = 0.01  # the pace never drops below 1 % of the configured rate
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
        self.pace = 1.0  # share of the configured rate currently used (AIMD)
        self._next_at = 0.0  # when paced, the next call's earliest start
        self._last_cut = 0.0

    def slot(self, est_tokens: int) -> _Slot:
        """`async with`: hold a concurrency slot, a request token and `est_tokens` of the token bucket."""
        return _Slot(self, est_tokens)

    async def _enter(self, est_tokens: int) -> None:
        if self._resume_at > time.monotonic():
            await self._wait_pause()
        await self._slots.acquire()
        try:
            if self._requests is not None:
                await self._requests.acquire()
            if self.pace < 1.0:
                await self._paced()
            if self._tokens is not None:
                await self._tokens.acquire(self._clamp(est_tokens))
            if self._resume_at > time.monotonic():
                await self._wait_pause()
        except BaseException:
            self._slots.release()
            raise

    def correct(self, est_tokens: int, used_tokens: int) -> None:
        """Charge what the call used beyond the estimate (in the background: the caller need not wait)."""
        extra = used_tokens - est_tokens
        if extra > 0 and self._tokens is not None:
            task = asyncio.get_running_loop().create_task(self._tokens.acquire(self._clamp(extra)))
            task.add_done_callback(lambda t: t.exception())

    def pause(self, seconds: float) -> None:
        """The server said 'retry after': hold every new call on this endpoint until then, and slow down.
        The 429s of one burst (calls that were already in flight) halve the pace once."""
        now = time.monotonic()
        self.throttled += 1
        self._resume_at = max(self._resume_at, now + seconds)
        if now - self._last_cut > max(seconds, REQUEST_WINDOW_S):
            self.pace = max(FLOOR, self.pace * DECREASE)
            self._last_cut = now

    def succeeded(self) -> None:
        """A call went through: raise the pace by a small step, back towards the configured rate."""
        self.pace = min(1.0, self.pace + INCREASE)

    async def _paced(self) -> None:
        """Below full pace, calls start at least 1 / (pace × rate) apart (no burst after a pause)."""
        if self.pace >= 1.0 or self.limits.rpm <= 0:
            return
        now = time.monotonic()
        start = max(now, self._next_at)
        self._next_at = start + 60.0 / (self.limits.rpm * HEADROOM * self.pace)
        if start > now:
            await asyncio.sleep(start - now)

    async def _wait_pause(self) -> None:
        while (delay := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(delay)  # one timer per pause, not a poll

    def _clamp(self, tokens: int) -> float:
        return float(min(max(tokens, 1), self.limits.tpm))


class _Slot:
    """The limiter's hold on one call (a plain async context manager: at thousands of calls a second,
    a generator-based one costs more than the waits it wraps when none is needed)."""

    __slots__ = ("est_tokens", "limiter")

    def __init__(self, limiter: EndpointLimiter, est_tokens: int):
        self.limiter, self.est_tokens = limiter, est_tokens

    async def __aenter__(self) -> None:
        await self.limiter._enter(self.est_tokens)

    async def __aexit__(self, *exc: object) -> None:
        self.limiter._slots.release()


def throttled(limiters: Mapping[str, EndpointLimiter]) -> int:
    """How many 429s the endpoints answered in this run."""
    return sum(limiter.throttled for limiter in limiters.values())
