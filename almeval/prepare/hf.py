"""Sources on the Hugging Face Hub, read with `datasets` (or a local `save_to_disk` copy of them: the
same format, which is how the tests and offline machines feed them). Audio is taken undecoded (the
stored bytes), written under the series folder as is, and probed with soundfile."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from almeval.errors import DataError, MissingExtraError

SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("preparing a Hugging Face dataset", "pip install 'almeval[prepare]'") from None
    return datasets


def load_splits(source: str, config: str | None) -> dict[str, Any]:
    """Every split of `config` of `source`: a hub repo id, or a folder written by `save_to_disk` (a
    DatasetDict, or one such folder per config name)."""
    datasets = _datasets()
    local = Path(source).expanduser()
    try:
        if local.is_dir():
            folder = local / config if config and (local / config).is_dir() else local
            loaded = datasets.load_from_disk(str(folder))
        else:
            loaded = datasets.load_dataset(source, config)
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        where = f"{source} (config {config})" if config else source
        raise DataError(
            where, f"cannot load the dataset ({exc})", "check the source, or log in for gated sets"
        ) from None
    splits = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"test": loaded}
    return {name: _undecoded(ds, datasets) for name, ds in splits.items()}


def _undecoded(ds: Any, datasets: Any) -> Any:
    if "audio" in ds.column_names:
        return ds.cast_column("audio", datasets.Audio(decode=False))
    return ds


def save_audio(entry: dict[str, Any] | None, dest: Path, where: str) -> Path:
    """Write one undecoded audio entry ({"bytes", "path"}) to `dest` + its original suffix."""
    if not entry:
        raise DataError(where, "the item has no audio", "")
    name = entry.get("path") or ""
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in SUFFIXES else ".wav"
    target = dest.with_suffix(suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    if entry.get("bytes"):
        if not (target.is_file() and target.stat().st_size == len(entry["bytes"])):
            target.write_bytes(entry["bytes"])
    elif name and Path(name).is_file():
        shutil.copyfile(name, target)
    else:
        raise DataError(where, f"audio {name!r} has neither bytes nor a readable file", "")
    return target
