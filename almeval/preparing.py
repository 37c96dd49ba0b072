"""`almeval data prepare NAME|SERIES|all --root DIR`: dispatch to the preparer each series declares
(almeval/prepare/), with `all` going on past a failing series."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.datasets.catalog import BENCHMARKS, SERIES
from almeval.errors import AlmevalError, UnknownNameError
from almeval.prepare.download import pinned
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


DOWNLOADS = "downloads.json"  # beside a series' manifests: what was downloaded, its sha256, pinned or not


def prepare(
    name: str, root: Path, sources: Mapping[str, str], allow_unverified: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Prepare `name` (see series_for). Source keys are `KEY` for one series or `SERIES.KEY` (needed with
    `all`). With `all`, a series that fails is reported and the others still run; one named series raises.
    Downloads must match the checksums the series declares (`pins`); others need `allow_unverified`."""
    todo = series_for(name)
    declared = {s.name: s for s in SERIES}
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for series in todo:
        prefix = series.lower() + "."
        mine = {k[len(prefix) :]: v for k, v in sources.items() if k.lower().startswith(prefix)}
        if len(todo) == 1:
            mine.update({k: v for k, v in sources.items() if "." not in k})
        try:
            with pinned(declared[series].pins, allow_unverified) as pinning:
                results.update(PREPARERS.get(series)(root, mine or None))
            if pinning.log:
                (root / series).mkdir(parents=True, exist_ok=True)
                (root / series / DOWNLOADS).write_text(json.dumps(pinning.log, indent=2) + "\n")
        except Exception as exc:  # with `all`, one source that cannot be reached (offline hub, …) is reported
            if len(todo) == 1:
                raise
            failures[series] = str(exc) if isinstance(exc, AlmevalError) else f"{type(exc).__name__}: {exc}"
    return results, failures


def downloads_of(manifest: str) -> list[dict[str, Any]]:
    """The downloads a prepared manifest was built from (its series folder's log), [] if none."""
    log = Path(manifest).parent / DOWNLOADS if manifest else None
    if log is None or not log.is_file():
        return []
    try:
        entries = json.loads(log.read_text())
    except ValueError:
        return [{"file": str(log), "verified": "unreadable log"}]
    return entries if isinstance(entries, list) else []


__all__ = ["PREPARERS", "downloads_of", "prepare", "series_for"]
