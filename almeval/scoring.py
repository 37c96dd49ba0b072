"""Per-item metrics (memoised in the store by metric key) and per-subset aggregates (C9, C10)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from .metrics import Recipe
from .plan import DatasetPlan, ModelSpec
from .recipes import recipes_for
from .stats import reuse_or_compute
from .store import Store
from .values import DatasetInfo, ItemScore, Prediction, Sample, Score

OVERALL = ""  # the subset name of a whole-dataset row


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
        rows = []
        lang = plan.requests[0].sample.lang if plan.requests else ""
        previous = store.score_values(spec.id.key, plan.info.name)
        for recipe in recipes_for(plan.info):
            have = self.values[(plan.info.name, recipe.id)]
            groups: dict[str, list[tuple[int, ...]]] = defaultdict(list)
            for req in plan.requests:
                groups[req.sample.subset].append(have[req.sample.index])
                groups[OVERALL].append(have[req.sample.index])
            for subset, values in groups.items():
                agg = reuse_or_compute(previous, (subset, recipe.id), values, partial(recipe.aggregate, lang, values))
                rows.append(
                    Score(
                        model=spec.id.key,
                        dataset=plan.info.name,
                        subset=subset,
                        recipe=recipe.id,
                        values=agg,
                        n=len(values),
                        size=plan.size,
                        complete=len(plan.requests) == plan.size,
                        provenance={**provenance, "recipe": recipe.id},
                        run_id=run_id,
                    )
                )
        return rows
