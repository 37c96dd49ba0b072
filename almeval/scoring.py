"""Per-item metrics (memoised in the store by metric key) and per-subset aggregates (C9, C10)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from .metrics import Recipe
from .plan import DatasetPlan, ModelSpec
from .recipes import recipes_for
from .references import get
from .stats import reuse_or_compute
from .store import Store
from .values import DatasetInfo, ItemScore, Prediction, Sample, Score

OVERALL = ""  # the subset name of a whole-dataset row
T = TypeVar("T")


class ItemScorer:
    """Collects per-item values per (dataset, recipe) as predictions land; rows go to the store."""

    def __init__(self, model: str):
        self.model = model
        self.values: dict[tuple[str, str], dict[str, tuple[int, ...]]] = defaultdict(dict)
        self.recipes: dict[str, tuple[Recipe, ...]] = {}

    def use(self, info: DatasetInfo) -> None:
        """Score this benchmark's items with its rule recipes as they land."""
        self.recipes[info.name] = recipes_for(info)

    def score(self, pairs: Iterable[tuple[Sample, Prediction]]) -> list[ItemScore]:
        rows = []
        for sample, pred in pairs:
            for recipe in self.recipes.get(sample.dataset, ()):
                values = recipe.item(sample, pred)
                self.values[(sample.dataset, recipe.id)][sample.index] = recipe.compact(values)
                rows.append(self._row(sample, recipe, recipe.item_key(sample, pred), values))
        return rows

    def _row(self, sample: Sample, recipe: Recipe, key: str, values: Mapping[str, float]) -> ItemScore:
        return ItemScore(self.model, sample.dataset, sample.subset, sample.index, recipe.id, key, values)

    def fill(self, plan: DatasetPlan, store: Store) -> list[ItemScore]:
        """Values for items not scored as they landed (cache hits): reuse stored ones whose metric key
        still matches, compute the rest."""
        rows: list[ItemScore] = []
        for recipe in recipes_for(plan.info):
            have = self.values[(plan.info.name, recipe.id)]
            todo = [req for req in plan.requests if req.sample.index not in have]
            stored = store.item_scores(self.model, plan.info.name, recipe.id) if todo else {}
            for req in todo:
                s = req.sample
                pred = plan.known[req.key]
                key = recipe.item_key(s, pred)
                old = stored.get(s.index)
                values = json.loads(old[1]) if old and old[0] == key else recipe.item(s, pred)
                if not (old and old[0] == key):
                    rows.append(self._row(s, recipe, key, values))
                have[s.index] = recipe.compact(values)
        return rows

    def aggregate(
        self, plan: DatasetPlan, spec: ModelSpec, run_id: str, provenance: Mapping[str, Any], store: Store
    ) -> list[Score]:
        lang = plan.requests[0].sample.lang if plan.requests else ""
        scope = Scope(
            spec.id.key,
            plan.info.name,
            plan.size,
            run_id,
            provenance,
            store.score_values(spec.id.key, plan.info.name),
            complete=len(plan.requests) == plan.size,
        )
        rows = []
        for recipe in recipes_for(plan.info):
            have = self.values[(plan.info.name, recipe.id)]
            items = [(req.sample.subset, have[req.sample.index]) for req in plan.requests]
            reference = getattr(recipe, "reference", "")  # a compat recipe names the checkout it read
            mine = (
                replace(scope, provenance={**provenance, "reference": get(reference).provenance()})
                if reference
                else scope
            )
            rows += subset_scores(mine, recipe.id, items, partial(recipe.aggregate, lang))
        return rows


@dataclass(frozen=True)
class Scope:
    """Whose scores these are and what they are measured against: the model key, the benchmark, the size
    of its manifest in force, the run, the provenance every row carries and the scores stored before
    (reused where their per-item inputs did not change)."""

    model: str
    dataset: str
    size: int
    run_id: str
    provenance: Mapping[str, Any]
    previous: Mapping[tuple[str, str], Mapping[str, Any]]
    complete: bool = True  # False: fewer items than the manifest holds


def subset_scores(
    scope: Scope,
    recipe: str,
    items: Sequence[tuple[str, T]],
    aggregate: Callable[[list[T]], dict[str, Any]],
    inputs: Callable[[list[T]], Any] = list,
    partial_when: Callable[[Mapping[str, Any]], bool] = lambda values: False,
    provenance_from: Sequence[str] = (),
) -> list[Score]:
    """The one aggregation loop for rule and judge recipes: `items` are (subset, per-item input) pairs;
    each subset and the whole benchmark (subset "") get `aggregate` of their items, reused from the
    stored score when `inputs` of the group did not change. `partial_when` marks a score partial from
    its values (e.g. unjudged items); `provenance_from` copies value fields into the provenance."""
    groups: dict[str, list[T]] = defaultdict(list)
    for subset, item in items:
        groups[OVERALL].append(item)
        if subset != OVERALL:  # an item without a subset is counted once, in the whole benchmark's row
            groups[subset].append(item)
    rows = []
    done: dict[tuple[int, ...], dict[str, Any]] = {}  # a group of the same items (one subset: the whole) once
    for subset, group in groups.items():
        same = tuple(map(id, group))
        if same not in done:
            done[same] = reuse_or_compute(scope.previous, (subset, recipe), inputs(group), partial(aggregate, group))
        values = dict(done[same])
        rows.append(
            Score(
                model=scope.model,
                dataset=scope.dataset,
                subset=subset,
                recipe=recipe,
                values=values,
                n=len(group),
                size=scope.size,
                complete=scope.complete and not partial_when(values),
                provenance={**scope.provenance, "recipe": recipe, **{k: values[k] for k in provenance_from}},
                run_id=scope.run_id,
            )
        )
    return rows
