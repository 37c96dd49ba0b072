"""Baichuan-Audio-Base and Baichuan-Audio-Instruct through their own checkpoint code (transformers
`trust_remote_code`): the model binds its processor to the tokenizer, audio is named inside the text as
`<audio_start>{"path": …}<audio_end>`, and `model.processor(texts)` returns input ids, attention mask
and audio features for `model.generate`. Text output is scored; the audio head's tokens are dropped.

Generation params are Kimi-Audio-Evalkit's, explicit and recorded: Base greedy with repetition
penalty 1.3 and 700 new tokens; Instruct samples (T 0.8, top-k 20, top-p 0.85, repetition penalty 1.1,
1024 new tokens, stop at <|endoftext|>) with a recorded seed. Options: path=DIR or hub id, dtype
(default bfloat16), device, max_new_tokens, batch_size (default 1: the processor's padding side is the checkpoint's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from almeval.errors import MissingExtraError
from almeval.values import Request, Sample

from .base import Adapter, Output, length_override
from .hf_causal import checkpoint_identity

ROLE = {"system": "<B_SYS>", "user": "<C_Q>", "assistant": "<C_A>"}  # the Instruct model's turn markers


class BaichuanAudioAdapter(Adapter):
    """Baichuan-Audio-Base: a continuation prompt, then the audio."""

    name = "baichuan-audio"
    option_names = frozenset({"dtype"})
    version = "1"
    prompt_set = "baichuan-audio"
    max_batch_size = 1
    default_hub: ClassVar[str] = "baichuan-inc/Baichuan-Audio-Base"
    generation: ClassVar[dict[str, Any]] = {"max_new_tokens": 700, "do_sample": False, "repetition_penalty": 1.3}

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingExtraError(f"the {self.name} model", "pip install torch 'almeval[hf]'") from None
        where = _where(options, self.default_hub)
        self.device = options.get("device", "cuda" if torch.cuda.is_available() else "cpu")
        tok: Any = AutoTokenizer.from_pretrained(where, trust_remote_code=True, model_max_length=128000)
        self.tok = tok
        dtype = getattr(torch, options.get("dtype", "bfloat16"))
        model: Any = AutoModelForCausalLM.from_pretrained(where, trust_remote_code=True, dtype=dtype)
        self.model = model.to(self.device).eval()
        self.model.config.use_cache = True
        self.model.bind_processor(self.tok, training=False, relative_path="/")
        audio_cfg = self.model.config.audio_config
        self.audio_start: str = self.tok.convert_ids_to_tokens(audio_cfg.audio_start_token_id)
        self.audio_end: str = self.tok.convert_ids_to_tokens(audio_cfg.audio_end_token_id)

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        where = _where(options, cls.default_hub)
        if Path(where).is_dir():
            return {**super().identity(options), **checkpoint_identity(Path(where), options)}
        return {**super().identity(options), "weights": f"hub:{where}", "dtype": options.get("dtype", "bfloat16")}

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return options.get("label") or cls.name

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {**cls.generation, **length_override(options), "seed": int(options.get("seed", 0))}

    def audio_text(self, r: Request) -> str:
        return "".join(self.audio_start + json.dumps({"path": a.path}) + self.audio_end for a in r.sample.audio)

    def text(self, r: Request) -> str:
        return r.prompt + self.audio_text(r)

    def generate(self, requests: list[Request]) -> list[Output]:
        import torch

        params = dict(requests[0].params)
        torch.manual_seed(params.pop("seed", 0))
        stop = params.pop("stop", None)
        if stop:
            params["eos_token_id"] = self.tok.convert_tokens_to_ids(stop)
        ret = self.model.processor([self.text(r) for r in requests])
        audio = {k: _to(getattr(ret, k, None), self.device) for k in ("audios", "encoder_length", "bridge_length")}
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ret.input_ids.to(self.device),
                attention_mask=ret.attention_mask.to(self.device),
                labels=None,
                **audio,
                **params,
            )
        new = out[:, ret.input_ids.shape[1] :]
        return [t.strip() for t in self.tok.batch_decode(new, skip_special_tokens=True)]


class BaichuanAudioChatAdapter(BaichuanAudioAdapter):
    """Baichuan-Audio-Instruct: the system turn carries the instruction, the user turn the audio."""

    name = "baichuan-audio-chat"
    prompt_set = "baichuan-audio-chat"
    default_hub = "baichuan-inc/Baichuan-Audio-Instruct"
    generation: ClassVar[dict[str, Any]] = {
        "max_new_tokens": 1024,
        "do_sample": True,
        "temperature": 0.8,
        "top_k": 20,
        "top_p": 0.85,
        "repetition_penalty": 1.1,
        "stop": "<|endoftext|>",
    }

    def text(self, r: Request) -> str:
        return f"{ROLE['system']}{r.system}{ROLE['user']}{r.prompt}{self.audio_text(r)}{ROLE['assistant']}"


def _to(value: Any, device: str) -> Any:
    return None if value is None else value.to(device)


def _where(options: Mapping[str, str], hub: str) -> str:
    return options.get("path") or hub
