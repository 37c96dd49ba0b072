"""Per-dataset / per-task prompts for models under test, as versioned data (prompts.yaml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnknownNameError
from .values import Sample

BUILTIN = Path(__file__).with_name("prompts.yaml")


@dataclass(frozen=True)
class PromptBook:
    default: str
    tasks: Mapping[str, Mapping[str, str]]
    datasets: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, overrides: Mapping[str, str], known_datasets: Iterable[str]) -> PromptBook:
        import yaml

        data: dict[str, Any] = yaml.safe_load(BUILTIN.read_text(encoding="utf-8"))
        datasets = dict(data.get("datasets") or {})
        known = {k.lower(): k for k in known_datasets}
        for name, template in overrides.items():
            if name.lower() not in known:  # a silent no-op here would reuse stale predictions
                raise UnknownNameError("dataset in PROMPTS", name, known.values())
            datasets[known[name.lower()]] = template
        return cls(default=data["default"], tasks=data.get("tasks") or {}, datasets=datasets)

    def template(self, sample: Sample) -> str:
        if sample.dataset in self.datasets:
            return self.datasets[sample.dataset]
        by_task = self.tasks.get(sample.task, {})
        return by_task.get(sample.lang) or by_task.get("default") or self.default

    def render(self, sample: Sample) -> str:
        template = self.template(sample)
        try:
            return template.format(question=sample.question, audio_content=sample.audio_content, lang=sample.lang)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"prompt for dataset {sample.dataset!r} is not a valid template ({exc!r}): "
                f"{template!r}; use {{question}}, {{audio_content}}, {{lang}}, and {{{{ }}}} "
                "for literal braces"
            ) from None
