"""`almeval eval` as a Python API: evaluate(options) → run summary (also written to runs/<id>.json)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from almeval.adapters import parse_model
from almeval.cache import AudioProbe, Memo
from almeval.cache.keys import text_digest
from almeval.endpoint.client import public_url
from almeval.endpoint.limiter import throttled
from almeval.judges import JudgeOptions, make_stage

from . import references
from .config import load_config
from .datasets import Catalog, oai, vlm
from .errors import AlmevalError, ConfigError
from .judging import check_budget, run_judged, score_dataset
from .plan import DatasetPlan, ModelSpec, plan_dataset
from .preparing import downloads_of
from .progress import Ui
from .prompts import PromptBook
from .recipes import recipes_for
from .scheduler import RunContext, failed_items, fewer_collections, infer, record_known
from .scoring import ItemScorer
from .store import Store
from .values import HEADLINE, Coverage, Prediction, RecipeId

LIBS = (
    "almeval",
    "jiwer",
    "openai-whisper",  # its text normalisers only
    "cn2an",
    "zhconv",
    "sacrebleu",  # the kimi recipe's tokenizer (through the reference's code)
    "editdistance",
    "diskcache",
    "sqlite-utils",
    "numpy",
    "soundfile",
    "lm_eval",  # the ifeval recipe's checkers
    "qa-metrics",  # the optional pedant recipe
    "evals",  # openai/evals: its registry and answer prompts, read as data
)


@dataclass(frozen=True)
class EvalOptions:
    model: str
    data: tuple[str, ...] = ("all",)
    model_args: Mapping[str, str] = field(default_factory=dict)
    work_dir: Path = Path("almeval-results")
    cache_dir: Path | None = None
    config: Path | None = None
    limit: int | None = None
    skip_judge: bool = False
    rehash: bool = False  # hash every audio file again instead of trusting the digest memo
    judge: JudgeOptions = field(default_factory=JudgeOptions)
    references: Mapping[str, str] = field(default_factory=dict)  # --reference NAME=PATH
    oai_registries: tuple[Path, ...] = ()  # --oai-registry DIR: openai/evals registries after the installed one
    verify_data: bool = False  # --verify-data: a VLMEvalKit TSV whose md5 differs from the published one stops the run
    recipe: str = ""  # --recipe kimi: the compat recipes are required (their checkout must be given)


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for lib in (*LIBS, *extra):
        out[lib] = references.installed_version(lib) or "not installed"
    return out


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def evaluate(opts: EvalOptions, ui: Ui | None = None) -> dict[str, Any]:
    ui = ui or Ui(quiet=True)
    started = time.perf_counter()
    config = load_config(opts.config)
    references.choose(opts.references, config.raw.get("REFERENCES"))
    oai.use_registries(opts.oai_registries)
    vlm.verify_data(opts.verify_data)
    if opts.recipe:
        references.require_view(opts.recipe)
    if opts.recipe in ("kimi", "voicebench"):  # its own judge requests for the benchmarks it judges with them
        from almeval.judges.reference import WIRING

        wiring = {**WIRING[opts.recipe], **opts.judge.templates}
        opts = replace(opts, judge=replace(opts.judge, templates=wiring))
    catalog = Catalog(config)
    selection = catalog.select(list(opts.data))
    for info in selection.datasets:  # a recipe's missing package stops the run before anything is computed
        for recipe in recipes_for(info):
            recipe.check()
    adapter, options = parse_model(opts.model, dict(opts.model_args))
    spec = ModelSpec.of(adapter, options)
    prompts = PromptBook.load(config.prompts, [d.name for d in catalog.all()], adapter.prompt_set)
    store, memo = Store(opts.work_dir / "almeval.sqlite"), Memo(opts.cache_dir)
    run_id = new_run_id()
    store.reap(socket.gethostname(), process_alive)
    judge = None
    if not opts.skip_judge:
        benchmarks = [*catalog.all(), *selection.datasets]
        judge = make_stage(opts.judge, config, benchmarks, store, memo, spec.id.key, run_id)
    ctx = RunContext(
        run_id,
        spec,
        store,
        memo,
        ui,
        owner=f"{socket.gethostname()}:{os.getpid()}:{run_id}",
        scorer=ItemScorer(spec.id.key),
        judge=judge,
        limiters=judge.limiters if judge is not None else {},  # one limiter per endpoint for both roles
    )
    store.add_model(spec.id, spec.identity, ctx.run_id)
    store.start_run(ctx.run_id, spec.id.key, [d.name for d in selection.datasets], _public(opts), ctx.owner)
    status = "failed"
    try:
        with fewer_collections():
            summary = _run(ctx, opts, selection, prompts, started)
        status = "done"
        return summary
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except AlmevalError:
        raise
    finally:
        if status != "done":
            store.finish_run(ctx.run_id, status, {"error": status})
        store.release(ctx.owner)
        store.close()
        memo.close()


def _run(ctx: RunContext, opts: EvalOptions, selection: Any, prompts: PromptBook, started: float) -> dict[str, Any]:
    probe = AudioProbe(ctx.memo, rehash=opts.rehash)
    plans = [
        plan_dataset(info, ctx.spec, prompts, probe, ctx.store, ctx.memo, opts.limit) for info in selection.datasets
    ]
    for p in plans:  # image benchmarks need a model that takes images, before anything runs
        if not ctx.spec.cls.takes_images and any(r.sample.images for r in p.requests):
            raise ConfigError(
                f"{p.info.name} is an image benchmark and {ctx.spec.label} does not take images: use an "
                "OpenAI-compatible VLM endpoint (--model openai:NAME with base_url=… for vLLM / SGLang / swift), "
                "or the replay and fake models"
            )
    for p in plans:  # a manifest given by path knows its task only now: its recipes are checked here too
        for recipe in recipes_for(p.info):
            recipe.check()
        ctx.scorer.use(p.info)
    ctx.ui.plan(ctx.spec.label, [(p.info.name, p.counts()) for p in plans], selection.skipped)
    for p in plans:
        if not recipes_for(p.info) and (
            ctx.judge is None or not ctx.judge.wiring.judges_any(r.sample for r in p.requests)
        ):
            ctx.ui.print(
                f"[bold yellow]warning:[/] {p.info.name} will get NO score: only a judge scores it; "
                "pass --judge NAME (its predictions are stored; `almeval judge` can score them later)"
            )
    if ctx.judge is not None:  # known predictions as they are, misses with the reference as a length proxy
        check_budget(
            ctx.judge,
            [(r.sample, p.known[r.key]) for p in plans for r in p.requests if r.key in p.known],
            ctx.ui,
            [(r.sample, Prediction(r.key, r.sample.answer)) for p in plans for r in p.requests if r.key not in p.known],
        )
    for p in plans:
        record_known(ctx, p)
        ctx.store.set_manifest(p.info.name, p.indices, text_digest("\n".join(p.indices)))
    ctx.store.put_coverage([_coverage(ctx, p) for p in plans])
    with ctx.ui.stages():
        asyncio.run(_pipeline(ctx, plans))
    plans = [_settle(ctx, p) for p in plans]
    per_dataset = {p.info.name: _finish_dataset(ctx, p) for p in plans}
    summary = _summary(ctx, opts, plans, per_dataset, selection.skipped, probe, started)
    ctx.store.finish_run(ctx.run_id, "done", summary)
    runs = opts.work_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{ctx.run_id}.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def _settle(ctx: RunContext, plan: DatasetPlan) -> DatasetPlan:
    """After inference: pick up predictions another process (sharing this store) made for keys it had
    claimed; items still in flight elsewhere are left out of this run's scores (marked partial)."""
    missing = [r.key for r in plan.requests if r.key not in plan.known and r.key not in ctx.tally.new_status]
    if not missing:
        return plan
    found = {k: p for k, p in ctx.store.predictions(missing).items() if p.status == "ok"}
    known = {**plan.known, **found}
    requests = tuple(r for r in plan.requests if r.key in known or r.key in ctx.tally.new_status)
    return replace(plan, requests=requests, known=known)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _pipeline(ctx: RunContext, plans: list[DatasetPlan]) -> None:
    """Inference and judging in one loop: cached predictions go to the judge at once, new ones as they land."""
    if ctx.judge is None:
        await infer(ctx, plans)
        return
    known = [(r.sample, p.known[r.key]) for p in plans for r in p.requests if r.key in p.known]
    await run_judged(ctx.judge, known, alongside=lambda: infer(ctx, plans))


def _coverage(ctx: RunContext, plan: DatasetPlan) -> Coverage:
    """Dataset size and the model's provenance, so `almeval judge` can score from the store alone."""
    return Coverage(
        ctx.spec.id.key,
        plan.info.name,
        plan.info.task,
        plan.size,
        len(plan.requests),
        _provenance(ctx, plan),
        ctx.run_id,
    )


def _provenance(ctx: RunContext, plan: DatasetPlan) -> dict[str, Any]:
    return {
        "model": ctx.spec.label,
        "model_key": ctx.spec.id.key,
        "adapter": dict(ctx.spec.identity),
        "prompt_digests": list(plan.prompt_digests) or "prompt not used by this model",
        **({"downloads": downloads} if (downloads := downloads_of(plan.info.manifest)) else {}),
        **(vlm.provenance(plan.info) if plan.info.manifest.startswith(vlm.PREFIX) else {}),
        "versions": versions(),
        "run_id": ctx.run_id,
    }


def _finish_dataset(ctx: RunContext, plan: DatasetPlan) -> dict[str, Any]:
    rows = ctx.scorer.fill(plan, ctx.store)
    provenance = _provenance(ctx, plan)
    scores = ctx.scorer.aggregate(plan, ctx.spec, ctx.run_id, provenance, ctx.store)
    ctx.store.put_scores(rows, scores)
    failed = failed_items(ctx, plan)
    overall = {s.recipe: dict(s.values) for s in scores if s.subset == ""}
    out = {**plan.counts(), "failed": failed, "scores": overall, "scored_by": "rules"}
    if not recipes_for(plan.info):
        out["scored_by"] = "needs a judge (pass --judge)"
    if ctx.judge is not None and ctx.judge.wiring.judges_any(r.sample for r in plan.requests):
        judged = _judged(ctx, plan, provenance)
        rules = bool(recipes_for(plan.info))
        out.update(
            scores={**overall, **judged["scores"]},
            agreement=judged["agreement"],
            scored_by="rules + judge" if rules else "judge",
            unjudged=_without_verdict(judged["scores"]),
        )
    return out


def _without_verdict(scores: dict[str, Any]) -> int:
    """Items a judge has no verdict for (its call failed, was not sent past --max-cost, or not yet made);
    the most of any judge in the panel."""
    return max((v.get("unjudged", 0) + v.get("errors", 0) for v in scores.values()), default=0)


def _judged(ctx: RunContext, plan: DatasetPlan, provenance: dict[str, Any]) -> dict[str, Any]:
    assert ctx.judge is not None
    items = [(r.sample, ctx.tally.new_status.get(r.key, "ok")) for r in plan.requests]
    return score_dataset(ctx.judge, plan.info.name, items, plan.size, ctx.run_id, provenance)


def _summary(
    ctx: RunContext,
    opts: EvalOptions,
    plans: list[DatasetPlan],
    per_dataset: dict[str, Any],
    skipped: tuple[str, ...],
    probe: AudioProbe,
    started: float,
) -> dict[str, Any]:
    c = ctx.tally.counters
    jc = ctx.judge.counters if ctx.judge else None
    items = sum(len(p.requests) for p in plans)
    invalid = sum(
        v.get("invalid", 0)
        for d in per_dataset.values()
        for r, v in d["scores"].items()
        if RecipeId.parse(r).family in HEADLINE
    )
    return {
        "run_id": ctx.run_id,
        "model": ctx.spec.label,
        "model_key": ctx.spec.id.key,
        "adapter": dict(ctx.spec.identity),
        "datasets": per_dataset,
        "skipped_unprepared": list(skipped),
        "items": items,
        "inferred": c.inferred,
        "inference_cache_hits": items - sum(len(p.misses) for p in plans),
        "judged": jc.judged if jc else 0,
        "judge_cache_hits": jc.judge_cache_hits if jc else 0,
        "judge_decided_by_rule": jc.decided if jc else 0,  # verdicts a template's rule reached, no call
        "judge_errors": jc.errors if jc else 0,
        "judge_429s": throttled(ctx.limiters),
        "judge_invalid": jc.invalid if jc else 0,
        "judge_cost_usd": round(jc.cost_usd, 6) if jc else 0.0,
        "failed": sum(d["failed"] for d in per_dataset.values()),
        "unjudged": sum(d.get("unjudged", 0) for d in per_dataset.values()),
        "invalid": invalid,
        "model_loaded": c.model_loaded,
        "batches": c.batches,
        "adapter_s": round(c.adapter_s, 4),
        "model_load_s": round(c.model_load_s, 4),
        "audio_files_hashed": probe.hashed,
        "claimed_elsewhere": len(ctx.tally.claimed_elsewhere),
        "limit": opts.limit,
        "recipes": sorted({r.id for p in plans for r in recipes_for(p.info)}),
        "wall_s": round(time.perf_counter() - started, 4),
        "versions": versions(),
    }


def _public(opts: EvalOptions) -> dict[str, Any]:
    """Options as recorded in the store: no secrets (model args whose name suggests one are masked)."""
    args = {
        k: "***" if any(s in k.lower() for s in ("key", "token", "secret", "password")) else public_url(v)
        for k, v in opts.model_args.items()
    }
    return {
        "model": opts.model,
        "data": list(opts.data),
        "model_args": args,
        "limit": opts.limit,
        "skip_judge": opts.skip_judge,
        "judges": list(opts.judge.judges),
    }
