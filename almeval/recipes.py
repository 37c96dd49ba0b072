"""The recipe registry: every rule recipe by name (almeval's ASR recipes in metrics.py and the others in
rules.py, plus other packages' under the `almeval.recipes` entry point), and which of them a benchmark's
declaration names. The engine resolves names here; the recipe modules do not import each other."""

from __future__ import annotations

from functools import cache

from . import references
from .errors import ConfigError
from .image_rules import IMAGE_RECIPES
from .metrics import ASR_DEFAULT, ASR_KIMI, Recipe
from .registry import load_entry_points, load_object
from .rules import (
    BBH_VOICEBENCH,
    IFEVAL,
    MCQ_EXTRACT,
    MCQ_VOICEBENCH,
    MMAU_MATCH,
    OAI_FUZZY_MATCH,
    OAI_INCLUDES,
    OAI_MATCH,
    PEDANT,
    REFUSAL,
    REFUSAL_VOICEBENCH,
)
from .values import DatasetInfo, RecipeId


@cache
def _catalog() -> dict[str, Recipe]:
    """Every rule recipe by name: almeval's, then other packages' (entry point group `almeval.recipes`,
    each naming a Recipe object). A name given twice is an error."""
    out: dict[str, Recipe] = {}
    sources: dict[str, str] = {}
    builtin = (
        ASR_DEFAULT,
        ASR_KIMI,
        MCQ_EXTRACT,
        MCQ_VOICEBENCH,
        REFUSAL,
        REFUSAL_VOICEBENCH,
        BBH_VOICEBENCH,
        IFEVAL,
        PEDANT,
        MMAU_MATCH,
        OAI_MATCH,
        OAI_INCLUDES,
        OAI_FUZZY_MATCH,
        *IMAGE_RECIPES,
    )
    plugins = [(load_object(target), f"package {dist}") for _, target, dist in load_entry_points("almeval.recipes")]
    for recipe, source in [*((r, "almeval") for r in builtin), *plugins]:
        name = _key(recipe)
        if name in out:
            raise ConfigError(f"recipe {name!r} is registered twice ({source} again, first by {sources[name]})")
        out[name], sources[name] = recipe, source
    return out


# a benchmark's rules=None: (the task's rule recipes, optional ones: computed where they can run)
TASK_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {"ASR": (("asr-default",), ("asr-kimi",))}


def rule_names(info: DatasetInfo) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(rule recipe names, optional ones) a benchmark declares; an unknown name is an error."""
    task_rules, task_optional = TASK_RULES.get(info.task, ((), ()))
    names = info.rules if info.rules is not None else task_rules
    optional = (*info.optional_rules, *(task_optional if info.rules is None else ()))
    unknown = [n for n in (*names, *optional) if n not in _catalog()]
    if unknown:
        raise ConfigError(f"benchmark {info.name!r} names unknown recipe(s) {unknown}; known: {sorted(_catalog())}")
    return names, optional


def recipes_for(info: DatasetInfo) -> tuple[Recipe, ...]:
    """Rule recipes of a benchmark, plus its optional ones that can run here (their package installed,
    their reference checkout given); empty when only a judge scores it."""
    names, optional = rule_names(info)
    catalog = _catalog()
    return (*(catalog[n] for n in names), *(catalog[n] for n in optional if not _missing(catalog[n])))


def recipe_names(info: DatasetInfo) -> list[str]:
    """Every rule recipe of a benchmark, optional ones marked with what they need."""
    names, optional = rule_names(info)
    marked = [f"{n} (needs {need})" if (need := _missing(_catalog()[n])) else n for n in optional]
    return [*names, *marked]


def _missing(recipe: Recipe) -> str:
    """What an optional recipe lacks here: its package, or its reference checkout ("" = nothing)."""
    reference = getattr(recipe, "reference", "")
    if reference and not references.available(reference):
        return f"--reference {reference}=PATH"
    return "" if _installed(recipe.extra) else recipe.extra


def _key(recipe: Recipe) -> str:
    """A recipe's name as benchmarks declare it: its id without the version."""
    return RecipeId.parse(recipe.id).family


@cache
def _installed(extra: str) -> bool:
    from importlib.util import find_spec

    return not extra or find_spec(extra) is not None
