"""`cascade:ASR+LLM`: the classic baseline — an ASR model transcribes, a text LLM answers.

ASR and LLM are registered models (e.g. `cascade:sphinx+hf-causal:/models/qwen2.5-7b-instruct`,
`cascade:whisper:/models/whisper-large-v3+hf-causal:/models/llm`); options go to each with the prefixes
`asr.` and `llm.` (`-a llm.max_new_tokens=256`). ASR items return the transcript itself; spoken
questions (Audio-QA) send the transcript as the question; other items send "Audio transcript: …"
followed by the rendered prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from almeval.errors import ConfigError
from almeval.values import Request, Sample

from .base import Adapter, Output


class CascadeAdapter(Adapter):
    name = "cascade"
    option_prefixes = ("asr.", "llm.")  # options of each half, checked by that half's adapter
    version = "1"
    max_batch_size = 8

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        (asr_cls, asr_opts), (llm_cls, llm_opts) = parts(options)
        if not hasattr(llm_cls, "chat"):
            raise ConfigError(f"cascade needs a text LLM with chat() for its second half, got {llm_cls.name!r}")
        self.asr: Adapter = asr_cls(asr_opts)
        self.llm: Any = llm_cls(llm_opts)  # a text LLM with chat(conversations, params)

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        (a, ao), (b, bo) = parts(options)
        return {**super().identity(options), "asr": a.identity(ao), "llm": b.identity(bo)}

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        (a, ao), (b, bo) = parts(options)
        return options.get("label") or f"cascade:{a.label(ao)}+{b.label(bo)}"

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        (a, ao), (b, bo) = parts(options)
        return {"asr": a.params(ao, sample), "llm": b.params(bo, sample)}

    def generate(self, requests: list[Request]) -> list[Output]:
        asr_requests = [replace(r, params=r.params["asr"]) for r in requests]
        transcripts = self.asr.generate(asr_requests)
        outputs: list[Output] = [t if isinstance(t, BaseException) else "" for t in transcripts]
        chats, where = [], []
        for i, (r, t) in enumerate(zip(requests, transcripts, strict=True)):
            if isinstance(t, BaseException):
                continue
            if r.sample.task == "ASR":
                outputs[i] = t
                continue
            chats.append([{"role": "user", "content": llm_prompt(r, t)}])
            where.append(i)
        if chats:
            for i, text in zip(where, self.llm.chat(chats, requests[0].params["llm"]), strict=True):
                outputs[i] = text
        return outputs

    def close(self) -> None:
        self.asr.close()
        self.llm.close()


def llm_prompt(r: Request, transcript: str) -> str:
    if r.sample.interactive == "Audio-QA":
        return f"{transcript}\n\n{r.prompt}".strip()
    return f"Audio transcript: {transcript}\n\n{r.prompt}".strip()


def parts(
    options: Mapping[str, str],
) -> tuple[tuple[type[Adapter], dict[str, str]], tuple[type[Adapter], dict[str, str]]]:
    from . import parse_model

    spec = options.get("path", "")
    asr, sep, llm = spec.partition("+")
    if not sep or not asr or not llm:
        raise ConfigError(f"cascade needs ASR+LLM, e.g. cascade:sphinx+hf-causal:/models/llm (got {spec!r})")
    out = []
    for half, prefix in ((asr, "asr."), (llm, "llm.")):
        sub = {k[len(prefix) :]: v for k, v in options.items() if k.startswith(prefix)}
        out.append(parse_model(half, sub))
    return out[0], out[1]
