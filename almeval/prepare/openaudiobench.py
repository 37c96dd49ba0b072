"""OpenAudioBench (the Hugging Face dataset repo `baichuan-inc/OpenAudioBench`): five subsets, each
`eval_datas/<subset>/<subset>.csv` naming its audio (`audio_filename`, under `audios/`). Spoken
questions: `question` is empty, `audio_content` is the CSV's question text, `answer` its reference
(per-subset columns below; JSON-looking alias lists are kept as the CSV writes them). Source:
`--source openaudiobench=DIR` (a copy of the repo), else the repo is fetched with huggingface_hub."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import DataError, MissingExtraError

from .common import Collected, place, row, series_dir, source_of, write

REPO = "baichuan-inc/OpenAudioBench"
COLUMNS = {  # subset: (question transcript, reference answer)
    "alpaca_eval": ("instruction", "output"),
    "llama_questions": ("Questions", "Answer"),
    "reasoning_qa": ("Prompt", "参考答案"),
    "trivia_qa": ("question", "answer_normalized_aliases"),
    "web_questions": ("question", "answers"),
}


def prepare(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    base = series_dir(root, "OpenAudioBench")
    repo = _repo(source_of(sources, "openaudiobench", REPO), base)
    out = Collected("OpenAudioBench")
    for subset, (q_col, a_col) in COLUMNS.items():
        folder = repo / "eval_datas" / subset
        table = folder / f"{subset}.csv"
        if not table.is_file():
            raise DataError(str(table), "subset table missing from the source", "use a full copy of the dataset repo")
        with table.open(encoding="utf-8-sig", newline="") as fh:
            for i, line in enumerate(csv.DictReader(fh)):
                where = f"{table}:{i + 2}"
                audio = folder / "audios" / (line.get("audio_filename") or "")
                if not audio.is_file():
                    out.skip(where, f"audio file {audio.name!r} missing")
                    continue
                kept = place(audio, base, f"{subset}/{audio.name}")
                content, answer = line.get(q_col, ""), line.get(a_col, "")
                out.rows.append(
                    row(base, kept, f"{subset}-{i}", question="", answer=answer, subset=subset, audio_content=content)
                )
    return write(base, [out])


def _repo(source: str, base: Path) -> Path:
    if Path(source).expanduser().is_dir():
        return Path(source).expanduser()
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise MissingExtraError("downloading OpenAudioBench", "pip install 'almeval[prepare]'") from None
    return Path(snapshot_download(repo_id=source, repo_type="dataset", local_dir=base / "_source"))
