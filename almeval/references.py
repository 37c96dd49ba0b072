"""Reference implementations almeval reproduces, read from the user's own checkout at run time.

almeval never carries another project's prompts, phrase lists, normalisers or templates in its files.
A reference-compatible recipe (`asr-kimi`, …) loads what it needs from a checkout the user points at:

    --reference kimi=PATH            (eval; repeatable: kimi, voicebench)
    REFERENCES: {kimi: PATH}         (config.yaml)
    ALMEVAL_REFERENCE_KIMI=PATH      (environment; ALMEVAL_REFERENCE_VOICEBENCH likewise)

in that order of precedence. Its git commit (or, outside git, a digest of the files read) is recorded
in every score's provenance and enters the per-item metric keys, so a different checkout re-scores.
Code is imported from the checkout under a private module name (`load_package`), never into almeval's
own namespace; nothing of it runs at import of almeval. `almeval reference get NAME` clones the pinned
commit where the network allows.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .errors import ConfigError


@dataclass(frozen=True)
class Known:
    """A reference almeval knows: where to get it, the commit its recipes were measured against, and a
    file that must be in a checkout of it."""

    name: str
    title: str
    url: str
    commit: str
    marker: str


KNOWN: dict[str, Known] = {
    k.name: k
    for k in (
        Known(
            "kimi",
            "Kimi-Audio-Evalkit",
            "https://github.com/MoonshotAI/Kimi-Audio-Evalkit",
            "4080c492effcbb38d18e9d8893a9d61885f19d9b",
            "almeval/metrics/wer.py",
        ),
        Known(
            "voicebench",
            "VoiceBench",
            "https://github.com/MatthewCYM/VoiceBench",
            "533815410e3f4d602bd15a1de7105aea4acd828c",
            "src/evaluator/mcq.py",
        ),
    )
}


@dataclass(frozen=True)
class Reference:
    name: str
    path: Path
    commit: str  # the checkout's git commit, or "files:<digest>" outside git

    def provenance(self) -> dict[str, str]:
        known = KNOWN[self.name]
        pinned = self.commit == known.commit
        return {"reference": known.title, "commit": self.commit, "pinned": "yes" if pinned else f"no ({known.commit})"}


_CHOSEN: dict[str, str] = {}  # name → path given on the command line or in config.yaml (this process)


def installed_version(distribution: str) -> str:
    """The installed version of a distribution ("" when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def choose(pairs: Mapping[str, str], config: Mapping[str, object] | None = None) -> None:
    """Record the checkouts this run uses: `--reference NAME=PATH` over config.yaml `REFERENCES`."""
    section = dict(config or {})
    _CHOSEN.clear()
    _VIEW[0] = ""
    for name, path in {**{str(k): str(v) for k, v in section.items()}, **pairs}.items():
        if name not in KNOWN:
            from .errors import UnknownNameError

            raise UnknownNameError("reference", name, KNOWN)
        _CHOSEN[name] = path
    _resolved.clear()


_resolved: dict[str, Reference] = {}


VIEWS = {
    "default": "",
    "kimi": "kimi",
    "voicebench": "voicebench",
}  # a --recipe view → the reference its compat recipes need


_VIEW: list[str] = [""]  # the view this process's eval asked for (its compat judge requests are used)


def require_view(view: str) -> None:
    """`--recipe kimi` on eval: its recipes must be computable, so the checkout must be there (exit 2)."""
    if view not in VIEWS:
        from .errors import UnknownNameError

        raise UnknownNameError("recipe view", view, VIEWS)
    if VIEWS[view]:
        get(VIEWS[view])
    _VIEW[0] = view


def wanted(name: str) -> bool:
    """Whether this run asked for the reference's view (`--recipe NAME`) and has its checkout."""
    return _VIEW[0] == name and available(name)


def where(name: str) -> str:
    """The path configured for a reference ("" = none)."""
    return _CHOSEN.get(name) or os.environ.get(f"ALMEVAL_REFERENCE_{name.upper()}", "")


def available(name: str) -> bool:
    return bool(where(name))


def get(name: str) -> Reference:
    """The reference's checkout, checked; a clear error (exit 2) saying how to get it when there is none."""
    if name in _resolved:
        return _resolved[name]
    known = KNOWN[name]
    path = where(name)
    how = (
        f"get it with `almeval reference get {name} --into DIR` (or git clone {known.url}; git checkout "
        f"{known.commit[:12]}) and pass --reference {name}=DIR, set REFERENCES: {{{name}: DIR}} in config.yaml, "
        f"or ALMEVAL_REFERENCE_{name.upper()}=DIR"
    )
    if not path:
        raise ConfigError(f"the {name} recipes reproduce {known.title} from a checkout of it, and none is set: {how}")
    root = Path(path).expanduser().resolve()
    if not (root / known.marker).is_file():
        raise ConfigError(f"{root} is not a checkout of {known.title} (no {known.marker}): {how}")
    ref = Reference(name, root, _commit(root, known.marker))
    _resolved[name] = ref
    return ref


def _commit(root: Path, marker: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        folder = (root / marker).parent
        digest = hashlib.sha256()
        for f in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes())
        return f"files:{digest.hexdigest()[:16]}"


def load_package(folder: Path, alias: str, run_init: bool = True) -> ModuleType:
    """Import the package in `folder` under the module name `alias` (its relative imports resolve inside
    it), without running any parent package's `__init__` — nor its own with `run_init=False` (a package
    whose `__init__` imports everything, e.g. evaluators needing services almeval does not use). Loaded
    once per process."""
    if alias in sys.modules:
        return sys.modules[alias]
    if not run_init:
        shell = ModuleType(alias)
        shell.__path__ = [str(folder)]
        shell.__package__ = alias
        sys.modules[alias] = shell
        return shell
    init = folder / "__init__.py"
    spec = importlib.util.spec_from_file_location(alias, init, submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None or not init.is_file():
        raise ConfigError(f"cannot load {folder} as a package (no __init__.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[alias]
        raise
    return module


def load_module(ref: Reference, package: str, module: str, run_init: bool = True) -> ModuleType:
    """`package/module` of a reference checkout (e.g. kimi's almeval/metrics, wer), imported privately."""
    digest = hashlib.sha256(f"{ref.path}@{ref.commit}@{package}".encode()).hexdigest()[:12]
    alias = f"_almeval_ref_{ref.name}_{digest}"
    load_package(ref.path / package, alias, run_init)
    return importlib.import_module(f"{alias}.{module}")


def clone(name: str, into: Path, url: str = "", commit: str = "") -> Reference:
    """`almeval reference get`: clone the reference and check out the commit almeval was measured against
    (or `commit`, from `url`: a mirror)."""
    known = KNOWN[name]
    if into.exists() and any(into.iterdir()):
        raise ConfigError(f"{into} exists and is not empty: pass an empty or new folder")
    try:
        subprocess.run(["git", "clone", "-q", url or known.url, str(into)], check=True, timeout=600)
        subprocess.run(["git", "-C", str(into), "checkout", "-q", commit or known.commit], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        source = url or known.url
        raise ConfigError(f"could not clone {source} ({exc}); clone it yourself where the network allows") from exc
    _CHOSEN[name] = str(into)
    _resolved.pop(name, None)
    return get(name)


# Reading a reference's source as data: its constants are taken with `ast`, never executed.


def _tree(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise ConfigError(f"cannot read {path} from a reference's source ({exc})") from None


def _string(value: ast.expr) -> str | None:
    """A string literal, or a string literal's `.strip()` applied as written; None for anything else."""
    stripped = False
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "strip":
        stripped = not value.args
        value = value.func.value
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value.strip() if stripped else value.value
    return None


def module_string(path: Path, name: str) -> str:
    """The string a module assigns to `name` at top level (read, not executed); a literal's `.strip()`
    is applied as written."""
    for node in _tree(path).body:
        if not (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)):
            continue
        text = _string(node.value)
        if text is not None:
            return text
    raise ConfigError(f"{path} defines no string {name}: is this checkout the version almeval knows?")


def module_dict(path: Path, name: str) -> dict[str, str]:
    """The string values of a dict literal a module assigns to `name` at top level (read, not executed)."""
    for node in _tree(path).body:
        named = isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        if named and isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            pairs = zip(node.value.keys, node.value.values, strict=True)
            found = {k.value: _string(v) for k, v in pairs if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            return {k: v for k, v in found.items() if v is not None}
    raise ConfigError(f"{path} defines no dict {name}: is this checkout the version almeval knows?")


def dict_value(path: Path, key: str, value: str, wanted: str) -> str:
    """The string under `wanted` in a dict literal whose `key` is `value` (e.g. its system message)."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Dict):
            items = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}
            found, text = items.get(key), items.get(wanted)
            if (
                isinstance(found, ast.Constant)
                and found.value == value
                and isinstance(text, ast.Constant)
                and isinstance(text.value, str)
            ):
                return text.value
    raise ConfigError(f"{path}: no {{{key!r}: {value!r}, {wanted!r}: ...}} literal: is this the version almeval knows?")


def assigned_key(path: Path, function: str, key: str) -> str:
    """The string a function assigns to `something[key]` (e.g. a judge's system prompt)."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Assign)
                    and any(
                        isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == key
                        for t in inner.targets
                    )
                    and isinstance(inner.value, ast.Constant)
                    and isinstance(inner.value.value, str)
                ):
                    return inner.value.value
    raise ConfigError(f"{path}: {function}() sets no {key!r}: is this checkout the version almeval knows?")


def functions_from(path: Path, names: set[str], namespace: dict[str, object]) -> dict[str, object]:
    """Top-level definitions of a reference's source file, run as written but without importing its
    package (whose own imports may be heavy): each named `def`, `class` or assigned constant is taken with
    `ast` and executed in `namespace` (which supplies the modules they use), in file order; annotations
    are dropped. A name the file lacks is an error."""

    def defined(node: ast.stmt) -> set[str]:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return {node.name}
        if isinstance(node, ast.Assign):
            return {t.id for t in node.targets if isinstance(t, ast.Name)}
        return set()

    nodes = [n for n in _tree(path).body if defined(n) & names]
    missing = names - set().union(*map(defined, nodes))
    if missing:
        raise ConfigError(f"{path} defines no {', '.join(sorted(missing))}: is this the version almeval knows?")
    for node in nodes:
        for inner in ast.walk(node):
            if isinstance(inner, ast.FunctionDef):
                inner.returns = None
                for arg in [*inner.args.args, *inner.args.kwonlyargs]:
                    arg.annotation = None
    body: list[ast.stmt] = [*nodes]
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    return {name: namespace[name] for name in names}
