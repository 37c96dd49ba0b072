"""The one schema for what users write: manifest lines and config.yaml (pydantic). It decides what is
valid and produces the messages: the place (file:line, or the config key path), what is wrong, and the
fix. An unknown config section or key is an error with "did you mean"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from .errors import ConfigError, UnknownNameError

NonEmpty = Annotated[StrictStr, Field(min_length=1)]
Scalar = StrictStr | StrictInt | float | StrictBool
Text = Any  # question / answer: a string, or JSON that is kept as its canonical text


class ManifestLine(BaseModel):
    """One line of a manifest (Kimi-Audio-Evalkit's layout). Other fields are kept, not checked."""

    model_config = ConfigDict(extra="allow")

    index: StrictInt | NonEmpty
    audio_path: NonEmpty | Annotated[list[NonEmpty], Field(min_length=1)]
    question: Text
    answer: Text
    subset: Scalar
    audio_content: Text = ""
    meta: dict[str, Any] = Field(default_factory=dict)


REQUIRED = tuple(n for n, f in ManifestLine.model_fields.items() if f.is_required())

_LINE_MESSAGES = {
    "index": "index must be a non-empty int or string",
    "audio_path": "audio_path must be a non-empty path or list of paths",
    "meta": "meta must be a JSON object",
    "subset": "subset must be a string or a number",
}


def manifest_problem(row: Mapping[str, Any]) -> str | None:
    """What is wrong with a parsed manifest line, or None. A field given as null counts as missing."""
    present = {k: v for k, v in row.items() if v is not None}
    try:
        ManifestLine.model_validate(present)
    except ValidationError as exc:
        errors = exc.errors()
        missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
        if missing:
            return f"missing field(s): {', '.join(missing)}"
        field = str(errors[0]["loc"][0]) if errors[0]["loc"] else ""
        return _LINE_MESSAGES.get(field, f"{field}: {errors[0]['msg']}")
    return None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetEntryModel(_Section):
    path: NonEmpty
    task: StrictStr = ""
    lang: StrictStr = ""


class DatasetsSection(_Section):
    dataset_root: StrictStr | None = None
    datasets: dict[str, NonEmpty | DatasetEntryModel] = Field(default_factory=dict)


class PromptModel(_Section):
    user: StrictStr
    system: StrictStr = ""


class JudgeSection(_Section):
    model: StrictStr | None = None
    base_url: StrictStr | None = None
    templates: dict[str, StrictStr] = Field(default_factory=dict)
    template_dirs: list[StrictStr] = Field(default_factory=list)
    prices: dict[str, Annotated[list[float], Field(min_length=2, max_length=2)]] = Field(default_factory=dict)
    structured: StrictBool = False


class ConfigFile(_Section):
    DATASETS: DatasetsSection | None = None
    PROMPTS: dict[str, StrictStr | PromptModel] | None = None
    JUDGE: JudgeSection | None = None
    REFERENCES: dict[str, NonEmpty] | None = None  # reference name → its checkout (almeval/references.py)


MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m for m in (ConfigFile, DatasetsSection, JudgeSection, DatasetEntryModel, PromptModel)
}
SECTIONS: dict[str, type[BaseModel]] = {"DATASETS": DatasetsSection, "JUDGE": JudgeSection}


def check_config(raw: Mapping[str, Any], where: str) -> ConfigFile:
    """config.yaml as validated values; the first problem is a ConfigError naming the key path (an
    unknown section or key: UnknownNameError with "did you mean")."""
    try:
        return ConfigFile.model_validate(dict(raw))
    except ValidationError as exc:
        errors = exc.errors()
    # where a value may be a string or a mapping, the branch the user meant is the one that names a model
    error = min(errors, key=lambda e: (e["type"] != "extra_forbidden", not any(str(p) in MODELS for p in e["loc"])))
    loc = [str(p) for p in error["loc"]]
    shown = ".".join(p for p in loc if p not in MODELS and p not in ("str", "constrained-str"))
    if error["type"] == "extra_forbidden":
        owner = next((MODELS[p] for p in reversed(loc[:-1]) if p in MODELS), None) or SECTIONS.get(loc[0])
        parent = shown.rpartition(".")[0]
        kind = f"key of {parent} in {where}" if parent else f"section of {where}"
        raise UnknownNameError(kind, loc[-1], (owner or ConfigFile).model_fields) from None
    raise ConfigError(f"{where}: {shown}: {error['msg']} (got {error['input']!r})") from None
