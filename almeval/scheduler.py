"""The run: one asyncio loop overlapping batched inference (worker thread) with recording and scoring.

    plan (keys, store/cache lookups) ─► feed misses (grouped by params, longest audio first)
      ─► MicroBatcher (flush on size or deadline, no polling) ─► generate in a worker thread
      ─► recorder: store + disk cache + per-item metrics + judge hook, one transaction per batch
      ─► aggregates per subset and recipe ─► scores table, runs/<run-id>.json

While the worker thread runs batch k, the loop records batch k-1 (C4). Queues are bounded.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from almeval.adapters import Adapter
from almeval.adapters.base import AsyncModel
from almeval.cache import Memo, canonical_json

if TYPE_CHECKING:
    from almeval.judges import JudgeStage

from .batching import MicroBatcher
from .errors import AlmevalError, ConfigError, ItemError, StoreError, UserError
from .plan import DatasetPlan, ModelSpec
from .progress import Ui, quiet_dependencies
from .scoring import ItemScorer
from .store import Store
from .values import Prediction, Request

GC_THRESHOLD = 10_000  # allocations between young-generation collections during a run (see fewer_collections)


@dataclass
class Counters:
    inferred: int = 0
    failed_new: int = 0
    model_loaded: bool = False
    model_load_s: float = 0.0
    adapter_s: float = 0.0
    batches: int = 0


@dataclass
class Tally:
    """What a run finds out as it goes: the only mutable part of its context."""

    counters: Counters = field(default_factory=Counters)
    new_status: dict[str, str] = field(default_factory=dict)  # key → status of predictions made in this run
    # key → the other requests with that key (same content in two datasets, or twice in one): inferred
    # once, recorded for each. Only keys with such twins are here (a list per key costs memory at 100k).
    twins: dict[str, list[Request]] = field(default_factory=dict)
    claimed_elsewhere: set[str] = field(default_factory=set)  # misses another process is inferring
    last_beat: float = field(default_factory=time.monotonic)  # when the run's lease was last renewed


@dataclass(frozen=True)
class RunContext:
    """A run's frozen values and services, handed to each stage. `limiters` holds one limiter per endpoint,
    created inside the running loop and shared by models under test and judges."""

    run_id: str
    spec: ModelSpec
    store: Store
    memo: Memo
    ui: Ui
    owner: str  # host:pid:run_id, for claims
    scorer: ItemScorer
    judge: JudgeStage | None = None  # fed each prediction as it lands (C4)
    flush_s: float = 0.02
    claim_stale_s: float = 600.0
    limiters: dict[str, Any] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)


async def infer(ctx: RunContext, plans: list[DatasetPlan]) -> None:
    """Run every miss through the model; the model is built only if there is at least one."""
    first: dict[str, Request] = {}
    for p in plans:
        for r in p.misses:
            if r.key in first:
                ctx.tally.twins.setdefault(r.key, []).append(r)
            else:
                first[r.key] = r
    misses = _ordered(first.values())  # one inference per distinct key
    del first
    limit = ctx.spec.cls.max_audio_s
    too_long = [r for r in misses if limit is not None and r.sample.duration_s > limit]
    if not misses:
        return
    ctx.ui.stage("infer", len(misses))
    if too_long:  # never cut short silently: each such item fails, with why (rerun with a model that takes it)
        cut = {r.key for r in too_long}
        misses = [r for r in misses if r.key not in cut]
        await record(ctx, [(r, _too_long(ctx, r, limit or 0.0)) for r in too_long])
        if not misses:
            return
    size = ctx.spec.cls.batch_size(ctx.spec.options)
    # a short queue: the feeder claims work only a couple of batches ahead (fair split across processes)
    queue: asyncio.Queue[Request | None] = asyncio.Queue(maxsize=2 * size)
    landed: asyncio.Queue[list[tuple[Request, Prediction]] | None] = asyncio.Queue(maxsize=4)
    if issubclass(ctx.spec.cls, AsyncModel):
        await _endpoint_loop(ctx, misses)
        return
    # the model thread gets the GIL back within 1 ms of waking (not CPython's default 5 ms) while the
    # loop records and scores the previous batch
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 0.001))

    async def produce() -> None:
        await _batch_loop(ctx, MicroBatcher(queue, ctx.spec.cls.batch_size(ctx.spec.options), ctx.flush_s), landed)
        await landed.put(None)

    try:  # structured: if any of the three dies, the others are cancelled and its error ends the run (no hang)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(_feed(ctx, queue, misses))
            tasks.create_task(_record_loop(ctx, landed))
            tasks.create_task(produce())
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    finally:
        sys.setswitchinterval(switch)


def _too_long(ctx: RunContext, r: Request, limit: float) -> Prediction:
    error = (
        f"AudioTooLong: {r.sample.duration_s:.1f} s of audio; {ctx.spec.label} accepts at most {limit:g} s "
        "(its input would be cut short): use a model that takes longer audio, or split the item"
    )
    return Prediction(r.key, "", status="error", error=error)


@contextmanager
def fewer_collections(first_generation: int = GC_THRESHOLD) -> Iterator[None]:
    """During a run: the cyclic garbage collector's youngest generation collected every
    `first_generation` allocations instead of CPython's 700. A run holds tens of thousands of live
    samples, requests and replies; at 700 the collector ran ~600 times on 10,000 judged items, ~10% of the
    run, and freed 2,518 objects in all. Restored afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(max(first_generation, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The error to report from a task group: an interruption first, then almeval's own errors (they carry
    the exit code and the fix), else the first one. A disk that fills up is a store problem (exit 4)."""
    leaves: list[BaseException] = []

    def walk(g: BaseExceptionGroup) -> None:
        for e in g.exceptions:
            if isinstance(e, BaseExceptionGroup):
                walk(e)
            else:
                leaves.append(e)

    walk(group)
    for kind in (KeyboardInterrupt, AlmevalError):
        for e in leaves:
            if isinstance(e, kind):
                return e
    first = leaves[0]
    if isinstance(first, OSError):
        return StoreError(f"writing results failed: {first} — everything recorded before it is kept; free space, rerun")
    return first


async def _endpoint_loop(ctx: RunContext, misses: list[Request]) -> None:
    """Endpoint models: `concurrency` calls in flight through the endpoint's limiter; results are
    recorded in small groups as they return (C6 instead of GPU micro-batches)."""
    model: Any = await _load(ctx)
    await model.start(ctx.limiters)
    todo: asyncio.Queue[Request | None] = asyncio.Queue()
    for r in misses:
        todo.put_nowait(r)
    done: list[tuple[Request, Prediction]] = []

    async def worker() -> None:
        while (r := todo.get_nowait() if not todo.empty() else None) is not None:
            t0 = time.perf_counter()
            try:
                out: Any = await model.acomplete(r)
            except UserError:
                raise
            except Exception as exc:  # retries exhausted, or a non-retryable 4xx: this item only
                out = exc
            ctx.tally.counters.adapter_s += time.perf_counter() - t0
            done.append((r, _prediction(r.key, out, time.perf_counter() - t0)))
            failed = ctx.tally.counters.failed_new + sum(p.status != "ok" for _, p in done)
            ctx.ui.advance("infer", 1, failed=failed)  # per answered call; recorded in groups below
            if len(done) >= ENDPOINT_FLUSH:
                batch = done[:]
                done.clear()
                await record(ctx, batch, advance=False)

    try:
        await asyncio.gather(*(worker() for _ in range(model.concurrency(ctx.spec.options))))
        if done:
            await record(ctx, done[:], advance=False)
    finally:
        await model.aclose()


ENDPOINT_FLUSH = 16
HEARTBEAT_S = 30.0


def _ordered(requests: Any) -> list[Request]:
    """Grouped by generation params, longest audio first (an out-of-memory error shows on batch one)."""
    requests = list(requests)
    encoded: dict[int, str] = {}  # requests share their params mapping: each encoded once
    for r in requests:
        if id(r.params) not in encoded:
            encoded[id(r.params)] = canonical_json(dict(r.params))
    return sorted(requests, key=lambda r: (encoded[id(r.params)], -r.sample.duration_s))


async def _feed(ctx: RunContext, queue: asyncio.Queue[Request | None], misses: list[Request]) -> None:
    """Claim misses in chunks just before they are needed, so processes sharing the store (one per GPU)
    split the work dynamically and never infer the same key twice; keys claimed elsewhere are skipped."""
    chunk = ctx.spec.cls.batch_size(ctx.spec.options)
    for i in range(0, len(misses), chunk):
        part = misses[i : i + chunk]
        mine = set(ctx.store.claim([r.key for r in part], ctx.owner, ctx.claim_stale_s))
        ctx.tally.claimed_elsewhere.update(r.key for r in part if r.key not in mine)
        for r in part:
            if r.key in mine:
                await queue.put(r)
    await queue.put(None)


async def _batch_loop(
    ctx: RunContext, batcher: MicroBatcher, landed: asyncio.Queue[list[tuple[Request, Prediction]] | None]
) -> None:
    """Generate batch k while batch k+1 is prepared (audio decoding, processor) in a second thread, so
    the accelerator is not left waiting for CPU preprocessing."""
    batch = await batcher.next()
    if batch is None:
        return
    model = await _load(ctx)
    try:
        # the next generate is launched before the landed batch is handed to the recorder, so the
        # accelerator never waits for the loop's bookkeeping (scheduled tasks run first-in, first-out)
        generating = asyncio.create_task(_generate(ctx, model, batch, await _prepare(model, batch)))
        while True:
            following = await batcher.next()
            preparing = asyncio.create_task(_prepare(model, following)) if following is not None else None
            landed_batch = await generating
            if following is not None and preparing is not None:
                generating = asyncio.create_task(_generate(ctx, model, following, await preparing))
            await landed.put(landed_batch)
            if following is None:
                break
    finally:
        model.close()


async def _prepare(model: Adapter, batch: list[Request]) -> Any:
    try:
        return await asyncio.to_thread(model.prepare, batch)
    except UserError:
        raise
    except Exception as exc:  # e.g. unreadable audio: the batch fails as a value, the run goes on
        return exc


async def _load(ctx: RunContext) -> Adapter:
    spec = ctx.spec
    t0 = time.perf_counter()
    quiet_dependencies()
    ctx.ui.advance("infer", 0, status=f"loading {spec.label}…")  # a model load can take a while: say so
    try:
        model = await asyncio.to_thread(spec.cls, spec.options)
    except UserError:
        raise
    except Exception as exc:
        raise ConfigError(f"model {spec.label!r} failed to load: {type(exc).__name__}: {exc}") from exc
    ctx.tally.counters.model_loaded = True
    ctx.tally.counters.model_load_s = time.perf_counter() - t0
    ctx.ui.advance("infer", 0, status=f"loaded in {ctx.tally.counters.model_load_s:.1f}s")
    return model


async def _generate(
    ctx: RunContext, model: Adapter, batch: list[Request], prepared: Any
) -> list[tuple[Request, Prediction]]:
    t0 = time.perf_counter()
    try:
        if isinstance(prepared, Exception):
            raise prepared
        outs: list[Any] = await asyncio.to_thread(model.run, prepared)
    except UserError:
        raise
    except Exception as exc:  # the whole batch failed: each item records why; a rerun retries them
        outs = [exc] * len(batch)
    elapsed = time.perf_counter() - t0
    ctx.tally.counters.adapter_s += elapsed
    ctx.tally.counters.batches += 1
    if len(outs) != len(batch):
        outs = [ItemError(f"adapter returned {len(outs)} outputs for {len(batch)} requests")] * len(batch)
    per_item = elapsed / len(batch)
    return [(r, _prediction(r.key, out, per_item)) for r, out in zip(batch, outs, strict=True)]


def _prediction(key: str, out: Any, latency: float) -> Prediction:
    if isinstance(out, BaseException):
        return Prediction(key, "", status="error", error=f"{type(out).__name__}: {out}", latency_s=latency)
    return Prediction(key, str(out), latency_s=latency)


async def _record_loop(ctx: RunContext, landed: asyncio.Queue[list[tuple[Request, Prediction]] | None]) -> None:
    while (batch := await landed.get()) is not None:
        await record(ctx, batch)


async def record(ctx: RunContext, batch: list[tuple[Request, Prediction]], advance: bool = True) -> None:
    """Persist one landed batch in one transaction, memoise the good ones, score, hand to the judge."""
    pairs = [(r.sample, p) for req, p in batch for r in (req, *ctx.tally.twins.get(p.key, ()))]
    record = partial(ctx.store.record, ctx.spec.id.key, ctx.run_id, ctx.spec.identity, batch, pairs)
    try:
        scores = ctx.scorer.score(pairs)
    except AlmevalError:  # a scoring problem (bad item data) ends the run, but the inference is kept
        record()
        raise
    record(scores)
    if ctx.spec.cls.memoised:
        ctx.memo.set_many("pred", ((p.key, {"text": p.text}) for _, p in batch if p.status == "ok"))
    if time.monotonic() - ctx.tally.last_beat > HEARTBEAT_S:  # renew the run's lease
        ctx.store.beat(ctx.run_id)
        ctx.tally.last_beat = time.monotonic()
    for _, p in batch:
        ctx.tally.new_status[p.key] = p.status
    failed = sum(p.status != "ok" for _, p in batch)
    ctx.tally.counters.inferred += len(batch)
    ctx.tally.counters.failed_new += failed
    if advance:
        ctx.ui.advance("infer", len(batch), failed=ctx.tally.counters.failed_new)
    if ctx.judge is not None:
        await ctx.judge.submit_all(pairs)


def record_known(ctx: RunContext, plan: DatasetPlan) -> int:
    """Bring the store up to date for cache hits: copy predictions found only in the disk cache and
    repoint items whose current key differs from the recorded one. Returns rows written."""
    landed = [
        (req, plan.known[req.key])
        for req in plan.requests
        if req.key in plan.known and plan.stored_items.get(req.sample.index) != req.key
    ]
    from_cache = [(req, pred) for req, pred in landed if pred.source == "cache"]
    ctx.store.record(
        ctx.spec.id.key, ctx.run_id, ctx.spec.identity, from_cache, [(req.sample, pred) for req, pred in landed]
    )
    return len(landed)


def failed_items(ctx: RunContext, plan: DatasetPlan) -> int:
    """Items whose prediction failed (only new ones can: failed ones are never reused)."""
    return sum(1 for r in plan.requests if ctx.tally.new_status.get(r.key, "ok") != "ok")
