"""`--model vllm:<hf-id-or-DIR>`: a model under test run in this process by vLLM's async engine
(continuous batching, tensor parallel): Qwen2-Audio, Qwen2.5-Omni's thinker, Whisper, Kimi-Audio where
the installed vLLM supports them. Every item is its own engine request, submitted as the scheduler
feeds it; the engine batches them continuously and each reply goes on (to the store and the judge
pool) as soon as it completes.

The prompt is the model's own chat template applied by its processor (the audio placeholder tokens
it defines, one per audio, then the text), and the audio goes in as vLLM multimodal input (mono float32
at the processor's sampling rate). The content key covers the vLLM version, the checkpoint (its
weights fingerprint, or the hub id and revision) and the sampling params.

Options (-a): tensor_parallel_size (default 1), gpu_memory_utilization (0.9), max_model_len, dtype,
max_tokens (256), temperature (0), seed (0), max_audios (per prompt, default 4), concurrency (requests
kept in the engine at once, default 256). Needs the `vllm` extra and a GPU: not runnable in almeval's
CI; `vllm_request` (what is sent) is tested on CPU with a real processor.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, MissingExtraError
from almeval.references import installed_version
from almeval.values import Request, Sample

from .audio_io import load_mono
from .base import AsyncModel, Output, positive_int
from .hf_audio import conversation
from .hf_causal import checkpoint_identity

HOW = "pip install 'almeval[vllm]' on a machine with a CUDA GPU (vLLM brings its own torch build)"


def vllm_version() -> str:
    return installed_version("vllm")


class VllmAdapter(AsyncModel):
    name = "vllm"
    version = "1"
    option_names = frozenset(
        {
            "tensor_parallel_size",
            "gpu_memory_utilization",
            "max_model_len",
            "dtype",
            "max_tokens",
            "temperature",
            "max_audios",
        }
    )
    operational = AsyncModel.operational | {"tensor_parallel_size", "gpu_memory_utilization"}

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        model = _model(options)
        found = vllm_version()
        if not found:
            raise MissingExtraError("the vllm model", HOW)
        where = Path(model)
        weights = (
            checkpoint_identity(where, options)
            if where.is_dir()
            else {"hub_id": model, "revision": options.get("revision", "main")}
        )
        return {
            **super().identity(options),
            "engine": f"vllm {found}",
            **weights,
            "max_model_len": options.get("max_model_len", ""),
        }

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return options.get("label") or f"vllm:{Path(_model(options)).name}"

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        """vLLM SamplingParams, as recorded and keyed."""
        return {
            "max_tokens": int(options.get("max_tokens", 256)),
            "temperature": float(options.get("temperature", 0)),
            "seed": int(options.get("seed", 0)),
        }

    @classmethod
    def concurrency(cls, options: Mapping[str, str]) -> int:
        return positive_int(options, "concurrency", 256)

    async def start(self, limiters: dict[str, Any]) -> None:
        try:
            from transformers import AutoProcessor
            from vllm import AsyncEngineArgs, AsyncLLMEngine
        except ImportError:
            raise MissingExtraError("the vllm model", HOW) from None
        model = _model(self.options)
        args: dict[str, Any] = {
            "model": model,
            "tensor_parallel_size": int(self.options.get("tensor_parallel_size", 1)),
            "gpu_memory_utilization": float(self.options.get("gpu_memory_utilization", 0.9)),
            "limit_mm_per_prompt": {"audio": int(self.options.get("max_audios", 4))},
            "seed": int(self.options.get("seed", 0)),
            "trust_remote_code": self.options.get("trust_remote_code", "") == "1",
        }
        if "max_model_len" in self.options:
            args["max_model_len"] = int(self.options["max_model_len"])
        if "dtype" in self.options:
            args["dtype"] = self.options["dtype"]
        self.processor = AutoProcessor.from_pretrained(model)
        self.engine = AsyncLLMEngine.from_engine_args(AsyncEngineArgs(**args))
        self._ids = itertools.count()

    async def acomplete(self, request: Request) -> Output:
        from vllm import SamplingParams

        prompt = vllm_request(request, self.processor)
        last = None
        async for out in self.engine.generate(
            prompt, SamplingParams(**dict(request.params)), f"almeval-{next(self._ids)}"
        ):
            last = out
        if last is None or not last.outputs:
            raise ConfigError("vLLM returned no output")
        return str(last.outputs[0].text).strip()

    async def aclose(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None and hasattr(engine, "shutdown"):
            engine.shutdown()


def vllm_request(request: Request, processor: Any) -> dict[str, Any]:
    """What vLLM is given for one item: the chat-template prompt (the model's audio placeholders, one per
    audio, then the text; the system prompt first when the prompt set has one) and the audio as
    multimodal input at the processor's sampling rate."""
    rate = int(getattr(getattr(processor, "feature_extractor", None), "sampling_rate", 16000))
    turns = conversation(request, "audio_url")
    text = processor.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
    out: dict[str, Any] = {"prompt": text}
    if request.sample.audio:
        out["multi_modal_data"] = {"audio": [(load_mono(a.path, rate), rate) for a in request.sample.audio]}
    return out


def _model(options: Mapping[str, str]) -> str:
    model = options.get("path", "")
    if not model:
        raise ConfigError("vllm needs a model: --model vllm:HF_ID_OR_DIR")
    return model
