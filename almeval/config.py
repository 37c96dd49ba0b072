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

from .errors import ConfigError, UnknownNameError


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


# The sections and keys config.yaml may hold; anything else is a typo and an error ("did you mean").
# PROMPTS and DATASETS.datasets are keyed by dataset names, checked against the catalog where used.
SCHEMA: dict[str, frozenset[str] | None] = {
    "DATASETS": frozenset({"dataset_root", "datasets"}),
    "PROMPTS": None,
    "JUDGE": frozenset({"model", "base_url", "templates", "template_dirs", "prices", "structured"}),
}


def _check_keys(raw: Mapping[str, Any], path: Path | None) -> None:
    for name in raw:
        if name not in SCHEMA:
            raise UnknownNameError(f"section of {path or 'config.yaml'}", str(name), SCHEMA)
        keys = SCHEMA[name]
        value = raw[name]
        if keys is not None and isinstance(value, dict):
            for key in value:
                if key not in keys:
                    raise UnknownNameError(f"key of {name} in {path or 'config.yaml'}", str(key), keys)


def load_config(explicit: str | Path | None = None) -> Config:
    path = find_config(explicit)
    raw = _read_yaml(path) if path else {}
    _check_keys(raw, path)
    base = path.resolve().parent if path else Path.cwd()
    section = _mapping(raw.get("DATASETS") or {}, path, "DATASETS")
    root_value = os.environ.get("ALMEVAL_DATASET_ROOT") or section.get("dataset_root")
    root = (base / str(root_value)).resolve() if root_value else None
    datasets = {
        str(name): _entry(value, root or base, path, str(name))
        for name, value in _mapping(section.get("datasets") or {}, path, "DATASETS.datasets").items()
    }
    prompts = {
        str(k): v if isinstance(v, dict) else str(v)
        for k, v in _mapping(raw.get("PROMPTS") or {}, path, "PROMPTS").items()
    }
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


def _entry(value: Any, base: Path, path: Path | None, name: str) -> DatasetEntry:
    if isinstance(value, str):
        return DatasetEntry(path=(base / value).resolve())
    if isinstance(value, dict) and "path" in value:
        return DatasetEntry(
            path=(base / str(value["path"])).resolve(), task=str(value.get("task", "")), lang=str(value.get("lang", ""))
        )
    raise ConfigError(f"{path or 'config'}: DATASETS.datasets.{name} must be a path or {{path: …, task: …, lang: …}}")
