"""openai/evals registries, read as data: eval specs, eval sets, model-graded specs and samples.

A registry is a folder in the `evals/registry/` layout of openai/evals and its forks: `evals/*.yaml`
(eval specs), `eval_sets/*.yaml`, `modelgraded/*.yaml`, `data/**/samples.jsonl`. The official one comes
with the `evals` package (installed `--no-deps` by `make install`: almeval never imports it, only reads
its files); `--oai-registry DIR` adds more, later ones overriding earlier ones by name, as oaieval's
`--registry_path` does. Names resolve through the specs' `id` indirection (`test-match` →
`test-match.s1.simple-v0` → class + args). Nothing here runs an eval yet: this is the registry reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, DataError, UnknownNameError


def official_registry() -> Path | None:
    """The registry inside the installed `evals` package (found, never imported), or None."""
    from importlib.util import find_spec

    spec = find_spec("evals")
    for folder in spec.submodule_search_locations or () if spec else ():
        registry = Path(folder) / "registry"
        if (registry / "evals").is_dir():
            return registry
    return None


@dataclass(frozen=True)
class EvalSpec:
    """An eval as its registry declares it: the name asked for, the spec id it resolves to, the grader
    class (as oaieval names it), its args, the metrics it reports, and the registry that declared it."""

    name: str
    id: str
    cls: str
    args: Mapping[str, Any]
    metrics: tuple[str, ...]
    description: str
    registry: Path

    def samples_path(self, registries: Sequence[Path]) -> Path:
        """`args.samples_jsonl`, relative to a registry's data/ (the declaring one first, then the others
        from the last given)."""
        rel = self.args.get("samples_jsonl")
        if not rel:
            raise DataError(f"oai:{self.name}", "the eval names no samples_jsonl", "check its spec in the registry")
        for registry in [self.registry, *reversed(registries)]:
            path = registry / "data" / str(rel)
            if path.is_file():
                return path
        raise DataError(
            f"oai:{self.name}",
            f"samples file {rel} not found under any registry's data/",
            "install the registry's data (a fork's data/ is often kept in Git LFS: `git lfs pull`)",
        )


@dataclass
class Registry:
    """Registries merged in order (later ones override earlier ones by name)."""

    dirs: tuple[Path, ...]
    specs: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    modelgraded: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)

    @classmethod
    def load(cls, extra: Iterable[str | Path] = (), official: bool = True) -> Registry:
        dirs = [d for d in ([official_registry()] if official else []) if d is not None]
        for d in extra:
            path = Path(d).expanduser().resolve()
            if not (path / "evals").is_dir() and not (path / "eval_sets").is_dir():
                raise ConfigError(f"--oai-registry {d}: not a registry folder (no evals/ or eval_sets/ inside)")
            dirs.append(path)
        out = cls(tuple(dirs))
        for registry in dirs:
            for name, spec in _yaml_entries(registry / "evals"):
                out.specs[name] = (spec, registry)
            for name, spec in _yaml_entries(registry / "modelgraded"):
                out.modelgraded[name] = (spec, registry)
            for name, spec in _yaml_entries(registry / "eval_sets"):
                evals = spec.get("evals") if isinstance(spec, dict) else None
                if not isinstance(evals, list):
                    raise ConfigError(f"{registry / 'eval_sets'}: eval set {name!r} has no list of evals")
                out.sets[name] = tuple(str(e) for e in evals)
        return out

    @cached_property
    def names(self) -> list[str]:
        """The evals a user asks for by name: entries that are not themselves a resolved id's target."""
        targets = {str(spec.get("id")) for spec, _ in self.specs.values() if isinstance(spec, dict) and "id" in spec}
        return sorted(n for n in self.specs if n not in targets)

    def resolve(self, name: str) -> EvalSpec:
        if name not in self.specs:
            raise UnknownNameError("openai/evals eval", name, self.names)
        seen, current = [name], name
        spec, registry = self.specs[name]
        meta = dict(spec)
        while "class" not in spec:
            target = spec.get("id")
            if not target or target in seen or target not in self.specs:
                chain = " → ".join([*seen, str(target)])
                raise ConfigError(f"openai/evals spec {name!r} does not resolve to a class ({chain})")
            seen.append(str(target))
            current = str(target)
            spec, registry = self.specs[current]
        return EvalSpec(
            name=name,
            id=current,
            cls=str(spec["class"]),
            args=dict(spec.get("args") or {}),
            metrics=tuple(str(m) for m in (meta.get("metrics") or spec.get("metrics") or ())),
            description=str(meta.get("description") or ""),
            registry=registry,
        )

    def eval_set(self, name: str) -> tuple[str, ...]:
        if name not in self.sets:
            raise UnknownNameError("openai/evals eval set", name, self.sets)
        return self.sets[name]

    def samples(self, spec: EvalSpec) -> list[dict[str, Any]]:
        """The eval's samples, each with its 0-based line as `index`; `input` (a string or chat messages)
        and `ideal` (a string or a list) checked."""
        path = spec.samples_path(self.dirs)
        out: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh):
                if not raw.strip():
                    continue
                where = f"{path}:{lineno + 1}"
                try:
                    row = json.loads(raw)
                except ValueError as exc:
                    raise DataError(where, f"not valid JSON ({exc})", "fix or remove that line") from None
                if not isinstance(row, dict) or "input" not in row:
                    raise DataError(where, "a sample needs an input (a string or chat messages)", "fix that line")
                if not isinstance(row["input"], (str, list)):
                    raise DataError(where, "input must be a string or a list of messages", "fix that line")
                out.append({**row, "index": len(out)})
        return out

    def listing(self) -> list[dict[str, Any]]:
        """Every eval by name (class, metrics, description, registry) and every eval set."""
        rows: list[dict[str, Any]] = []
        for name in self.names:
            try:
                spec = self.resolve(name)
            except ConfigError as exc:
                rows.append({"eval": name, "error": str(exc)})
                continue
            rows.append(
                {
                    "eval": name,
                    "id": spec.id,
                    "class": spec.cls,
                    "metrics": list(spec.metrics),
                    "description": spec.description,
                    "registry": str(spec.registry),
                }
            )
        rows += [{"eval_set": name, "evals": list(evals)} for name, evals in sorted(self.sets.items())]
        return rows


def _yaml_entries(folder: Path) -> Iterable[tuple[str, Any]]:
    """(name, spec) from every YAML file under `folder` (several top-level names per file)."""
    if not folder.is_dir():
        return
    import yaml

    for path in sorted(folder.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a registry file maps names to specs")
        yield from ((str(k), v) for k, v in data.items())
