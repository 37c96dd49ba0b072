"""Models almeval names but cannot run yet: choosing one says so plainly (never a traceback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from almeval.errors import ConfigError

from .base import Adapter, Output


class Unbuilt(Adapter):
    name = "unbuilt"

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        raise ConfigError("this model's adapter is not implemented yet; see `almeval models list`")

    def generate(self, requests: list[Any]) -> list[Output]:
        raise ConfigError("not implemented")
