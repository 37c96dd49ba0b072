"""`--model openai:MODEL`: a model under test behind an OpenAI-compatible chat endpoint (vLLM / SGLang
serving Qwen2-Audio, gpt-4o-audio-preview, …; or a VLM: vLLM, SGLang, swift, gpt-4o). Audio goes as
`input_audio` content parts (base64 WAV) beside the text part; an image benchmark's images as `image_url`
data URIs before it. Calls run concurrently through the endpoint's limiter and tenacity retries — the
same machinery as judges (C6) — instead of GPU micro-batches.

Options: base_url=URL (else $OPENAI_BASE_URL, else OpenAI; several comma-separated URLs are replicas of
one model, balanced with failover: almeval/endpoint/replicas.py), concurrency (per server), rpm, tpm,
timeout, health_s (replica health-check interval, default 5), max_images (a model that takes only that
many images gets an item's first ones; recorded in its identity), max_tokens (default 512), temperature
(default 0), seed (default 0).
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from typing import Any

from almeval.endpoint.client import ChatClient, Endpoint
from almeval.endpoint.limiter import EndpointLimiter, Limits
from almeval.endpoint.replicas import ReplicaPool
from almeval.values import Audio, Image, Request, Sample

from .base import AsyncModel, Output, text_chat


class EndpointAudioAdapter(AsyncModel):
    name = "openai"
    option_names = frozenset({"base_url", "max_tokens", "model", "temperature", "health_s", "max_images"})
    version = "1"
    takes_images = True
    # the endpoint's URL enters the key through `identity`, without its credentials
    operational = AsyncModel.operational | {"base_url", "rpm", "tpm", "health_s"}

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        self.endpoints = endpoints(options)
        self.endpoint = self.endpoints[0]
        self.client: ChatClient | ReplicaPool | None = None

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        """One server: the model and its URL. Several (replicas of one deployment): the model name alone,
        so adding or losing a replica does not change what its answers are keyed by — the replicas must
        serve the same checkpoint under that name (their URLs are in the run's recorded options)."""
        found = endpoints(options)
        images = {"max_images": int(options["max_images"])} if options.get("max_images") else {}
        if len(found) == 1:
            return {**super().identity(options), **found[0].identity(), **images}
        replicas = {"backend": "openai-compatible", "model": found[0].model, "replicas": True}
        return {**super().identity(options), **replicas, **images}

    @classmethod
    def concurrency(cls, options: Mapping[str, str]) -> int:
        """Calls in flight: `concurrency` per server."""
        return super().concurrency(options) * len(endpoints(options))

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return options.get("label") or options.get("path", "openai")

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {
            "max_tokens": int(options.get("max_tokens", 512)),
            "temperature": float(options.get("temperature", 0)),
            "seed": int(options.get("seed", 0)),
        }

    async def start(self, limiters: dict[str, EndpointLimiter]) -> None:
        """Inside the running loop; shares each endpoint's limiter with any judge on the same URL. Several
        base URLs: one client per replica behind a balancing, failing-over pool."""
        if len(self.endpoints) > 1:
            self.client = ReplicaPool(self.endpoints, limiters, health_s=float(self.options.get("health_s", 5)))
            return
        limiter = limiters.setdefault(self.endpoint.url, EndpointLimiter(self.endpoint.limits))
        self.client = ChatClient(self.endpoint, limiter)

    async def acomplete(self, request: Request) -> Output:
        assert self.client is not None, "start() first"
        reply = await self.client.complete(messages(request, int(self.options.get("max_images", 0))), request.params)
        return reply.text

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def endpoints(options: Mapping[str, str]) -> list[Endpoint]:
    """`base_url=URL` or several, comma-separated (replicas of one model: vLLM / SGLang servers)."""
    urls = [u.strip() for u in (options.get("base_url") or "").split(",") if u.strip()]
    return [endpoint({**options, "base_url": u}) for u in urls] or [endpoint(options)]


def endpoint(options: Mapping[str, str]) -> Endpoint:
    limits = Limits(
        concurrency=int(options.get("concurrency", 16)),
        rpm=float(options.get("rpm", 500)),
        tpm=float(options.get("tpm", 2_000_000)),
    )
    return Endpoint(
        model=options.get("path") or options.get("model", ""),
        base_url=options.get("base_url") or os.environ.get("OPENAI_BASE_URL", ""),
        timeout_s=float(options.get("timeout", 120)),
        limits=limits,
    )


def messages(request: Request, max_images: int = 0) -> list[dict[str, Any]]:
    """The chat messages for one item. `max_images` > 0: a model that takes only that many images gets the
    first ones (the option is part of the model's identity, so the report's provenance says so)."""
    chat = text_chat(request)
    if chat is not None:  # a text benchmark's own messages (openai/evals)
        return chat
    # images first, then the text, as VLMEvalKit orders an image benchmark's message
    images = request.sample.images[:max_images] if max_images > 0 else request.sample.images
    parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": data_uri(i)}} for i in images]
    parts += [{"type": "text", "text": request.prompt}] if request.prompt else []
    parts += [
        {"type": "input_audio", "input_audio": {"data": wav_base64(a), "format": "wav"}} for a in request.sample.audio
    ]
    system = [{"role": "system", "content": request.system}] if request.system else []
    return [*system, {"role": "user", "content": parts}]


def data_uri(image: Image) -> str:
    """An image as a data URI (its own bytes, base64), as OpenAI-compatible servers take `image_url`."""
    with open(image.path, "rb") as fh:
        return f"data:{image.mime};base64,{base64.b64encode(fh.read()).decode('ascii')}"


def wav_base64(audio: Audio) -> str:
    """The file's own bytes when it is a WAV; anything else is re-encoded to 16-bit PCM WAV in memory."""
    with open(audio.path, "rb") as fh:
        data = fh.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        import soundfile

        samples, sr = soundfile.read(io.BytesIO(data), dtype="float32")
        buf = io.BytesIO()
        soundfile.write(buf, samples, sr, format="WAV", subtype="PCM_16")
        data = buf.getvalue()
    return base64.b64encode(data).decode("ascii")
