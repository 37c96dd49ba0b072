"""openai/evals registries, read as data: eval specs, eval sets, model-graded specs and samples.

A registry is a folder in the `evals/registry/` layout of openai/evals and its forks: `evals/*.yaml`
(eval specs), `eval_sets/*.yaml`, `modelgraded/*.yaml`, `data/**/samples.jsonl`. The official one comes
with the `evals` package (installed `--no-deps` by `make install`: almeval never imports it, only reads
its files); `--oai-registry DIR` adds more, later ones overriding earlier ones by name, as oaieval's
`--registry_path` does. Names resolve through the specs' `id` indirection (`test-match` →
`test-match.s1.simple-v0` → class + args). `--data oai:NAME` / `oai-set:NAME` run them: each eval is a
text benchmark (task `Text`) whose samples come from its samples_jsonl, scored by its grader's recipe
(almeval/rules.py); classes almeval does not grade are a clear error listing the supported ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, DataError, UnknownNameError
from almeval.values import EMPTY, DatasetInfo, Sample

# grader class (as oaieval names it) → the rule recipe that grades it
GRADED = {
    "evals.elsuite.basic.match:Match": "oai-match",
    "evals.elsuite.basic.includes:Includes": "oai-includes",
    "evals.elsuite.basic.fuzzy_match:FuzzyMatch": "oai-fuzzy-match",
}
PREFIX = "oai:"
_RUN: dict[str, Any] = {"extra": (), "registry": None}  # this run's --oai-registry folders, loaded once


def use_registries(dirs: Iterable[str | Path]) -> None:
    """The run's --oai-registry folders (after the installed package's registry); read again at each run."""
    _RUN.update(extra=tuple(Path(d) for d in dirs), registry=None)


def registry() -> Registry:
    """The run's registries, parsed once per run (the official one alone is ~850 specs)."""
    if _RUN["registry"] is None:
        _RUN["registry"] = Registry.load(_RUN["extra"])
    return _RUN["registry"]


def select(selector: str) -> list[DatasetInfo]:
    """`oai:NAME` → one benchmark; `oai-set:NAME` → one per eval the set lists, named as it lists them."""
    reg = registry()
    is_set = selector.startswith("oai-set:")
    names = reg.eval_set(selector[len("oai-set:") :]) if is_set else (selector[len(PREFIX) :],)
    out = []
    for name in names:
        spec = reg.resolve(name)
        if spec.cls not in GRADED:
            raise ConfigError(
                f"openai/evals eval {name!r} uses {spec.cls}, which almeval does not grade yet; "
                f"supported: {', '.join(sorted(GRADED))}"
            )
        out.append(
            DatasetInfo(
                name=f"{PREFIX}{name}",
                task="Text",
                interactive="Text",
                audio_type="None",
                series="openai/evals",
                manifest=f"{PREFIX}{name}",
                description=spec.description,
                subsets=(name,),
                rules=(GRADED[spec.cls],),
                judge=None,
                group="Text evals (openai/evals)",
            )
        )
    return out


def load(info: DatasetInfo, limit: int | None) -> tuple[list[Sample], tuple[str, ...]]:
    """The eval's samples as text Samples (no audio): `question` the input rendered as text (what the
    content key covers), `meta.input` the messages as given, `meta.ideal` the ideal answer(s)."""
    reg = registry()
    spec = reg.resolve(info.name[len(PREFIX) :])
    rows = reg.samples(spec)
    samples = []
    for row in rows[: limit if limit is not None else None]:
        if "ideal" not in row:
            where = f"{spec.samples_path(reg.dirs)}:{int(row['index']) + 1}"
            raise DataError(where, f"{spec.cls} needs an ideal answer per sample", "add `ideal` to that line")
        ideal = row["ideal"]
        meta = {
            "input": row["input"],
            "ideal": ideal,
            "oai_args": {k: v for k, v in spec.args.items() if k == "ignore_case"},
        }
        samples.append(
            Sample(
                dataset=info.name,
                subset=info.name[len(PREFIX) :],
                index=str(row["index"]),
                audio=(),
                question=render(row["input"]),
                answer=ideal if isinstance(ideal, str) else str(ideal[0] if ideal else ""),
                task="Text",
                interactive="Text",
                audio_type="None",
                meta=meta or EMPTY,
                line=int(row["index"]) + 1,
            )
        )
    return samples, tuple(str(r["index"]) for r in rows)


def render(prompt: Any) -> str:
    """A chat input as text (one `role: content` line per message), or the string prompt itself."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in prompt if isinstance(m, dict))


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
