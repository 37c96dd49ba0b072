"""WenetSpeech test_net and test_meeting (Hugging Face `wenet-e2e/wenetspeech`, gated: accept its
terms and `huggingface-cli login` first). Source keys test_net / test_meeting name a hub config
(default TEST_NET / TEST_MEETING) or a local save_to_disk folder; `text` is the answer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .common import Collected, row, series_dir, write
from .hf import load_splits, save_audio

REPO = "wenet-e2e/wenetspeech"
SUBSETS = {"test_net": "TEST_NET", "test_meeting": "TEST_MEETING"}
QUESTION = "请把这段语音转录成文本。"


def prepare(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    base = series_dir(root, "WenetSpeech")
    out = Collected("WenetSpeech")
    for subset, config in SUBSETS.items():
        source = (sources or {}).get(subset)
        splits = load_splits(source, None) if source else load_splits(REPO, config)
        for split, ds in sorted(splits.items()):
            for i, item in enumerate(ds):
                where = f"{source or REPO} {subset}/{split}[{i}]"
                uid = str(item.get("segment_id") or item.get("id") or f"{subset}-{i}")
                text = item.get("text") or ""
                if not text.strip():
                    out.skip(where, "empty reference transcript")
                    continue
                audio = save_audio(item.get("audio"), base / subset / uid, where)
                out.rows.append(row(base, audio, uid, question=QUESTION, answer=text, subset=subset))
    return write(base, [out])
