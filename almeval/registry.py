"""One generic lazy registry. Names map to "module:attr" strings imported on first use, so heavy
adapters (torch, transformers) load only when chosen; unknown names raise with "did you mean".

Plugins: a separate package adds entries through entry points (`almeval.adapters`, `almeval.benchmarks`),
read once with `load_entry_points`. A name registered twice to different targets is an error (a
plugin cannot silently replace a built-in); `replace=True` is for deliberate overrides (config.yaml)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from .errors import ConfigError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._targets: dict[str, str | T] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str, target: str | T, *, replace: bool = False, **meta: Any) -> None:
        """Register `target` ("package.module:attr" or the object itself) under a case-insensitive name."""
        old = self._targets.get(name.lower())
        if old is not None and not replace and old != target:
            where = meta.get("source") or "the caller"
            raise ConfigError(
                f"{self.kind} {name!r} is registered twice ({where} again, first by "
                f"{self._meta[name.lower()].get('source', 'almeval')}); rename one of them"
            )
        self._targets[name.lower()] = target
        self._meta[name.lower()] = {"name": name, **meta}

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(m["name"] for m in self._meta.values())

    def meta(self, name: str) -> dict[str, Any]:
        self._check(name)
        return self._meta[name.lower()]

    def get(self, name: str) -> T:
        self._check(name)
        target = self._targets[name.lower()]
        if isinstance(target, str):
            target = load_object(target)
            self._targets[name.lower()] = target
        return target

    def _check(self, name: str) -> None:
        if name.lower() not in self._targets:
            raise UnknownNameError(self.kind, name, list(self))


def load_entry_points(group: str) -> list[tuple[str, str, str]]:
    """(name, "module:attr", distribution) for every entry point in `group` of the installed packages."""
    from importlib.metadata import entry_points

    return [(ep.name, ep.value, ep.dist.name if ep.dist else "?") for ep in entry_points(group=group)]


def load_object(target: str) -> Any:
    """ "package.module:attr" → the object."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
