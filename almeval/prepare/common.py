"""What every preparer shares: turning a source (a folder, a local archive, or a URL) into a folder;
rows whose audio paths are relative to the series folder and carry the audio's sha256 and duration;
writing `<root>/<SERIES>/<NAME>.jsonl` plus `<NAME>.skipped.jsonl` listing every dropped item and why."""

from __future__ import annotations

import json
import shutil
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from almeval.errors import DataError

from .download import fetch, file_sha256

ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")
DONE = ".almeval-extracted"  # marks a finished extraction, so a rerun skips it


@dataclass
class Collected:
    """Rows and skipped items of one dataset, as a preparer builds them."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, item: str, reason: str, **extra: Any) -> None:
        self.skipped.append({"item": item, "reason": reason, **extra})


def series_dir(root: Path, series: str) -> Path:
    out = root / series
    out.mkdir(parents=True, exist_ok=True)
    return out


def source_of(sources: Mapping[str, str] | None, key: str, default: str) -> str:
    return (sources or {}).get(key) or default


def required_source(sources: Mapping[str, str] | None, key: str, how: str) -> str:
    """A source the user must pass (it has no direct download); otherwise a DataError saying how."""
    value = (sources or {}).get(key)
    if not value:
        raise DataError(key, f"source {key!r} has no direct download", how)
    return value


def local_file(source: str, work: Path, key: str) -> Path:
    """The source on disk: a URL is downloaded (streaming, resumable) into work/_downloads/ first."""
    if "://" in source:
        name = source.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or key
        return fetch(source, work / "_downloads" / name)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(source, f"source {key!r} not found", f"pass --source {key}=PATH_OR_URL")
    return path


def materialize(source: str, work: Path, key: str) -> Path:
    """A folder holding the source: itself if a folder; an archive (local or downloaded, resumably)
    extracted once under work/_extracted/<key>; a plain file (CSV, JSON) as is."""
    path = local_file(source, work, key)
    if path.is_dir() or not path.name.endswith(ARCHIVES):
        return path
    return extract(path, work / "_extracted" / key)


def source_file(source: str, work: Path, key: str, pattern: str, what: str) -> Path:
    """A metadata file given as itself, inside a folder or archive, or by URL."""
    got = materialize(source, work, key)
    return got if got.is_file() else find_one(got, pattern, what)


def extract(archive: Path, into: Path) -> Path:
    """Unpack a zip or tar archive once (members that would land outside `into` are refused)."""
    if (into / DONE).is_file():
        return into
    into.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    _inside(into, member, archive)
                zf.extractall(into)
        else:
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: the stdlib refuses unsafe members
                    tar.extractall(into, filter="data")
                else:
                    for info in tar.getmembers():
                        _inside(into, info.name, archive)
                        if info.issym() or info.islnk():
                            raise DataError(str(archive), f"link member {info.name!r}", "use the official archive")
                    tar.extractall(into)  # every member checked above
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(str(archive), f"cannot unpack the archive ({exc})", "download it again") from None
    (into / DONE).write_text(archive.name)
    return into


def _inside(root: Path, member: str, archive: Path) -> None:
    if not (root / member).resolve().is_relative_to(root.resolve()):
        raise DataError(str(archive), f"member {member!r} points outside the archive", "use the official archive")


def find_one(folder: Path, pattern: str, what: str) -> Path:
    """The single file matching `pattern` anywhere under `folder` (archives nest differently by mirror)."""
    hits = sorted(folder.rglob(pattern))
    if not hits:
        raise DataError(str(folder), f"no {what} ({pattern}) in the source", "check the source is the official one")
    return hits[0]


def index_files(folder: Path, suffixes: tuple[str, ...] = (".wav", ".flac", ".mp3")) -> dict[str, Path]:
    """Audio files under `folder` by file name (metadata names files, not where a mirror put them)."""
    return {p.name: p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file()}


def audio_meta(path: Path) -> dict[str, Any]:
    import soundfile

    info = soundfile.info(path)
    return {"sha256": file_sha256(path), "duration_s": round(info.duration, 3)}


def place(audio: Path, base: Path, dest: str) -> Path:
    """The audio inside the series folder: kept where it is if already there, else copied to `dest`."""
    if audio.resolve().is_relative_to(base.resolve()):
        return audio
    target = base / dest
    if not (target.is_file() and target.stat().st_size == audio.stat().st_size):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(audio, target)
    return target


def row(
    base: Path,
    audio: Path,
    index: str | int,
    *,
    question: str,
    answer: str,
    subset: str,
    audio_content: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A manifest line: audio relative to the series folder, with its sha256 and duration in meta."""
    out: dict[str, Any] = {
        "index": index,
        "audio_path": audio.resolve().relative_to(base.resolve()).as_posix(),
        "question": question,
        "answer": answer,
        "subset": subset,
    }
    if audio_content is not None:
        out["audio_content"] = audio_content
    out["meta"] = {**(meta or {}), **audio_meta(audio)}
    return out


def write(base: Path, collected: Iterable[Collected]) -> dict[str, Any]:
    """Write each dataset's manifest and skipped list; the summary `almeval data prepare` prints."""
    summary: dict[str, Any] = {}
    for c in collected:
        manifest = base / f"{c.name}.jsonl"
        manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in c.rows), encoding="utf-8")
        skipped = base / f"{c.name}.skipped.jsonl"
        skipped.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in c.skipped), encoding="utf-8")
        summary[c.name] = {"manifest": str(manifest), "items": len(c.rows), "skipped": len(c.skipped)}
    return summary


def options_question(prompt: str, labels: Iterable[str]) -> str:
    """A fixed classification question with lettered options: "… (A) x (B) y …"."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return prompt + "\n" + " ".join(f"({letters[i]}) {label}" for i, label in enumerate(labels))
