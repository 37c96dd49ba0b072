"""The disk cache (C8): a content-keyed memo shared across work dirs.

Deleting it never changes a score: the SQLite store is the record, this only saves recomputation.
Entries are namespaced ("pred", "audio", "judge") and carry their creation time so `prune` can drop old
ones.

The cache holds data, never code (C13): keys are text and values JSON text (format 3; a format-2 cache,
zlib-compressed JSON, is copied over once), and an entry that asks to be unpickled is refused, not
loaded. Every value carries the sha256 of its canonical JSON, checked on every read: an edited or
damaged entry is counted, ignored (the caller recomputes it) and listed by `almeval cache check`
(`--fix` deletes it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_PICKLE, UNKNOWN

from almeval.errors import StoreError

from .keys import canonical_json

FORMAT = "v3"  # the folder of this format inside the cache dir
LEGACY = "v2-json"  # format 2's folder: its entries are copied into format 3 once, then it is removed
MIGRATE_BATCH = 1000


class _NoPickle(diskcache.Disk):
    """No pickle either way: a row that says "unpickle me" (key or value) is refused, never loaded."""

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise ValueError("refused: a pickled cache key")
        return super().get(key, raw)

    def fetch(self, mode: int, filename: str, value: Any, read: bool) -> Any:
        if mode == MODE_PICKLE:
            raise ValueError("refused: a pickled cache value")
        return super().fetch(mode, filename, value, read)


class DataDisk(_NoPickle):
    """Keys are stored as text and values as JSON text (format 3). Format 2 used diskcache's JSONDisk, which
    zlib-compresses every key and value: on ~100-byte entries that cost more than the rest of a write (zlib
    sets up its 256 KB state per call) for no space saved."""

    def store(self, value: Any, read: bool, key: Any = UNKNOWN) -> Any:
        text = (
            value.text if isinstance(value, Encoded) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        )
        return super().store(text, read, key=key)

    def fetch(self, mode: int, filename: str, value: Any, read: bool) -> Any:
        return json.loads(super().fetch(mode, filename, value, read))


@dataclass(frozen=True)
class Encoded:
    """An entry whose JSON text is already written (set_many writes the value's canonical JSON once, for
    its digest and the row)."""

    text: str


class LegacyDisk(_NoPickle, diskcache.JSONDisk):
    """Format 2's disk (read once, to migrate): diskcache's JSON disk minus its pickle fallbacks."""


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def default_cache_dir() -> Path:
    """ALMEVAL_CACHE_DIR, else the user cache dir (e.g. ~/.cache/almeval)."""
    env = os.environ.get("ALMEVAL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("almeval"))


class Memo:
    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory else default_cache_dir()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # No eviction: a cache that silently forgets judge replies costs money. `prune` is explicit.
            self._cache = diskcache.Cache(
                str(self.directory / FORMAT),
                disk=DataDisk,
                eviction_policy="none",
                size_limit=2**62,
                # diskcache maps 64 MB of the file and keeps 32 MB of pages by default: on a 100k-item
                # run that was 32 MB of the peak RSS for lookups that are one key each
                sqlite_mmap_size=0,
                sqlite_cache_size=1024,
                cull_limit=0,  # nothing expires or is evicted: no per-write query for expired rows
            )
        except Exception as exc:  # sqlite3.DatabaseError, OSError
            raise StoreError(
                f"cannot open the disk cache at {self.directory}: {exc} — move it away (it only saves "
                "recomputation; the store keeps every result) or run `almeval cache check --fix`"
            ) from exc
        self.rejected = 0  # entries refused on read (tampered, damaged or pickled) in this process
        if (self.directory / LEGACY).is_dir():
            self._migrate(self.directory / LEGACY)

    def _migrate(self, legacy: Path) -> None:
        """Copy format 2's entries (those whose digest still matches) into this format, then remove format
        2's folder. Interrupted, it starts over next time (a copy overwrites, so nothing is doubled)."""
        try:
            old = diskcache.Cache(str(legacy), disk=LegacyDisk, eviction_policy="none", size_limit=2**62)
        except Exception:  # unreadable: it only saved recomputation
            shutil.rmtree(legacy, ignore_errors=True)
            return
        batch: list[tuple[str, Any]] = []
        for key in old.iterkeys():
            try:
                entry = old.get(key)
            except Exception:
                continue
            if isinstance(entry, dict) and "v" in entry and entry.get("d") == _digest(entry["v"]):
                batch.append((str(key), entry))
            if len(batch) >= MIGRATE_BATCH:
                self._put_entries(batch)
                batch = []
        self._put_entries(batch)
        old.close()
        shutil.rmtree(legacy, ignore_errors=True)

    def _put_entries(self, entries: list[tuple[str, Any]]) -> None:
        with self._cache.transact():
            for full_key, entry in entries:
                self._cache.set(full_key, entry)

    def get(self, ns: str, key: str) -> Any | None:
        entry = self._read(f"{ns}:{key}")
        return None if entry is None else entry["v"]

    def _read(self, full_key: str) -> dict[str, Any] | None:
        try:
            entry = self._cache.get(full_key)
        except Exception:  # refused pickle, bad JSON, damaged compression: never trusted, never executed
            entry = False
        if entry is None:
            return None
        if not isinstance(entry, dict) or "v" not in entry or entry.get("d") != _digest(entry["v"]):
            self.rejected += 1
            return None
        return entry

    def set_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> int:
        """Entries {"v": value, "t": created, "d": sha256 of the value's canonical JSON}, in one transaction."""
        stamp = json.dumps(time.time())
        n = 0
        with self._cache.transact():
            for key, value in items:
                body = canonical_json(value)
                digest = hashlib.sha256(body.encode()).hexdigest()
                self._cache.set(f"{ns}:{key}", Encoded(f'{{"v":{body},"t":{stamp},"d":"{digest}"}}'))
                n += 1
        return n

    def set(self, ns: str, key: str, value: Any) -> None:
        self.set_many(ns, [(key, value)])

    def stats(self) -> dict[str, Any]:
        per_ns: Counter[str] = Counter(str(k).split(":", 1)[0] for k in self._cache.iterkeys())
        return {
            "directory": str(self.directory),
            "entries": sum(per_ns.values()),
            "bytes": self._cache.volume(),
            "by_kind": dict(sorted(per_ns.items())),
        }

    def check(self, fix: bool = False) -> list[str]:
        """diskcache's own integrity check, then every entry's digest; `fix` deletes what fails."""
        problems = [str(w.message) for w in self._cache.check(fix=fix)]
        bad = []
        for raw in self._cache.iterkeys():
            before = self.rejected
            if self._read(raw) is None and self.rejected > before:
                bad.append(raw)
        for raw in bad:
            problems.append(f"{raw}: value does not match its digest (edited or damaged){'; deleted' if fix else ''}")
            if fix:
                self._cache.delete(raw)
        return problems

    def prune(self, older_than_s: float, ns: str | None = None) -> int:
        """Delete entries older than `older_than_s` seconds (of one namespace, or all)."""
        cutoff = time.time() - older_than_s
        doomed = []
        for key in self._cache.iterkeys():
            if ns and not str(key).startswith(f"{ns}:"):
                continue
            entry = self._read(key)
            if entry is None or entry.get("t", 0) < cutoff:
                doomed.append(key)
        with self._cache.transact():
            for key in doomed:
                self._cache.delete(key)
        return len(doomed)

    def close(self) -> None:
        self._cache.close()
