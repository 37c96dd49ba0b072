"""Kimi-Audio-7B-Instruct through its own inference package (`kimia_infer`, from the Kimi-Audio repo),
text output only. Sampling params are Kimi-Audio-Evalkit's (text greedy with top-k 5 and repetition
penalty 1.1 over 16 tokens), explicit and recorded. Options: path=DIR or hub id, seed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import MissingExtraError
from almeval.values import Request, Sample

from .base import Adapter, Output
from .hf_causal import weights_fingerprint

INSTALL = (
    "the Kimi-Audio repo's package: pip install git+https://github.com/MoonshotAI/Kimi-Audio (provides kimia_infer)"
)
SAMPLING = {
    "audio_temperature": 0.8,
    "audio_top_k": 10,
    "text_temperature": 0.0,
    "text_top_k": 5,
    "audio_repetition_penalty": 1.0,
    "audio_repetition_window_size": 64,
    "text_repetition_penalty": 1.1,
    "text_repetition_window_size": 16,
}


class KimiAudioAdapter(Adapter):
    name = "kimi-audio"
    version = "1"
    prompt_set = "kimi-audio"
    max_batch_size = 1  # kimia_infer generates one conversation at a time

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            from kimia_infer.api.kimia import KimiAudio
        except ImportError:
            raise MissingExtraError("the kimi-audio model", INSTALL) from None
        self.model = KimiAudio(model_path=_where(options), load_detokenizer=False)

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        where = _where(options)
        weights = weights_fingerprint(Path(where)) if Path(where).is_dir() else f"hub:{where}"
        return {**super().identity(options), "weights": weights}

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {**SAMPLING, "seed": int(options.get("seed", 0))}

    def generate(self, requests: list[Request]) -> list[Output]:
        import torch

        outputs: list[Output] = []
        for r in requests:
            params = dict(r.params)
            torch.manual_seed(params.pop("seed"))
            text = [{"role": "user", "message_type": "text", "content": r.prompt}] if r.prompt else []
            audio = [{"role": "user", "message_type": "audio", "content": a.path} for a in r.sample.audio]
            _, out = self.model.generate([*text, *audio], **params, output_type="text")
            outputs.append(out)
        return outputs


def _where(options: Mapping[str, str]) -> str:
    return options.get("path") or "moonshotai/Kimi-Audio-7B-Instruct"
