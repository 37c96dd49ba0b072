"""Step-Audio-Chat through the Step-Audio repo's own `StepAudio` class (put the repo on PYTHONPATH; its
modules are top-level: stepaudio, tokenizer, tts, utils). Its call also synthesises speech, which
almeval discards: text output is scored. Options: path=DIR holding Step-Audio-Tokenizer,
Step-Audio-TTS-3B and Step-Audio-Chat; speaker (default Tingting)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, MissingExtraError
from almeval.values import Request, Sample

from .base import Adapter, Output
from .hf_causal import weights_fingerprint

INSTALL = "the Step-Audio repo on PYTHONPATH: git clone https://github.com/stepfun-ai/Step-Audio (module stepaudio)"


class StepAudioAdapter(Adapter):
    name = "step-audio"
    option_names = frozenset({"speaker"})
    version = "1"
    prompt_set = "step-audio"
    max_batch_size = 1

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            from stepaudio import StepAudio
        except ImportError:
            raise MissingExtraError("the step-audio model", INSTALL) from None
        root = Path(_root(options))
        self.model = StepAudio(
            tokenizer_path=str(root / "Step-Audio-Tokenizer"),
            tts_path=str(root / "Step-Audio-TTS-3B"),
            llm_path=str(root / "Step-Audio-Chat"),
        )

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        chat = Path(_root(options)) / "Step-Audio-Chat"
        weights = weights_fingerprint(chat) if chat.is_dir() else "missing"
        return {**super().identity(options), "weights": weights, "speaker": options.get("speaker", "Tingting")}

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {"seed": int(options.get("seed", 0))}  # the repo's own sampling settings apply

    def generate(self, requests: list[Request]) -> list[Output]:
        import torch

        outputs: list[Output] = []
        for r in requests:
            torch.manual_seed(int(r.params.get("seed", 0)))
            turns: list[dict[str, Any]] = [{"role": "system", "content": r.system}] if r.system else []
            turns += [{"role": "user", "content": {"type": "audio", "audio": a.path}} for a in r.sample.audio]
            if r.prompt:
                turns.append({"role": "user", "content": r.prompt})
            text, _audio, _rate = self.model(turns, self.options.get("speaker", "Tingting"))
            outputs.append(text)
        return outputs


def _root(options: Mapping[str, str]) -> str:
    if not options.get("path"):
        raise ConfigError("step-audio needs its model folder: --model step-audio:DIR")
    return options["path"]
