"""Several OpenAI-compatible servers of one model behind one client (vLLM / SGLang replicas, on one host or
many): least-outstanding-requests balancing, a limiter per server, health checks, and failover.

A call goes to the healthy replica with the fewest requests in flight (ties: the one used least). A
replica whose call fails at the connection level (refused, reset, timed out) or keeps failing with 5xx
is taken out at once and the call is sent to another one; a replica that is out is probed
(`GET /models`) every `health_s` seconds and put back when it answers. Each call returns exactly one
reply or one error: an item whose replica died mid-call is retried elsewhere, so none is lost, and its
result is recorded once (a dead replica may still have worked on it: that work is discarded, never
counted twice). When every replica is out, the call fails after waiting one health interval for one to
come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from almeval.errors import ItemError, RetryableError

from .client import ChatClient, Endpoint, Reply
from .limiter import EndpointLimiter

PER_REPLICA_ATTEMPTS = 2  # tries on one replica before it is taken out and the call moves on


@dataclass
class Replica:
    endpoint: Endpoint
    client: ChatClient
    in_flight: int = 0
    served: int = 0
    failed: int = 0
    healthy: bool = True
    down_since: float = 0.0


@dataclass
class ReplicaPool:
    """Clients for `endpoints` (one model, several URLs); create inside the running loop."""

    endpoints: Sequence[Endpoint]
    limiters: dict[str, EndpointLimiter]
    health_s: float = 5.0
    replicas: list[Replica] = field(default_factory=list)

    def __post_init__(self) -> None:
        for e in self.endpoints:
            one = replace(e, max_attempts=PER_REPLICA_ATTEMPTS)
            limiter = self.limiters.setdefault(one.url, EndpointLimiter(one.limits))
            self.replicas.append(Replica(one, ChatClient(one, limiter)))
        self._probe: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    def pick(self) -> Replica | None:
        """The healthy replica with the fewest requests in flight (then the least used)."""
        healthy = [r for r in self.replicas if r.healthy]
        return min(healthy, key=lambda r: (r.in_flight, r.served)) if healthy else None

    async def complete(self, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> Reply:
        tried: list[str] = []
        for _ in range(2 * len(self.replicas) + 1):
            replica = self.pick()
            if replica is None:
                await self._wait_for_one()
                continue
            replica.in_flight += 1
            try:
                reply = await replica.client.complete(messages, params)
            except RetryableError as exc:  # connection refused / reset / timeout / 5xx, after its own tries
                replica.failed += 1
                tried.append(f"{replica.endpoint.url}: {exc}")
                self._take_out(replica)
                continue
            finally:
                replica.in_flight -= 1
            replica.served += 1
            return reply
        raise ItemError("every replica failed: " + "; ".join(tried[-3:]))

    def _take_out(self, replica: Replica) -> None:
        if replica.healthy:
            replica.healthy, replica.down_since = False, time.monotonic()
            if self._probe is None or self._probe.done():
                self._probe = asyncio.get_running_loop().create_task(self._health_loop())

    async def _wait_for_one(self) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):  # none came back in time: the caller tries (and fails) again
            await asyncio.wait_for(self._changed.wait(), timeout=self.health_s * 2)

    async def _health_loop(self) -> None:
        """Probe the replicas that are out until all are back (or the pool closes)."""
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.health_s)) as session:
            while any(not r.healthy for r in self.replicas):
                await asyncio.sleep(self.health_s)
                for r in self.replicas:
                    if r.healthy:
                        continue
                    try:
                        async with session.get(f"{r.endpoint.base_url.rstrip('/')}/models") as resp:
                            back = resp.status < 500
                    except (aiohttp.ClientError, TimeoutError, OSError):
                        back = False
                    if back:
                        r.healthy = True
                        self._changed.set()

    def stats(self) -> list[dict[str, Any]]:
        return [
            {"url": r.endpoint.url, "served": r.served, "failed": r.failed, "healthy": r.healthy} for r in self.replicas
        ]

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        for r in self.replicas:
            await r.client.aclose()
