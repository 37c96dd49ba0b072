"""VoiceBench (Hugging Face `hlt-lab/voicebench`): alpacaeval_full, commoneval, wildvoice, advbench,
ifeval, openbookqa, mmsu, sd-qa and bbh, as nine datasets in <root>/VoiceBench/ (bbh's item `id`, which
VoiceBench's evaluator reads the task from, stays in meta).

Spoken questions: `question` is empty, `audio_content` is the HF `prompt` (the transcript the judge
sees), `answer` the HF `reference` where there is one; every other column (ifeval's
instruction_id_list and kwargs, mmsu's domain…) goes to meta. mmsu's per-domain splits are one subset
`mmsu` (domain in meta.domain); sd-qa is scored on its `usa` split, as Kimi-Audio-Evalkit and
VoiceBench's leaderboard do: the other accents' items are listed as skipped. Source: `--source
voicebench=REPO_OR_DIR` (a hub id, or a folder with one save_to_disk folder per config)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .common import Collected, row, series_dir, source_of, write
from .hf import load_splits, save_audio

REPO = "hlt-lab/voicebench"
CONFIGS = ("alpacaeval_full", "commoneval", "wildvoice", "advbench", "ifeval", "openbookqa", "mmsu", "sd-qa", "bbh")
SDQA_SPLIT = "usa"
DROPPED = ("audio", "prompt", "reference")


def prepare(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    base = series_dir(root, "VoiceBench")
    source = source_of(sources, "voicebench", REPO)
    return write(base, (_config(base, source, name) for name in CONFIGS))


def _config(base: Path, source: str, name: str) -> Collected:
    out = Collected(name)
    n = 0
    for split, ds in sorted(load_splits(source, name).items()):
        for i, item in enumerate(ds):
            where = f"{source} {name}/{split}[{i}]"
            if name == "sd-qa" and split != SDQA_SPLIT:
                out.skip(where, f"accent {split}: sd-qa is scored on the {SDQA_SPLIT} split")
                continue
            audio = save_audio(item.get("audio"), base / name / split / str(i), where)
            meta = {k: v for k, v in item.items() if k not in DROPPED}
            if name == "mmsu":
                meta["domain"] = split
            out.rows.append(
                row(
                    base,
                    audio,
                    n,
                    question="",
                    answer=str(item.get("reference") or ""),
                    subset=name,
                    audio_content=item.get("prompt") or "",
                    meta=meta,
                )
            )
            n += 1
    return out
