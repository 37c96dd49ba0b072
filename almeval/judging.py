"""Judging in a run (`almeval eval`) and from stored predictions alone (`almeval judge`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

from almeval.cache import Memo
from almeval.endpoint.limiter import throttled
from almeval.judges import JudgeOptions, JudgeStage, judge_plan, make_stage
from almeval.judges.recipe import JUDGE_RECIPES, agreement, item_rows, judged_items

from .config import load_config
from .datasets import Catalog, oai
from .errors import ConfigError
from .progress import Ui
from .scheduler import fewer_collections, first_error
from .scoring import Scope, subset_scores
from .store import Store
from .values import EMPTY, DatasetInfo, ItemScore, Prediction, Sample, Score

Pair = tuple[Sample, Prediction]
FEED_BATCH = 256  # known predictions handed to the judge stage at a time (one store lookup each)


def check_budget(stage: JudgeStage, pairs: Sequence[Pair], ui: Ui, proxies: Sequence[Pair] = ()) -> dict[str, Any]:
    """Print the judge plan (`proxies`: predictions not made yet, see judge_plan); stop before spending
    if the estimate exceeds --max-cost."""
    plan = judge_plan(stage, pairs, proxies)
    price_note = f" (no price known for {', '.join(plan['unknown_price'])})" if plan["unknown_price"] else ""
    ui.print(
        f"judge plan: {plan['calls']} call(s) to make, {plan['cache_hits']} cached, "
        f"~{plan['est_tokens']} prompt tokens, ~${plan['est_cost_usd']:.4f}{price_note}"
    )
    stage.ui = ui
    ui.stage("judge", plan["calls"] + plan["cache_hits"])
    if stage.max_cost is not None and plan["est_cost_usd"] > stage.max_cost:
        raise ConfigError(
            f"estimated judge cost ${plan['est_cost_usd']:.4f} exceeds --max-cost "
            f"${stage.max_cost:.4f}; nothing was sent"
        )
    return plan


async def run_judged(
    stage: JudgeStage, pairs: Sequence[Pair], alongside: Callable[[], Coroutine[Any, Any, None]] | None = None
) -> None:
    """Feed the stage `pairs` while `alongside` (inference) runs, then drain it. One task group holds the
    judge workers, the feeder and inference: if any of them dies, the others are cancelled and its error
    ends the run (never a hang on a pool that no longer takes items); verdicts already obtained are kept."""

    async def feed() -> None:
        for i in range(0, len(pairs), FEED_BATCH):
            await stage.submit_all(pairs[i : i + FEED_BATCH])

    async def main(tasks: asyncio.TaskGroup) -> None:
        feeder = tasks.create_task(feed())
        if alongside is not None:
            await alongside()
        await feeder
        await stage.drain()

    try:
        async with asyncio.TaskGroup() as tasks:
            await stage.start(tasks)
            tasks.create_task(main(tasks))
    except BaseExceptionGroup as group:
        stage.salvage()
        raise first_error(group) from None
    finally:
        await stage.aclose()


def score_dataset(
    stage: JudgeStage,
    dataset: str,
    items: Sequence[tuple[Sample, str]],
    size: int,
    run_id: str,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """Per-subset scores for every judge of the stage, plus panel agreement; written to the store."""
    per_judge = {j.label: judged_items(stage.store, stage.wiring, stage.model, dataset, j, items) for j in stage.judges}
    rows: list[Score] = []
    items_scored: list[ItemScore] = []
    overall: dict[str, dict[str, Any]] = {}
    for judge, judged in per_judge.items():
        stored = {r.id(judge): stage.store.item_scores(stage.model, dataset, r.id(judge)) for r in JUDGE_RECIPES}
        items_scored += item_rows(judged, stage.model, dataset, judge, stored)
        templates = sorted({i.template.id for i in judged if i.template is not None})
        digests = sorted({i.template.digest for i in judged if i.template is not None})
        spec = next(j for j in stage.judges if j.label == judge)
        prov = {
            **provenance,
            "judge_identity": spec.identity(),
            "judge_note": (spec.local or {}).get("note", ""),
            "judge_templates": templates,
            "judge_template_digests": digests,
            "judge": judge,
        }
        previous = stage.store.score_values(stage.model, dataset)
        scope = Scope(stage.model, dataset, size, run_id, prov, previous, complete=len(items) == size)
        # what an aggregate is computed from, per item: the same under every recipe and subset (built once)
        row_of = {
            id(i): [i.status, i.value, list(i.models_returned), i.template_id, i.label, i.expected] for i in judged
        }
        for recipe in JUDGE_RECIPES:
            new = subset_scores(
                scope,
                recipe.id(judge),
                [(i.subset, i) for i in judged],
                recipe.aggregate,
                inputs=partial(_inputs_of, row_of),
                # partial: items without a verdict (unjudged, failed calls) or fewer items than the manifest
                partial_when=lambda values: values["unjudged"] > 0 or values["errors"] > 0,
                provenance_from=("judge_models_returned",),
            )
            rows += new
            overall.update({r.recipe: dict(r.values) for r in new if r.subset == ""})
    pairs = agreement(stage.model, dataset, per_judge)
    stage.store.put_scores(items_scored, rows, pairs)
    summary = [{"judges": list(p.judges), "items": p.items, "agreement": p.agreement, "kappa": p.kappa} for p in pairs]
    return {"scores": overall, "agreement": summary}


def _inputs_of(rows: Mapping[int, list[Any]], group: Sequence[Any]) -> list[list[Any]]:
    return [rows[id(i)] for i in group]


@dataclass(frozen=True)
class JudgeRunOptions:
    judge: JudgeOptions
    work_dir: Path = Path("almeval-results")
    models: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    cache_dir: Path | None = None
    config: Path | None = None
    retry_errors: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    oai_registries: tuple[Path, ...] = ()  # --oai-registry DIR, as for `almeval eval`


@fewer_collections()
def judge_stored(opts: JudgeRunOptions, ui: Ui, run_id: str) -> dict[str, Any]:
    """`almeval judge`: judge predictions already in the store; no model under test is loaded."""
    started = time.perf_counter()
    config = load_config(opts.config)
    oai.use_registries(opts.oai_registries)
    benchmarks = Catalog(config).all()
    known = {b.name for b in benchmarks}
    store, memo = Store(opts.work_dir / "almeval.sqlite"), Memo(opts.cache_dir)
    try:
        out: dict[str, Any] = {
            "run_id": run_id,
            "datasets": {},
            "judged": 0,
            "judge_cache_hits": 0,
            "judge_errors": 0,
            "invalid": 0,
            "cost_usd": 0.0,
        }
        labels = store.display_names()
        work = []  # first every dataset in scope, so nothing is written when none of them has a judge
        for model, dataset in _scope(store, opts):
            if dataset in known:
                extra = []
            elif dataset.startswith(oai.PREFIX):  # an openai/evals eval: its grader from the registries
                extra = oai.select(dataset)
            else:  # a manifest given by path
                extra = [DatasetInfo(name=dataset, task="")]
            stage = make_stage(opts.judge, config, [*benchmarks, *extra], store, memo, model, run_id)
            if stage is None:
                raise ConfigError("no judge: pass --judge NAME (or set JUDGE.model in config.yaml)")
            current = store.manifest(dataset)
            items, dropped = _stored_items(store, model, dataset, current)
            if stage.wiring.judges_any(s for s, _ in items):
                work.append((model, dataset, stage, items, dropped, current))
            else:
                out.setdefault("not_judged", []).append(f"{labels.get(model, model)}/{dataset}")
        if not work:
            raise ConfigError(
                f"nothing to judge: {', '.join(out.get('not_judged', []))} "
                "are scored by rules only (see `almeval data list`); nothing was written"
            )
        for model, dataset, stage, items, dropped, current in work:
            retry = store.judge_errors(model, dataset) if opts.retry_errors else None
            pairs = [(s, p) for s, p in items if p.status == "ok" and (retry is None or s.index in retry)]
            check_budget(stage, pairs, ui)
            with ui.stages():
                asyncio.run(run_judged(stage, pairs))
            size, prov = store.coverage(model, dataset) or (len(items), {"model_key": model})
            size = len(current) if current is not None else size
            prov = {**prov, "versions": opts.versions, "run_id": run_id}
            result = score_dataset(stage, dataset, [(s, p.status) for s, p in items], size, run_id, prov)
            c = stage.counters
            out["datasets"][f"{labels.get(model, model)}/{dataset}"] = {
                **result,
                "model_key": model,
                "not_in_manifest": dropped,
                "judged": c.judged,
                "cache_hits": c.judge_cache_hits,
                "errors": c.errors,
                "invalid": c.invalid,
            }
            out["judged"] += c.judged
            out["judge_cache_hits"] += c.judge_cache_hits
            out["judge_errors"] += c.errors
            out["invalid"] += c.invalid
            out["cost_usd"] = round(out["cost_usd"] + c.cost_usd, 6)
            out["judge_429s"] = throttled(stage.limiters)
        out["wall_s"] = round(time.perf_counter() - started, 4)
        return out
    finally:
        store.close()
        memo.close()


def _scope(store: Store, opts: JudgeRunOptions) -> list[tuple[str, str]]:
    """(model key, dataset) pairs to judge. `--model` takes a label or a key prefix; a label that two
    models share is refused with their keys (C12)."""
    keys: set[str] | None = None
    if opts.models:
        keys = set()
        for text in opts.models:
            found = store.find_models(text)
            if len(found) > 1:
                listed = ", ".join(f"{m.label} (key {m.key})" for m in found)
                raise ConfigError(f"--model {text!r} names {len(found)} models: {listed}; pass a key prefix instead")
            keys.update(m.key for m in found)
    want_d = {d.lower() for d in opts.data if d.lower() != "all"}
    chosen = [(m, d) for m, d in store.scopes() if (keys is None or m in keys) and (not want_d or d.lower() in want_d)]
    if not chosen:
        raise ConfigError(
            f"no stored predictions match --model {' '.join(opts.models) or '(any)'} "
            f"--data {' '.join(opts.data) or '(any)'} in {opts.work_dir}"
        )
    return chosen


def stored_sample(dataset: str, row: Mapping[str, Any]) -> Sample:
    """A stored item row (Store.stored_items) as the Sample judges and reports read: its text fields and
    meta; no audio (judging needs none; the report links media by the row's `media`)."""
    meta = json.loads(row["meta"] or "{}")
    return Sample(
        dataset=dataset,
        subset=row["subset"],
        index=row["idx"],
        audio=(),
        question=row["question"],
        answer=row["answer"],
        audio_content=row["audio_content"] or "",
        lang=row["lang"] or "",
        task=row["task"] or "",
        meta=MappingProxyType(meta) if meta else EMPTY,
    )


def _stored_items(store: Store, model: str, dataset: str, current: set[str] | None) -> tuple[list[Pair], int]:
    """The model's stored items that the manifest in force (`current` indices) holds, and how many it no
    longer holds (kept in the store, not scored)."""
    out, dropped = [], 0
    for r in store.stored_items(model, dataset):
        if current is not None and r["idx"] not in current:
            dropped += 1
            continue
        sample = stored_sample(dataset, r)
        out.append((sample, Prediction(r["pkey"], r["text"], status=r["pstatus"], source="store")))
    return out, dropped
