"""The disk cache (C8): a content-keyed memo shared across work dirs.

Deleting it never changes a score: the SQLite store is the record, this only saves recomputation.
Entries are namespaced ("pred", "metric", "audio", later "judge") and carry their creation time so
`prune` can drop old ones.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import diskcache

from almeval.errors import StoreError


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
            self._cache = diskcache.Cache(str(self.directory), eviction_policy="none", size_limit=2**62)
        except Exception as exc:  # sqlite3.DatabaseError, OSError
            raise StoreError(f"cannot open the disk cache at {self.directory}: {exc}") from exc

    def get(self, ns: str, key: str) -> Any | None:
        entry = self._cache.get(f"{ns}:{key}")
        return None if entry is None else entry["v"]

    def set_many(self, ns: str, items: Iterable[tuple[str, Any]]) -> int:
        now = time.time()
        n = 0
        with self._cache.transact():
            for key, value in items:
                self._cache.set(f"{ns}:{key}", {"v": value, "t": now})
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
        return [str(w.message) for w in self._cache.check(fix=fix)]

    def prune(self, older_than_s: float, ns: str | None = None) -> int:
        """Delete entries older than `older_than_s` seconds (of one namespace, or all)."""
        cutoff = time.time() - older_than_s
        doomed = []
        for key in self._cache.iterkeys():
            if ns and not str(key).startswith(f"{ns}:"):
                continue
            entry = self._cache.get(key)
            if entry is not None and entry.get("t", 0) < cutoff:
                doomed.append(key)
        with self._cache.transact():
            for key in doomed:
                self._cache.delete(key)
        return len(doomed)

    def close(self) -> None:
        self._cache.close()
