"""Prompts for models under test, as versioned data: almeval/prompts.yaml (generic) and one prompt set
per model family (adapters/prompts/<set>.yaml), chosen by the adapter's `prompt_set`.

An entry is a user-text template, or {system: …, user: …}. Lookup for an item:
  config.yaml PROMPTS[dataset] > set.datasets[dataset] > set.tasks[task][lang | audio-qa | audio-event | default]
  > set.default.
A prompt set or an override naming an unknown dataset is an error (a prompt that silently never fires
is how Kimi-Audio-Evalkit's dataset-specific prompts were lost). The rendered system + user text enter
each item's content key, so editing an entry re-infers exactly the items it renders for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnknownNameError
from .values import Sample

BUILTIN = Path(__file__).with_name("prompts.yaml")
SETS = Path(__file__).resolve().parent / "adapters" / "prompts"

Entry = str | Mapping[str, str]


@dataclass(frozen=True)
class Prompt:
    user: str
    system: str = ""


@dataclass(frozen=True)
class PromptBook:
    default: Entry
    tasks: Mapping[str, Mapping[str, Entry]]
    datasets: Mapping[str, Entry] = field(default_factory=dict)
    name: str = "generic"

    @classmethod
    def load(cls, overrides: Mapping[str, Entry], known_datasets: Iterable[str], prompt_set: str = "") -> PromptBook:
        import yaml

        path = SETS / f"{prompt_set}.yaml" if prompt_set else BUILTIN
        if not path.is_file():
            raise ConfigError(f"prompt set {prompt_set!r} not found at {path}")
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        known = {k.lower(): k for k in known_datasets}
        datasets = {
            _known(name, known, f"dataset in {path.name}"): e for name, e in (data.get("datasets") or {}).items()
        }
        for name, entry in overrides.items():  # a silent no-op here would reuse stale predictions
            datasets[_known(name, known, "dataset in PROMPTS")] = entry
        return cls(
            default=data["default"], tasks=data.get("tasks") or {}, datasets=datasets, name=prompt_set or "generic"
        )

    def entry(self, sample: Sample) -> Entry:
        if sample.dataset in self.datasets:
            return self.datasets[sample.dataset]
        by_task = self.tasks.get(sample.task) or {}
        for key in (
            sample.lang,
            "audio-qa" if sample.interactive == "Audio-QA" else "",
            "audio-event" if sample.audio_type == "AudioEvent" else "",
            "default",
        ):
            if key and key in by_task:
                return by_task[key]
        return self.default

    def template(self, sample: Sample) -> str:
        """The entry as one string (for digests)."""
        e = self.entry(sample)
        return e if isinstance(e, str) else f"{e.get('system', '')}\x00{e.get('user', '')}"

    def render(self, sample: Sample) -> Prompt:
        e = self.entry(sample)
        user, system = (e, "") if isinstance(e, str) else (e.get("user", ""), e.get("system", ""))
        return Prompt(user=self._fill(user, sample), system=self._fill(system, sample))

    @staticmethod
    def _fill(template: str, sample: Sample) -> str:
        try:
            return template.format(question=sample.question, audio_content=sample.audio_content, lang=sample.lang)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"prompt for dataset {sample.dataset!r} is not a valid template ({exc!r}): "
                f"{template!r}; use {{question}}, {{audio_content}}, {{lang}}, and {{{{ }}}} "
                "for literal braces"
            ) from None


def _known(name: str, known: Mapping[str, str], what: str) -> str:
    if name.lower() not in known:
        raise UnknownNameError(what, name, known.values())
    return known[name.lower()]
