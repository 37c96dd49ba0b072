"""A locally loaded model in the judge role. Concurrent `complete` calls from the judge workers are
micro-batched (the scheduler's MicroBatcher: flush on size, deadline or a params change) and run as
one batched `generate` in a worker thread — the same machinery as models under test."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from almeval.adapters.hf_causal import HFCausalLM
from almeval.batching import MicroBatcher
from almeval.endpoint.client import Reply


@dataclass(frozen=True)
class ChatJob:
    messages: list[dict[str, str]]
    params: Mapping[str, Any]
    future: asyncio.Future[str] = field(compare=False)
    choices: tuple[str, ...] = ()  # constrained: the reply is one of these


class LocalChatClient:
    def __init__(self, model: HFCausalLM, label: str, deadline_s: float = 0.02):
        self.model, self.label = model, label
        self._queue: asyncio.Queue[ChatJob | None] = asyncio.Queue()
        self._batcher: MicroBatcher[ChatJob] = MicroBatcher(self._queue, model.batch_size(model.options), deadline_s)
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.sent = 0

    async def complete(
        self, messages: list[dict[str, str]], params: Mapping[str, Any], choices: Sequence[str] = ()
    ) -> Reply:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # constrained jobs batch apart from free ones (the batcher groups by params)
        params = {**params, "constrained": True} if choices else dict(params)
        await self._queue.put(ChatJob(messages, params, future, tuple(choices)))
        text = await future
        return Reply(text, self.label, 0, 0, 1)

    async def _run(self) -> None:
        while (batch := await self._batcher.next()) is not None:
            self.sent += len(batch)
            try:
                if batch[0].choices:
                    texts = await asyncio.to_thread(
                        self.model.choose, [j.messages for j in batch], [j.choices for j in batch]
                    )
                else:
                    texts = await asyncio.to_thread(self.model.chat, [j.messages for j in batch], batch[0].params)
            except Exception as exc:
                for job in batch:
                    job.future.set_exception(exc)
                continue
            for job, text in zip(batch, texts, strict=True):
                job.future.set_result(text)

    async def aclose(self) -> None:
        await self._queue.put(None)
        await self._task
        self.model.close()
