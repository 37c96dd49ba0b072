"""The micro-batcher (C5), used by models under test (the scheduler) and by local judges alike: it
collects requests into batches of one set of generation params and flushes on size, on a deadline after
the first request, on a params change, or at the end of input. No polling: it waits on the queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar


class Batchable(Protocol):
    @property
    def params(self) -> Mapping[str, Any]: ...


B = TypeVar("B", bound=Batchable)


class MicroBatcher(Generic[B]):
    """Collects requests into batches of up to `size` with the same params; flushes on size, on a
    deadline after the first request, on a params change, or at the end of input (None). Used for
    models under test and for local judges alike."""

    def __init__(self, queue: asyncio.Queue[B | None], size: int, deadline_s: float):
        self.queue, self.size, self.deadline_s = queue, size, deadline_s
        self._held: B | None = None
        self._done = False

    async def next(self) -> list[B] | None:
        first = self._held if self._held is not None else (None if self._done else await self.queue.get())
        self._held = None
        if first is None:
            self._done = True
            return None
        batch = [first]
        end = time.monotonic() + self.deadline_s
        while len(batch) < self.size and not self._done:
            item = await self._get(end)
            if item is _TIMEOUT:
                break
            if item is None:
                self._done = True
            elif item.params != first.params:
                self._held = item
                break
            else:
                batch.append(item)
        return batch

    async def _get(self, end: float) -> Any:
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return _TIMEOUT
            try:
                return await asyncio.wait_for(self.queue.get(), remaining)
            except TimeoutError:
                return _TIMEOUT


_TIMEOUT = object()
