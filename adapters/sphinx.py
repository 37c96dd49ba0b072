"""pocketsphinx: real offline English ASR (its wheel ships the en-us model). The demo's model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from almeval.errors import ItemError, MissingExtraError
from almeval.references import installed_version
from almeval.values import Request

from .audio_io import load_mono
from .base import Adapter, Output

RATE = 16000


class SphinxAdapter(Adapter):
    name = "sphinx"
    version = "1"
    uses_prompt = False  # it transcribes; prompts never reach it
    max_batch_size = 8

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise MissingExtraError("the sphinx model", "pip install 'almeval[sphinx]'") from None
        self.decoder = Decoder(samprate=RATE, loglevel="FATAL")

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        found = installed_version("pocketsphinx")
        revision = f"pocketsphinx-{found}/en-us" if found else "pocketsphinx-missing"
        return {**super().identity(options), "revision": revision}

    def generate(self, requests: list[Request]) -> list[Output]:
        # pocketsphinx decodes one utterance at a time; the batch only amortises scheduling.
        return [self._decode(r) for r in requests]

    def _decode(self, request: Request) -> Output:
        try:
            pcm = np.concatenate([_load_16k(a.path) for a in request.sample.audio])
        except (OSError, RuntimeError, ValueError) as exc:
            return ItemError(f"cannot read audio: {exc}")
        self.decoder.start_utt()
        self.decoder.process_raw(pcm.tobytes(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def _load_16k(path: str) -> np.ndarray:
    return (np.clip(load_mono(path, RATE), -1.0, 1.0) * 32767).astype(np.int16)
