"""Judge templates that reproduce a reference's own judge requests, built at run time from the user's
checkout of it (almeval/references.py) — almeval carries none of their text.

Kimi-Audio-Evalkit (`kimi:open-qa`): the open-QA prompt is the module constant its open-QA datasets
format (`almeval/datasets/ds_openqa.py`, read with `ast`, never executed); the system prompt is the one
its gpt-4o-mini judge is built with (`almeval/judge_models/__init__.py`); the request is what its client
sends: the user message as one text content part, temperature 0.5 and top_p 0.95 as its open-QA scoring
passes them, max_tokens 1024, n 1, frequency and presence penalty 0 and stop null as its defaults; the
reply read as a number, else the first `[[n]]` (parser `first_number_or_rating`), invalid replies dropped
by the `judge-kimi` recipe as it drops them. Used for alpacaeval_full and commoneval with `--recipe kimi`.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from almeval import references
from almeval.cache.keys import canonical_json
from almeval.errors import ConfigError

from .templates import Template

KIMI_OPEN_QA = "kimi:open-qa"
# the benchmarks Kimi-Audio-Evalkit judges with its open-QA prompt
KIMI_WIRING = {"alpacaeval_full": KIMI_OPEN_QA, "commoneval": KIMI_OPEN_QA}
KIMI_OPEN_QA_PARAMS: dict[str, Any] = {
    "temperature": 0.5,
    "top_p": 0.95,
    "max_tokens": 1024,
    "n": 1,
    "frequency_penalty": 0,
    "presence_penalty": 0,
    "stop": None,
}


def reference_templates() -> dict[str, Template]:
    """The compat templates whose reference checkout is given (none otherwise)."""
    if not references.available("kimi"):
        return {}
    ref = references.get("kimi")
    return {KIMI_OPEN_QA: _kimi_open_qa(str(ref.path), ref.commit)}


@cache
def _kimi_open_qa(path: str, commit: str) -> Template:
    root = Path(path)
    user = module_string(root / "almeval/datasets/ds_openqa.py", "OPEN_QA_PROMPT")
    system = assigned_key(root / "almeval/judge_models/__init__.py", "get_gpt4o_mini_model", "system_prompt")
    sent = {"system": system, "user": user, "params": KIMI_OPEN_QA_PARAMS, "parts": True, "commit": commit}
    return Template(
        id=KIMI_OPEN_QA,
        digest=hashlib.sha256(canonical_json(sent).encode()).hexdigest(),
        parse="first_number_or_rating",
        user=user,
        system=system,
        params=dict(KIMI_OPEN_QA_PARAMS),
        description=f"Kimi-Audio-Evalkit's open-QA judge request, from the checkout at {commit[:12]}",
        delimit=False,
        reference="kimi",
    )


def _tree(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise ConfigError(f"cannot read {path} from the reference checkout ({exc})") from None


def module_string(path: Path, name: str) -> str:
    """The string a module assigns to `name` at top level (read, not executed)."""
    for node in _tree(path).body:
        named = isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        if named and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):  # type: ignore[attr-defined]
            return str(node.value.value)  # type: ignore[attr-defined]
    raise ConfigError(f"{path} defines no string {name}: is this checkout the version almeval knows?")


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
