"""Kimi-Audio-Evalkit-style JSONL manifests: read, validate, and turn into Samples.

Each line: {"index", "audio_path" (str | list, relative to the manifest), "question", "answer",
"subset", "audio_content" (Audio-QA datasets), "meta" (optional dict)}. A manifest named by path
takes task/lang from its config entry or from each line's meta ({"task": "ASR", "lang": "en"}).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

from almeval.cache import AudioProbe, AudioProblem
from almeval.errors import DataError, DataErrors
from almeval.schema import REQUIRED, manifest_problem
from almeval.values import EMPTY, DatasetInfo, Sample

from .catalog import TASKS

FIX_LINE = "fix or remove that line, then run again"


def load_samples(
    info: DatasetInfo, probe: AudioProbe, limit: int | None = None
) -> tuple[list[Sample], tuple[str, ...]]:
    """The samples of a dataset (the first `limit` if given) and the indices of every item in the
    manifest (the manifest in force: scores count these items only).

    Raises the first DataError found; every line is parsed even under a limit, so a limited run
    knows it covers only part of the dataset."""
    if info.manifest.startswith("oai:"):  # an openai/evals eval: text samples from its registry
        from . import oai

        return oai.load(info, limit)
    if info.manifest.startswith("vlm:"):  # a VLMEvalKit TSV: image samples, images kept under the cache dir
        from . import vlm

        images = Path(probe.memo.directory) / "images" if probe.memo is not None else Path(tempfile.gettempdir())
        return vlm.load(info, limit, images)
    out: list[Sample] = []
    indices: list[str] = []
    for item in scan(info, probe, limit):
        if isinstance(item, DataError):
            raise item
        if isinstance(item, Sample):
            out.append(item)
            indices.append(item.index)
        else:
            indices.append(item)
    if not indices:
        raise DataError(info.manifest, "the manifest has no items", "add at least one line (see `almeval data check`)")
    return out, tuple(indices)


def check(info: DatasetInfo, probe: AudioProbe) -> tuple[int, list[DataError]]:
    """Every problem in a manifest at once: (number of good samples, errors)."""
    good, errors = 0, []
    for item in scan(info, probe, None):
        if isinstance(item, DataError):
            errors.append(item)
        else:
            good += 1
    return good, errors


def scan(info: DatasetInfo, probe: AudioProbe, limit: int | None) -> Iterator[Sample | DataError | str]:
    """Samples and problems, line by line; a valid line beyond `limit` gives its index only (not probed)."""
    path = Path(info.manifest)
    if not info.manifest or not path.is_file():
        yield DataError(
            info.manifest or info.name,
            f"manifest of dataset {info.name!r} not found",
            "set DATASETS.datasets in config.yaml (see `almeval data list`)",
        )
        return
    seen: dict[str, int] = {}
    taken = 0
    for lineno, raw in _lines(path):
        where = f"{path}:{lineno}"
        row = _parse(raw, where)
        if isinstance(row, DataError):
            yield row
            continue
        index = str(row["index"])
        if index in seen:
            yield DataError(
                where, f"duplicate index {index!r} (first on line {seen[index]})", "give every line a unique index"
            )
            continue
        seen[index] = lineno
        if limit is not None and taken >= limit:
            yield index  # still parsed and checked for duplicates, not probed
            continue
        taken += 1
        yield _sample(info, row, path.parent, where, lineno, probe)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    yield lineno, raw
    except UnicodeDecodeError as exc:
        raise DataErrors([DataError(str(path), f"not UTF-8 text ({exc})", "save the manifest as UTF-8")]) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # json.loads with an option builds one per line


def _parse(raw: str, where: str) -> dict[str, Any] | DataError:
    try:
        row = _DECODER.decode(raw)
    except json.JSONDecodeError as exc:
        at = exc.colno - 1
        context = f"…{raw[max(0, at - 24) : at]}⟨here⟩{raw[at : at + 24].rstrip()}…"
        return DataError(where, f"not valid JSON ({exc.msg} at column {exc.colno}: {context})", FIX_LINE)
    except ValueError as exc:  # NaN, Infinity, -Infinity
        return DataError(where, str(exc), "write the value as a string or a finite number")
    except RecursionError:
        return DataError(where, "JSON nested too deeply", FIX_LINE)
    if not isinstance(row, dict):
        return DataError(where, "a line must be a JSON object", FIX_LINE)
    problem = manifest_problem(row)
    if problem is not None:
        fix = f"every line needs {', '.join(REQUIRED)}" if problem.startswith("missing") else FIX_LINE
        return DataError(where, problem, fix)
    paths = row["audio_path"]
    if isinstance(paths, str):
        paths = [paths]
    return {**row, "audio_path": paths}


def _sample(
    info: DatasetInfo, row: dict[str, Any], base: Path, where: str, lineno: int, probe: AudioProbe
) -> Sample | DataError:
    meta = dict(row.get("meta") or {})
    task = sys.intern(str(meta.pop("task", "") or info.task))
    lang = sys.intern(str(meta.pop("lang", "") or info.lang))
    if task not in TASKS:
        return DataError(
            where,
            f"unknown task {task!r} for this item",
            f"set meta.task to one of {', '.join(TASKS)} or declare the dataset's task in config.yaml",
        )
    if info.interactive == "Audio-QA" and not row.get("audio_content"):
        return DataError(where, "missing field: audio_content (the spoken question's transcript)", FIX_LINE)
    try:
        audio = tuple(probe.probe(_resolve(base, p)) for p in row["audio_path"])
    except AudioProblem as exc:
        return DataError(where, str(exc), exc.fix)
    expected = meta.get("sha256")
    if isinstance(expected, str) and len(audio) == 1 and audio[0].sha256 != expected:
        return DataError(
            where,
            f"{audio[0].path} does not match the sha256 the manifest recorded (the file changed after it was prepared)",
            "restore the file or run `almeval data prepare` again",
        )
    return Sample(
        dataset=info.name,
        subset=sys.intern(str(row["subset"])),
        index=str(row["index"]),
        audio=audio,
        question=sys.intern(_text(row["question"])),  # one instruction shared by thousands of items: one copy
        answer=_text(row["answer"]),
        audio_content=_text(row.get("audio_content", "")),
        lang=lang,
        task=task,
        meta=MappingProxyType(meta) if meta else EMPTY,
        line=lineno,
        interactive=info.interactive,
        audio_type=info.audio_type,
    )


def _resolve(base: Path, p: str) -> str:
    """`base / p` as pathlib writes it. A plain relative path (no empty or "." part, which pathlib drops)
    is joined as text: the same string, without pathlib's parsing (a quarter of planning's time)."""
    root = str(base)
    if (
        root != "."
        and not root.endswith("/")
        and not p.startswith("/")
        and all(part not in ("", ".") for part in p.split("/"))
    ):
        return f"{root}/{p}"
    path = Path(p)
    return str(path if path.is_absolute() else base / path)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
