"""Streaming, resumable downloads with checksums (urllib; HTTP Range to resume a partial file)."""

from __future__ import annotations

import hashlib
import http.client
import urllib.request
from pathlib import Path

from almeval.errors import DataError

CHUNK = 1 << 20


def fetch(url: str, dest: Path, sha256: str = "", attempts: int = 5) -> Path:
    """Download `url` to `dest`, resuming a `.part` file left by an interrupted try; verify `sha256` if
    given. A finished download's sha256 is recorded beside it (`dest.sha256`): a later run reuses the
    file only if it still has that digest (or the given one), and downloads it again otherwise."""
    sums = dest.with_name(dest.name + ".sha256")
    if dest.is_file():
        want = sha256 or (sums.read_text().strip() if sums.is_file() else "")
        if not want or file_sha256(dest) == want:
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
    got = file_sha256(part)
    if sha256 and got != sha256:
        part.unlink()
        raise DataError(
            url, f"checksum mismatch: got sha256 {got}, expected {sha256}", "the download was removed; rerun"
        )
    part.rename(dest)
    sums.write_text(got + "\n")
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
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
