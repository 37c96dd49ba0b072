"""Reading audio for models: mono float32 at the model's rate (soundfile + soxr)."""

from __future__ import annotations

import numpy as np

from almeval.errors import MissingExtraError


def load_mono(path: str, rate: int = 16000) -> np.ndarray:
    import soundfile

    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if sr != rate:
        try:
            import soxr
        except ImportError:
            raise MissingExtraError("resampling audio", "pip install soxr") from None
        mono = soxr.resample(mono, sr, rate)
    return np.ascontiguousarray(mono, dtype=np.float32)
