"""The judge's recipes, `judge-default` and `judge-kimi`: ordinary recipes that read an item's verdicts
(the judge stage only records replies; it never scores). Per-item values land in the item_scores table
like rule values, keyed by the template, its parse rule and the replies; per-subset aggregates and
panel agreement follow.

Replies are parsed here, from the stored raw text with the template's current parser, so changing a
parse rule or an aggregation re-scores with zero judge calls. Per item: the mean of its valid samples
(n > 1); an item whose prediction failed, or whose replies are all invalid or errored, counts at the
scale's floor in `judge-default` (never dropped), while `judge-kimi` drops invalid and errored items
from the denominator as Kimi-Audio-Evalkit does. Unjudged items (not yet sent) are reported, not scored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from almeval.cache.keys import content_key
from almeval.stats import mean_ci
from almeval.store import Store
from almeval.values import Agreement, ItemScore, RecipeId, Sample

from .pool import JudgeSpec
from .templates import Template, Wiring


@dataclass(frozen=True)
class JudgeRecipe:
    """`judge-<variant>@<version>:<judge>`: default counts invalid and errored items at the scale's
    floor; kimi drops them from the denominator, as Kimi-Audio-Evalkit does."""

    variant: str
    version: str = "1"

    def id(self, judge: str) -> str:
        return str(RecipeId(f"judge-{self.variant}", self.version, judge))

    def aggregate(self, items: list[JudgedItem]) -> dict[str, Any]:
        return aggregate(items, self.variant)


JUDGE_RECIPES = (JudgeRecipe("default"), JudgeRecipe("kimi"))


@dataclass(frozen=True)
class JudgedItem:
    idx: str
    subset: str
    status: str  # ok | invalid | error | failed | unjudged
    value: float | None  # on the reported scale
    template: Template | None
    models_returned: tuple[str, ...] = ()
    key: str = ""  # over the template (what it sends and how it is read), the replies and the statuses
    label: str = ""  # the verdict as read (a classification template's choice; "" for n > 1 or none)
    expected: str | None = None  # a metaeval sample's labelled choice (openai/evals ModelBasedClassify)
    group: Any = None  # a circular question's group (VLMEvalKit TSVs): the question is right only if all are

    @property
    def template_id(self) -> str:
        return self.template.id if self.template else ""

    def values(self) -> dict[str, Any]:
        """The per-item row stored in item_scores."""
        out = {"value": self.value, "status": self.status, "template": self.template.id if self.template else ""}
        return {**out, "label": self.label} if self.label else out


def judged_items(
    store: Store,
    wiring: Wiring,
    model: str,
    dataset: str,
    judge: JudgeSpec,
    samples: Iterable[tuple[Sample, str]],
) -> list[JudgedItem]:
    """`samples`: (sample, prediction status) for every item in scope."""
    rows = store.verdict_rows(model, dataset, judge.label)
    out = []
    for s, status in samples:
        template = wiring.template_for(s)
        out.append(_item(template and judge.template(template), s, status, rows.get(s.index, [])))
    return out


def _item(template: Template | None, s: Sample, pred_status: str, rows: list[dict[str, Any]]) -> JudgedItem:
    item = _verdict_of(template, s, pred_status, rows)
    group = s.meta.get("group")
    return replace(item, group=group) if group is not None else item


def _verdict_of(template: Template | None, s: Sample, pred_status: str, rows: list[dict[str, Any]]) -> JudgedItem:
    expected = s.meta.get("oai_choice")
    if template is None:
        return JudgedItem(s.index, s.subset, "unjudged", None, None, expected=expected)
    if pred_status != "ok":
        return JudgedItem(s.index, s.subset, "failed", None, template, expected=expected)
    current = [r for r in rows if r["template"] == template.id and r["sample_no"] < template.n]
    if not current:
        return JudgedItem(s.index, s.subset, "unjudged", None, template, expected=expected)
    _, mult, _ = template.scale
    values: list[float] = []
    labels: list[str] = []
    statuses = set()
    for r in current:
        if r["status"] != "ok":
            statuses.add("error")
            continue
        parsed = template.parse_reply(r["reply"], r.get("prediction") or "", s.answer)
        if not parsed.ok and r["repair"]:
            parsed = template.parse_reply(r["repair"], r.get("prediction") or "", s.answer)
        if parsed.ok:
            labels.append(parsed.label)
            if parsed.value is not None:
                values.append(parsed.value * mult)
        else:
            statuses.add("invalid")
    models = tuple(sorted({r["model_returned"] for r in current if r["model_returned"]}))
    key = content_key(
        "judged-item",
        {
            "template": [template.id, template.digest, template.parse, dict(template.options), template.json_verdict],
            "replies": sorted([r["sample_no"], r["status"], r["reply"] or "", r["repair"] or ""] for r in current),
            "prediction": next((r.get("prediction") or "" for r in current), ""),
            "answer": s.answer,
        },
    )
    label = labels[0] if len(current) == 1 and labels else ""
    if values or labels:  # a verdict without a score (a classification whose spec scores no choice) is ok
        value = sum(values) / len(values) if values else None
        return JudgedItem(s.index, s.subset, "ok", value, template, models, key, label, expected)
    status = "error" if "error" in statuses else "invalid"
    return JudgedItem(s.index, s.subset, status, None, template, models, key, expected=expected)


def aggregate(items: list[JudgedItem], recipe: str) -> dict[str, Any]:
    counts = {k: sum(1 for i in items if i.status == k) for k in ("ok", "invalid", "error", "failed", "unjudged")}
    template = next((i.template for i in items if i.template is not None), None)
    metric, mult, floor_raw = template.scale if template else ("acc", 100.0, 0.0)
    floor = None if floor_raw is None else floor_raw * mult
    kept = [
        i for i in items if i.status in ("ok", "failed") or (i.status in ("invalid", "error") and recipe == "default")
    ]
    # a verdict without a score (and an invalid one where no choice has a score) counts in n, not in the mean
    scored = [v for v in (i.value if i.status == "ok" else floor for i in kept) if v is not None]
    questions: dict[Any, list[float]] = defaultdict(list)
    for i in kept:
        if i.group is not None:
            questions[i.group].append(i.value if i.status == "ok" and i.value is not None else (floor or 0.0))
    if questions and any(len(v) > 1 for v in questions.values()):  # circular: a question is its worst rotation
        scored = [min(v) for v in questions.values()]
    value = round(sum(scored) / len(scored), 2) if scored else None
    out: dict[str, Any] = {
        metric: value,
        "metric": metric,
        "ci95": mean_ci(scored),
        "n": len(kept),
        "failed": counts["failed"],
        "invalid": counts["invalid"],
        "errors": counts["error"],
        "unjudged": counts["unjudged"],
        "template": template.id if template else "",
        "dropped": counts["invalid"] + counts["error"] if recipe == "kimi" else 0,
        "judge_models_returned": sorted({m for i in items for m in i.models_returned}),
    }
    if template is not None and "choice_strings" in template.options:  # a classification: how often each choice
        chosen = Counter(i.label if i.status == "ok" else "invalid" for i in items if i.status in ("ok", "invalid"))
        out["counts"] = dict(sorted(chosen.items()))
    labelled = [i for i in items if i.expected is not None and i.status in ("ok", "invalid", "failed")]
    if labelled:  # a metaeval: the share of items whose verdict is the labelled choice
        out["metascore"] = round(100.0 * sum(i.label == i.expected for i in labelled) / len(labelled), 2)
        out["metascore_n"] = len(labelled)
    return out


def item_rows(
    items: list[JudgedItem], model: str, dataset: str, judge: str, stored: Mapping[str, Mapping[str, tuple[str, str]]]
) -> list[ItemScore]:
    """item_scores rows for each judge recipe, only where an item's key changed (`stored`: recipe id →
    idx → (key, values) as the store holds them). Unjudged items have no row."""
    rows = []
    values = [i.values() for i in items]  # the same per-item row under every recipe (encoded once)
    for recipe in JUDGE_RECIPES:
        rid = recipe.id(judge)
        have = stored.get(rid, {})
        for i, v in zip(items, values, strict=True):
            if i.status == "unjudged" or have.get(i.idx, ("",))[0] == i.key:
                continue
            rows.append(ItemScore(model, dataset, i.subset, i.idx, rid, i.key, v))
    return rows


def agreement(model: str, dataset: str, per_judge: Mapping[str, list[JudgedItem]]) -> list[Agreement]:
    """Pairwise agreement (share of items with the same value) and Cohen's kappa for 0/1 verdicts."""
    names = sorted(per_judge)
    out = []
    for a_i, a in enumerate(names):
        for b in names[a_i + 1 :]:
            va = {i.idx: i.value for i in per_judge[a] if i.status == "ok"}
            vb = {i.idx: i.value for i in per_judge[b] if i.status == "ok"}
            both = sorted(set(va) & set(vb))
            if not both:
                continue
            agree = sum(va[k] == vb[k] for k in both) / len(both)
            kappa = _kappa([va[k] for k in both], [vb[k] for k in both])
            out.append(Agreement(model, dataset, (a, b), len(both), round(agree, 4), kappa))
    return out


def _kappa(x: list[float | None], y: list[float | None]) -> float | None:
    labels = sorted({v for v in x + y if v is not None})
    if not labels or len(labels) > 2:
        return None  # defined here for binary verdicts only
    n = len(x)
    po = sum(a == b for a, b in zip(x, y, strict=True)) / n
    pe = sum((x.count(lab) / n) * (y.count(lab) / n) for lab in labels)
    return None if pe == 1 else round((po - pe) / (1 - pe), 4)
