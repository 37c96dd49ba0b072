"""config.yaml: where datasets live, prompt overrides, endpoints.

    DATASETS:
      dataset_root: ./data            # relative paths resolve against this file's folder
      datasets:
        LibriSpeech: LibriSpeech/LibriSpeech.jsonl
        my-set: {path: my/set.jsonl, task: ASR, lang: en}
    PROMPTS:
      LibriSpeech: "Transcribe the speech."   # per dataset name; unknown names are an error

Found by --config, else $ALMEVAL_CONFIG, else ./config.yaml when present. $ALMEVAL_DATASET_ROOT
overrides DATASETS.dataset_root. API keys are read from the environment only and never written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .schema import DatasetsSection, check_config


@dataclass(frozen=True)
class DatasetEntry:
    path: Path
    task: str = ""
    lang: str = ""


@dataclass(frozen=True)
class Config:
    source: Path | None = None
    dataset_root: Path | None = None
    datasets: Mapping[str, DatasetEntry] = field(default_factory=dict)
    prompts: Mapping[str, Any] = field(default_factory=dict)  # dataset → user text or {system, user}
    raw: Mapping[str, Any] = field(default_factory=dict)


def find_config(explicit: str | Path | None = None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get("ALMEVAL_CONFIG")
    if env:
        if not Path(env).is_file():
            raise ConfigError(f"$ALMEVAL_CONFIG points to a missing file: {env}")
        return Path(env)
    local = Path("config.yaml")
    return local if local.is_file() else None


def load_config(explicit: str | Path | None = None) -> Config:
    """config.yaml, checked against its schema (almeval/schema.py: unknown sections and keys are errors
    with "did you mean"; values of the wrong type name their key path)."""
    path = find_config(explicit)
    raw = _read_yaml(path) if path else {}
    checked = check_config(raw, str(path or "config.yaml"))
    base = path.resolve().parent if path else Path.cwd()
    section = checked.DATASETS or DatasetsSection()
    root_value = os.environ.get("ALMEVAL_DATASET_ROOT") or section.dataset_root
    root = (base / str(root_value)).resolve() if root_value else None
    datasets = {}
    for name, value in section.datasets.items():
        if isinstance(value, str):
            datasets[name] = DatasetEntry(path=((root or base) / value).resolve())
        else:
            datasets[name] = DatasetEntry(
                path=((root or base) / value.path).resolve(), task=value.task, lang=value.lang
            )
    prompts = {k: v if isinstance(v, str) else v.model_dump() for k, v in (checked.PROMPTS or {}).items()}
    return Config(source=path, dataset_root=root, datasets=datasets, prompts=prompts, raw=raw)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    return _mapping(data, path, "top level")


def _mapping(value: Any, path: Path | None, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path or 'config'}: {where} must be a mapping, got {type(value).__name__}")
    return value
