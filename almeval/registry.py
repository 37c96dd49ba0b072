"""One generic lazy registry. Names map to "module:attr" strings imported on first use, so heavy
adapters (torch, transformers) load only when chosen; unknown names raise with "did you mean"."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._targets: dict[str, str | T] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str, target: str | T, **meta: Any) -> None:
        """Register `target` ("package.module:attr" or the object itself) under a case-insensitive name."""
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
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._targets[name.lower()] = target
        return target

    def _check(self, name: str) -> None:
        if name.lower() not in self._targets:
            raise UnknownNameError(self.kind, name, list(self))
