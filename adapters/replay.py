"""`--model replay:PATH`: score predictions made elsewhere.

PATH is a JSONL file whose lines have `index` and `prediction` (a Kimi-Audio-Evalkit
`{model}_{dataset}.jsonl` result file works as is; its "null" predictions count as failed), or a folder
searched for `*_{DATASET}.jsonl` / `{DATASET}.jsonl` per dataset. The file's digest is part of the
model identity, so an edited predictions file is replayed again; unchanged ones are cache hits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, DataError, ItemError
from almeval.prompts import Prompt
from almeval.values import Request, Sample

from .base import Adapter, Output

NULL = "null"  # Kimi-Audio-Evalkit's marker for a missing prediction


class ReplayAdapter(Adapter):
    name = "replay"
    version = "1"
    uses_prompt = False
    max_batch_size = 4096
    takes_images = True
    memoised = False  # the file is the cache

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        self.root = _path(options)
        self._by_dataset: dict[str, dict[str, Any]] = {}

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        root = _path(options)
        files = sorted(root.rglob("*.jsonl")) if root.is_dir() else [root]
        digest = hashlib.sha256()
        for f in files:
            digest.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
        return {**super().identity(options), "predictions_sha256": digest.hexdigest()}

    @classmethod
    def key_identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        """A replayed model is the file it reads (its resolved path): re-exporting fixed predictions to
        the same file updates that model's results instead of adding a model."""
        return {**super().identity(options), "path": str(_path(options).resolve())}

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return options.get("label") or f"replay:{_path(options).stem}"

    @classmethod
    def payload(cls, options: Mapping[str, str], sample: Sample, prompt: Prompt) -> dict[str, Any]:
        # The output is looked up by dataset and index, so those decide it (not the audio alone).
        return {"dataset": sample.dataset, "index": sample.index}

    def generate(self, requests: list[Request]) -> list[Output]:
        return [self._one(r.sample) for r in requests]

    def _one(self, sample: Sample) -> Output:
        table = self._table(sample.dataset)
        if sample.index not in table:
            return ItemError(f"index {sample.index} not in the predictions file for {sample.dataset}")
        value = table[sample.index]
        if value is None or value == NULL:
            return ItemError("no prediction (null in the replayed file)")
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def _table(self, dataset: str) -> dict[str, Any]:
        if dataset not in self._by_dataset:
            self._by_dataset[dataset] = _read(self._file_for(dataset))
        return self._by_dataset[dataset]

    def _file_for(self, dataset: str) -> Path:
        if self.root.is_file():
            return self.root
        found = sorted(self.root.rglob(f"*_{dataset}.jsonl")) or sorted(self.root.rglob(f"{dataset}.jsonl"))
        if not found:
            raise ConfigError(
                f"no predictions for dataset {dataset!r} under {self.root} "
                f"(expected *_{dataset}.jsonl or {dataset}.jsonl)"
            )
        return found[0]


def _path(options: Mapping[str, str]) -> Path:
    raw = options.get("path", "")
    if not raw or not Path(raw).exists():
        raise ConfigError(f"replay needs an existing predictions file or folder: --model replay:PATH (got {raw!r})")
    return Path(raw)


def _read(path: Path) -> dict[str, Any]:
    table: dict[str, Any] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}", f"not valid JSON ({exc.msg})", "fix the predictions file") from None
            if not isinstance(row, dict) or "index" not in row or "prediction" not in row:
                raise DataError(f"{path}:{lineno}", "a line needs `index` and `prediction`", "fix the predictions file")
            table[str(row["index"])] = row["prediction"]
    return table
