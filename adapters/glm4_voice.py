"""GLM-4-Voice-9B with its speech tokenizer (the GLM-4-Voice repo's `speech_tokenizer` module on PYTHONPATH):
audio becomes discrete `<|audio_N|>` tokens between `<|begin_of_audio|>` and `<|end_of_audio|>`, the
LLM answers with interleaved text and audio tokens, and only the text tokens (ids below `<|audio_0|>`,
up to the next `<|user|>`) are kept and scored. The speech decoder is never loaded.

Generation params are Kimi-Audio-Evalkit's (sampling, T 0.2, top-p 0.8, 2048 new tokens) with a
recorded seed. Options: path=DIR or hub id of the LLM (default THUDM/glm-4-voice-9b), tokenizer=DIR or
hub id of the speech tokenizer (default THUDM/glm-4-voice-tokenizer), dtype (default bfloat16), device,
max_new_tokens, batch_size (default 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from almeval.errors import MissingExtraError
from almeval.values import Request, Sample

from .base import Adapter, Output, length_override
from .hf_causal import checkpoint_identity, weights_fingerprint

INSTALL = (
    "the GLM-4-Voice repo on PYTHONPATH: git clone --recurse-submodules https://github.com/THUDM/GLM-4-Voice "
    "(module speech_tokenizer)"
)
GENERATION = {"max_new_tokens": 2048, "do_sample": True, "temperature": 0.2, "top_p": 0.8}


class GLM4VoiceAdapter(Adapter):
    name = "glm-4-voice"
    option_names = frozenset({"dtype", "tokenizer"})
    version = "1"
    prompt_set = "glm-4-voice"
    max_batch_size = 1

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            import torch
            from speech_tokenizer.modeling_whisper import WhisperVQEncoder
            from speech_tokenizer.utils import extract_speech_token
            from transformers import AutoModelForCausalLM, AutoTokenizer, WhisperFeatureExtractor
        except ImportError:
            raise MissingExtraError("the glm-4-voice model", INSTALL) from None
        self.device = options.get("device", "cuda" if torch.cuda.is_available() else "cpu")
        speech = options.get("tokenizer") or "THUDM/glm-4-voice-tokenizer"
        self.speech_encoder = WhisperVQEncoder.from_pretrained(speech).eval().to(self.device)
        self.features = WhisperFeatureExtractor.from_pretrained(speech)
        self.extract = extract_speech_token
        where = _where(options)
        tok: Any = AutoTokenizer.from_pretrained(where, trust_remote_code=True)
        self.tok = tok
        self.tok.padding_side = "left"
        dtype = getattr(torch, options.get("dtype", "bfloat16"))
        model: Any = AutoModelForCausalLM.from_pretrained(where, trust_remote_code=True, dtype=dtype)
        self.model = model.to(self.device).eval()
        self.audio_offset: int = self.tok.convert_tokens_to_ids("<|audio_0|>")
        self.user_id: int = self.tok.convert_tokens_to_ids("<|user|>")

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        where, speech = _where(options), options.get("tokenizer") or "THUDM/glm-4-voice-tokenizer"
        llm = checkpoint_identity(Path(where), options) if Path(where).is_dir() else {"weights": f"hub:{where}"}
        tokenizer = weights_fingerprint(Path(speech)) if Path(speech).is_dir() else f"hub:{speech}"
        return {**super().identity(options), **llm, "speech_tokenizer": tokenizer}

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {**GENERATION, **length_override(options), "seed": int(options.get("seed", 0))}

    def text(self, r: Request) -> str:
        tokens = self.extract(self.speech_encoder, self.features, [a.path for a in r.sample.audio])
        audio = "".join(
            "<|begin_of_audio|>" + "".join(f"<|audio_{t}|>" for t in ts) + "<|end_of_audio|>" for ts in tokens
        )
        return chat_prompt(r.system, r.prompt + audio)

    def generate(self, requests: list[Request]) -> list[Output]:
        import torch

        params = dict(requests[0].params)
        torch.manual_seed(params.pop("seed", 0))
        batch = self.tok([self.text(r) for r in requests], return_tensors="pt", padding=True).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**batch, **params)
        new = out[:, batch["input_ids"].shape[1] :].tolist()
        return [self.tok.decode(text_tokens(ids, self.audio_offset, self.user_id)).strip() for ids in new]


def chat_prompt(system: str, user: str) -> str:
    """GLM-4-Voice's turn format; the assistant turn opens in its text-first (transcription) mode."""
    head = f"<|system|>\n{system}" if system else ""
    return f"{head}<|user|>\n{user}<|assistant|>streaming_transcription\n"


def text_tokens(ids: Sequence[int], audio_offset: int, stop_id: int) -> list[int]:
    """The text part of an interleaved reply: ids below the first audio token's, up to the next user turn."""
    kept = []
    for i in ids:
        if i == stop_id:
            break
        if i < audio_offset:
            kept.append(i)
    return kept


def _where(options: Mapping[str, str]) -> str:
    return options.get("path") or "THUDM/glm-4-voice-9b"
