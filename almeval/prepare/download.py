"""Streaming, resumable downloads with checksums (urllib; HTTP Range to resume a partial file).

Inside `pinned(...)` (what `almeval data prepare` runs under) every download must match the checksum its
series declares for that URL (`Series.pins`, `sha256:…` or `md5:…` as the publisher lists it); a URL
without one is refused unless the user allowed unverified downloads, and each download is logged
(URL, sha256, pinned or unverified) for the prepared data's provenance."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import http.client
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from almeval.errors import DataError

CHUNK = 1 << 20


@dataclass
class Pinning:
    pins: Mapping[str, str]  # URL → "sha256:HEX" | "md5:HEX"
    allow_unverified: bool = False
    log: list[dict[str, Any]] = field(default_factory=list)


_PINNING: contextvars.ContextVar[Pinning | None] = contextvars.ContextVar("almeval_pinning", default=None)


@contextlib.contextmanager
def pinned(pins: Mapping[str, str], allow_unverified: bool = False) -> Iterator[Pinning]:
    """Downloads inside must match `pins` (or, with `allow_unverified`, are logged as unverified)."""
    pinning = Pinning(pins, allow_unverified)
    token = _PINNING.set(pinning)
    try:
        yield pinning
    finally:
        _PINNING.reset(token)


def _pin_for(url: str, sha256: str) -> tuple[str, str]:
    """(algorithm, hex digest) the download must have, ("", "") when none is required."""
    if sha256:
        return "sha256", sha256
    pinning = _PINNING.get()
    if pinning is None:
        return "", ""
    pin = pinning.pins.get(url, "")
    if not pin:
        if pinning.allow_unverified:
            return "", ""
        raise DataError(
            url,
            "no pinned checksum is declared for this download, so its content cannot be verified",
            "download and check it yourself and pass --source KEY=PATH, or pass --allow-unverified "
            "(recorded as unverified in the prepared data's provenance)",
        )
    algo, _, digest = pin.partition(":")
    return algo, digest.lower()


def _log(url: str, path: Path, algo: str) -> None:
    pinning = _PINNING.get()
    if pinning is not None:
        entry = {"url": url, "file": path.name, "sha256": file_sha256(path), "verified": algo or "unverified"}
        pinning.log.append(entry)


def fetch(url: str, dest: Path, sha256: str = "", attempts: int = 5) -> Path:
    """Download `url` to `dest`, resuming a `.part` file left by an interrupted try; verify `sha256` (or
    the pin `pinned` declares for the URL). A finished download's sha256 is recorded beside it
    (`dest.sha256`): a later run reuses the file only if it still has that digest (and the pinned one),
    and downloads it again otherwise."""
    algo, want_pin = _pin_for(url, sha256)
    sums = dest.with_name(dest.name + ".sha256")
    if dest.is_file():
        recorded = sums.read_text().strip() if sums.is_file() else ""
        # pinned: the declared digest decides; else the digest recorded when it was downloaded
        if (file_digest(dest, algo) == want_pin) if algo else (not recorded or file_sha256(dest) == recorded):
            _log(url, dest, algo)
            return dest
        dest.unlink()  # changed since it was downloaded: fetch it again
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for _ in range(attempts):
        try:
            _resume(url, part)
            break
        except (OSError, http.client.HTTPException) as exc:  # reset, timeout, short read: resume from there
            last = exc
    else:
        raise DataError(url, f"download failed after {attempts} tries ({last})", f"rerun to resume from {part}")
    got = file_digest(part, algo) if algo else ""
    if algo and got != want_pin:
        part.unlink()
        raise DataError(
            url, f"checksum mismatch: got {algo} {got}, expected {want_pin}", "the download was removed; rerun"
        )
    part.rename(dest)
    sums.write_text(file_sha256(dest) + "\n")
    _log(url, dest, algo)
    return dest


def _resume(url: str, part: Path) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=60) as resp:
        mode = "ab" if have and resp.status == 206 else "wb"  # a server without Range support restarts
        expected = int(resp.headers.get("Content-Length", -1))
        got = 0
        with part.open(mode) as fh:
            while chunk := resp.read(CHUNK):
                fh.write(chunk)
                got += len(chunk)
    if 0 <= got < expected:  # the connection ended early: keep the bytes, the next try resumes
        raise ConnectionError(f"short read: {got} of {expected} bytes")


def file_sha256(path: Path) -> str:
    return file_digest(path, "sha256")


def file_digest(path: Path, algo: str) -> str:
    if algo not in ("sha256", "md5"):
        raise DataError(str(path), f"unknown checksum kind {algo!r}", "declare pins as sha256:HEX or md5:HEX")
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, algo).hexdigest()
