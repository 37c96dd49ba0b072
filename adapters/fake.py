"""A registered fake model for tests and benchmarks: scripted outputs, set latency, a call log.

Options (--model-arg k=v):
  mode=echo|upper|constant    echo returns the reference answer; constant returns `text`
  text=…                      the output for mode=constant
  item_latency=S, batch_latency=S   seconds slept per item / per batch (GIL released, like a GPU)
  fail=i1;i2                  indices whose items fail (an exception value)
  wrong=i1;i2                 indices answered with "a wrong answer" instead
  log=PATH                    append one JSON line per construction and per generate call
  batch_size=N                micro-batch size (default 16)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from almeval.errors import ItemError
from almeval.prompts import Prompt
from almeval.values import Request, Sample

from .base import Adapter, Output


class FakeAdapter(Adapter):
    name = "fake"
    option_names = frozenset({"mode", "text", "wrong"})
    version = "1"
    max_batch_size = 16
    takes_images = True
    # latency, the call log and injected failures shape a run, not its outputs
    operational = Adapter.operational | {"item_latency", "batch_latency", "log", "fail"}

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        self.item_latency = float(options.get("item_latency", 0))
        self.batch_latency = float(options.get("batch_latency", 0))
        self.failing = set(filter(None, options.get("fail", "").split(";")))
        self.wrong = set(filter(None, options.get("wrong", "").split(";")))
        self._log("init", [])

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        scripted = {k: options.get(k, "") for k in ("mode", "text", "wrong")}
        return {**super().identity(options), **scripted}

    @classmethod
    def payload(cls, options: Mapping[str, str], sample: Sample, prompt: Prompt) -> dict[str, Any]:
        # The reference decides echo's output, so it belongs in the key.
        return {**super().payload(options, sample, prompt), "answer": sample.answer}

    def generate(self, requests: list[Request]) -> list[Output]:
        self._log("generate", [f"{r.sample.dataset}/{r.sample.index}" for r in requests])
        time.sleep(self.batch_latency + self.item_latency * len(requests))
        return [self._one(r) for r in requests]

    def _one(self, request: Request) -> Output:
        sample = request.sample
        if sample.index in self.failing:
            return ItemError(f"fake failure for index {sample.index}")
        if sample.index in self.wrong:
            return "a wrong answer"
        mode = self.options.get("mode", "echo")
        if mode == "constant":
            return self.options.get("text", "")
        return sample.answer.upper() if mode == "upper" else sample.answer

    def _log(self, event: str, items: list[str]) -> None:
        path = self.options.get("log")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as fh:  # one write per call; survives kill -9 of this process
            fh.write(json.dumps({"event": event, "pid": os.getpid(), "items": items}) + "\n")
