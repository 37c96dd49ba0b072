"""Layers (who may import whom), checked by scanning every module's imports: a lower layer importing a
higher one fails here. Only the store touches SQLite. ALLOWED lists the crossings that remain, each
with its reason; the list only ever shrinks."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# module (dotted, under almeval.) → layer. A package name covers its submodules.
LAYERS: dict[str, int] = {
    # L0 values and plain helpers
    "values": 0,
    "errors": 0,
    "registry": 0,
    "schema": 0,
    "stats": 0,
    "progress": 0,
    "cache.keys": 0,
    # L1 infrastructure
    "cache": 1,
    "store": 1,
    "endpoint": 1,
    "batching": 1,
    "config": 1,
    "prompts": 1,
    "references": 1,
    # L2 plugins: models under test, recipes, benchmarks, preparers
    "adapters": 2,
    "metrics": 2,
    "rules": 2,
    "image_rules": 2,
    "datasets": 2,
    "prepare": 2,
    # L3 the judge role
    "judges": 3,
    # L4 the engine
    "plan": 4,
    "scheduler": 4,
    "runner": 4,
    "judging": 4,
    "scoring": 4,
    "preparing": 4,
    "recipes": 4,
    # L5 surface
    "report": 5,
    "diff": 5,
    "export": 5,
    "html_report": 5,
    "cli": 5,
    "__main__": 5,
    "__init__": 5,
}
# L2 parts stay apart (image_rules extends rules: its _Rule base)
PLUGINS = ("adapters", "metrics", "rules", "datasets", "prepare")

# (importer, imported): why it is still allowed. Remove a line when its crossing is gone.
ALLOWED: dict[tuple[str, str], str] = {}


def _files() -> list[tuple[str, Path]]:
    """(dotted name under almeval., path) for every module; the links inside almeval/ are scanned under
    their real top-level folders."""
    out = []
    for root, prefix in ((REPO / "almeval", ""), (REPO / "adapters", "adapters"), (REPO / "judges", "judges")):
        out += [(_name(prefix, p.relative_to(root)), p) for p in sorted(root.rglob("*.py"))]
    out += [(_name("cache", p.relative_to(REPO / "cache")), p) for p in sorted((REPO / "cache").rglob("*.py"))]
    out.append(("cli", REPO / "cli.py"))
    links = {"adapters", "judges", "cache", "cli.py"}  # inside almeval/: scanned under their real paths
    return [(m, p) for m, p in out if p.relative_to(REPO).parts[:2] not in {("almeval", n) for n in links}]


def _name(prefix: str, rel: Path) -> str:
    parts = [prefix, *rel.with_suffix("").parts]
    return ".".join(p for p in parts if p and p != "__init__") or "__init__"


def _unit(module: str) -> str:
    """The LAYERS entry that covers a dotted module name."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    return parts[0]


def _imports(module: str, path: Path) -> set[str]:
    """almeval modules imported by `module` (dotted, without the `almeval.` prefix)."""
    full = f"almeval.{module}" if module != "__init__" else "almeval"
    package = full if path.name == "__init__.py" else full.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found.update([base] if node.module else [f"{base}.{a.name}" for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    inside = {f[len("almeval.") :] for f in found if f.startswith("almeval.")}
    return {f for f in inside if _unit(f) in LAYERS}


def _violations() -> set[tuple[str, str]]:
    bad = set()
    for module, path in _files():
        me = _unit(module)
        for imported in _imports(module, path):
            other = _unit(imported)
            if other == me or other.startswith(me + ".") or me.startswith(other + "."):
                continue
            sibling_plugins = LAYERS[other] == LAYERS[me] == 2 and me in PLUGINS and other in PLUGINS
            if other == "cli" and me != "__main__":
                bad.add((me, other))  # nothing but `python -m almeval` imports the CLI
            elif LAYERS[other] > LAYERS[me] or sibling_plugins:
                bad.add((me, other))
    return bad


def test_no_module_imports_a_higher_layer_or_a_sibling_plugin():
    found = _violations()
    new = found - set(ALLOWED)
    assert not new, f"layer crossings: {sorted(new)} (see LAYERS in this test)"


def test_the_allow_list_only_holds_crossings_that_still_exist():
    stale = set(ALLOWED) - _violations()
    assert not stale, f"remove these from ALLOWED, they are gone: {sorted(stale)}"


def test_only_the_store_talks_to_sqlite():
    for module, path in _files():
        if _unit(module) == "store":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                assert not any(n and n.split(".")[0] in ("sqlite3", "sqlite_utils") for n in names), path
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.upper()
                assert not ("SELECT " in text and " FROM " in text), f"SQL outside the store in {path}"
