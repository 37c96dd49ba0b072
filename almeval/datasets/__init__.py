"""The dataset registry and `--data` selectors.

Selectors: `all`; a task (`asr`, `mqa`, `refqa`, `openqa`, `close-qa` = mqa+refqa); `audio-qa`
(spoken questions); `audio-event`; a series (`voicebench`, `demo`, …); a dataset name
(case-insensitive, with "did you mean"); or a path to a JSONL manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from almeval.config import Config
from almeval.errors import ConfigError, UnknownNameError
from almeval.registry import Registry, load_entry_points, load_object
from almeval.values import DatasetInfo

from .catalog import SERIES, TASKS, Series, series_of
from .manifest import check, load_samples

__all__ = ["TASKS", "Catalog", "Selection", "all_series", "check", "load_samples"]

GROUPS = {
    "asr": lambda d: d.task == "ASR",
    "mqa": lambda d: d.task == "MQA",
    "refqa": lambda d: d.task == "RefQA",
    "openqa": lambda d: d.task == "OpenQA",
    "open-qa": lambda d: d.task == "OpenQA",
    "close-qa": lambda d: d.task in ("MQA", "RefQA"),
    "audio-qa": lambda d: d.interactive == "Audio-QA",
    "audio-event": lambda d: d.audio_type == "AudioEvent",
    "all": lambda d: True,
}


@cache
def all_series() -> tuple[tuple[Series, str], ...]:
    """(series, source): almeval's own, then those of other packages (entry point group
    `almeval.benchmarks`, each naming a Series, a benchmark(...) value or a tuple of them)."""
    out = [(s, "almeval") for s in SERIES]
    for name, target, dist in load_entry_points("almeval.benchmarks"):
        try:
            out.append((series_of(load_object(target), name), f"package {dist}"))
        except TypeError as exc:
            raise ConfigError(f"entry point {name!r} of package {dist}: {exc}") from None
    return tuple(out)


@dataclass(frozen=True)
class Selection:
    datasets: tuple[DatasetInfo, ...]
    skipped: tuple[str, ...]  # named by a group selector but not prepared (no manifest yet)


class Catalog:
    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.registry: Registry[DatasetInfo] = Registry("dataset")
        for series, source in all_series():
            for info in series.benchmarks:
                self.registry.register(info.name, self._locate(info), source=source)
        for name, entry in self.config.datasets.items():  # config.yaml points known names at its manifests
            base = self.registry.get(name) if name in self.registry else DatasetInfo(name=name, task=entry.task)
            info = replace(base, manifest=str(entry.path), task=entry.task or base.task, lang=entry.lang or base.lang)
            self.registry.register(name, info, replace=True)

    def _locate(self, info: DatasetInfo) -> DatasetInfo:
        """Kimi-Audio-Evalkit's lookup under the dataset root:
        NAME/NAME.jsonl, SERIES/NAME.jsonl, SERIES/NAME/NAME.jsonl."""
        root = self.config.dataset_root
        if info.manifest or root is None:
            return info
        n, s = info.name, info.series or info.name
        for candidate in (root / n / f"{n}.jsonl", root / s / f"{n}.jsonl", root / s / n / f"{n}.jsonl"):
            if candidate.is_file():
                return replace(info, manifest=str(candidate))
        return info

    def all(self) -> list[DatasetInfo]:
        return [self.registry.get(n) for n in self.registry]

    def get(self, name: str) -> DatasetInfo:
        return self.registry.get(name)

    def select(self, selectors: list[str]) -> Selection:
        chosen: dict[str, DatasetInfo] = {}
        skipped: list[str] = []
        for sel in selectors:
            for info, explicit in self._resolve(sel.strip()):
                if not info.manifest:
                    if explicit:
                        raise ConfigError(
                            f"dataset {info.name!r} is not prepared: run `almeval data prepare {info.name} --root DIR` "
                            f"and set DATASETS.dataset_root (or $ALMEVAL_DATASET_ROOT) to DIR, or point "
                            f"DATASETS.datasets.{info.name} in config.yaml at its manifest"
                        )
                    skipped.append(info.name)
                    continue
                first = chosen.setdefault(info.name, info)
                if first.manifest != info.manifest:
                    raise ConfigError(
                        f"two manifests are both named {info.name!r} ({first.manifest} and {info.manifest}): "
                        "results are keyed by dataset name, so rename one of the files"
                    )
        if not chosen:
            raise ConfigError(
                f"--data {' '.join(selectors)} selects no prepared dataset"
                + (f" (not prepared: {', '.join(skipped)}; see `almeval data prepare`)" if skipped else "")
            )
        return Selection(tuple(chosen.values()), tuple(dict.fromkeys(skipped)))

    def _resolve(self, sel: str) -> list[tuple[DatasetInfo, bool]]:
        if sel.startswith(("oai:", "oai-set:")):  # openai/evals registries (almeval/datasets/oai.py)
            from . import oai

            return [(info, True) for info in oai.select(sel)]
        if sel.startswith("vlm:"):  # VLMEvalKit TSVs (almeval/datasets/vlm.py)
            from . import vlm

            return [(info, True) for info in vlm.select(sel)]
        if sel in self.registry:
            return [(self.registry.get(sel), True)]
        if sel.lower() in GROUPS:
            return [(d, False) for d in self.all() if GROUPS[sel.lower()](d)]
        series = [d for d in self.all() if d.series.lower() == sel.lower()]
        if series:
            return [(d, False) for d in series]
        if sel.endswith(".jsonl") or Path(sel).is_file():
            return [(self._from_path(Path(sel)), True)]
        raise UnknownNameError("dataset or selector", sel, [*self.registry, *GROUPS])

    def _from_path(self, path: Path) -> DatasetInfo:
        if not path.is_file():
            raise ConfigError(f"manifest not found: {path}")
        name = path.stem
        known = self.registry.get(name) if name in self.registry else DatasetInfo(name=name, task="")
        return replace(known, manifest=str(path.resolve()))
