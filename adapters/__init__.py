"""Models under test (installed as almeval.adapters). Registered by string: heavy ones load on first use."""

from __future__ import annotations

from almeval.registry import Registry

from .base import Adapter, Output

MODELS: Registry[type[Adapter]] = Registry("model")
MODELS.register("fake", "almeval.adapters.fake:FakeAdapter", extra="", summary="scripted outputs for tests/benchmarks")
MODELS.register(
    "sphinx",
    "almeval.adapters.sphinx:SphinxAdapter",
    extra="sphinx",
    summary="pocketsphinx offline English ASR",
    requires="pocketsphinx",
)
MODELS.register(
    "replay",
    "almeval.adapters.replay:ReplayAdapter",
    extra="",
    summary="replay:PATH — score predictions made elsewhere",
)


def parse_model(spec: str, args: dict[str, str]) -> tuple[type[Adapter], dict[str, str]]:
    """`name` or `name:PATH` (+ --model-arg k=v) → (adapter class, options)."""
    name, _, arg = spec.partition(":")
    options = dict(args)
    if arg:
        options.setdefault("path", arg)
    return MODELS.get(name), options


__all__ = ["MODELS", "Adapter", "Output", "parse_model"]
