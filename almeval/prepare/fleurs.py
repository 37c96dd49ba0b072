"""Fleurs-zh and Fleurs-en (Hugging Face `google/fleurs`, configs cmn_hans_cn and en_us, test split):
`answer` is the normalised `transcription` (what Kimi-Audio-Evalkit scores), `raw_transcription`
stays in meta. Source: `--source fleurs=REPO_OR_DIR` (a hub id, or one save_to_disk folder per config)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import DataError

from .common import Collected, row, series_dir, source_of, write
from .hf import load_splits, save_audio

REPO = "google/fleurs"
SETS = {  # dataset: (config, subset, question)
    "Fleurs-zh": ("cmn_hans_cn", "fleurs_cmn_hans_cn", "请将这段语音转写成文字。"),
    "Fleurs-en": ("en_us", "fleurs_en_us", "Please transcribe this audio."),
}


def prepare(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    base = series_dir(root, "Fleurs")
    source = source_of(sources, "fleurs", REPO)
    return write(base, (_one(base, source, name, *spec) for name, spec in SETS.items()))


def _one(base: Path, source: str, name: str, config: str, subset: str, question: str) -> Collected:
    splits = load_splits(source, config)
    if "test" not in splits:
        raise DataError(f"{source} ({config})", f"no test split (found {sorted(splits)})", "use the official dataset")
    out = Collected(name)
    for i, item in enumerate(splits["test"]):
        where = f"{source} {config}/test[{i}]"
        uid = f"{item.get('id', i)}-{i}"  # Fleurs ids repeat across speakers of one sentence
        audio = save_audio(item.get("audio"), base / name / uid, where)
        meta = {"raw_transcription": item.get("raw_transcription", ""), "gender": item.get("gender")}
        out.rows.append(
            row(base, audio, uid, question=question, answer=item["transcription"], subset=subset, meta=meta)
        )
    return out
