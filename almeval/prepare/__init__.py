"""`almeval data prepare NAME|all --root DIR`: build manifests from each dataset's public source.

One preparer per series (the folder a dataset lives in: <root>/<SERIES>/<NAME>.jsonl); naming a
dataset prepares its series (`mmsu` → VoiceBench, all seven). Manifests use paths relative to the
series folder, with each audio file's sha256 and duration in `meta`, so a prepared tree can be moved.
Every item filtered or skipped is listed in `<root>/<SERIES>/<NAME>.skipped.jsonl` with the reason;
nothing is dropped silently. Sources are official URLs (streamed, resumable) where the data has a
direct download, or `--source KEY=PATH_OR_URL` (a folder, an archive, a hub id, a save_to_disk copy).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.datasets.catalog import BENCHMARKS, SERIES
from almeval.errors import AlmevalError, UnknownNameError
from almeval.registry import Registry

PREPARERS: Registry = Registry("dataset preparer")
for _series in SERIES:  # each series names its preparer in the catalog (its one declaration)
    if _series.prepare:
        PREPARERS.register(_series.name, f"almeval.prepare.{_series.prepare}", sources=_series.sources)


def series_for(name: str) -> list[str]:
    """`all`, a series, or a dataset name → the series to prepare."""
    if name.lower() == "all":
        return list(PREPARERS)
    if name in PREPARERS:
        return [PREPARERS.meta(name)["name"]]
    preparable = [d for d in BENCHMARKS if d.series in PREPARERS]
    for info in preparable:
        if info.name.lower() == name.lower():
            return [info.series]
    raise UnknownNameError("dataset or series", name, [*PREPARERS, *(d.name for d in preparable)])


def prepare(name: str, root: Path, sources: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Prepare `name` (see series_for). Source keys are `KEY` for one series or `SERIES.KEY` (needed with
    `all`). With `all`, a series that fails is reported and the others still run; one named series raises."""
    todo = series_for(name)
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for series in todo:
        prefix = series.lower() + "."
        mine = {k[len(prefix) :]: v for k, v in sources.items() if k.lower().startswith(prefix)}
        if len(todo) == 1:
            mine.update({k: v for k, v in sources.items() if "." not in k})
        try:
            results.update(PREPARERS.get(series)(root, mine or None))
        except Exception as exc:  # with `all`, one source that cannot be reached (offline hub, …) is reported
            if len(todo) == 1:
                raise
            failures[series] = str(exc) if isinstance(exc, AlmevalError) else f"{type(exc).__name__}: {exc}"
    return results, failures


__all__ = ["PREPARERS", "prepare", "series_for"]
