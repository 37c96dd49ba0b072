"""The judge stage: content-keyed, cached, rate-limited, fault-tolerant judging that streams from inference.

For each landed prediction that its dataset's wiring sends to a judge, one JudgeRequest per judge
(panel) and per sample number is keyed (C1) and looked up in the store, then the disk cache, before
any slot or token is taken (C2). Misses go to a bounded queue drained by `concurrency` workers per
endpoint through that endpoint's limiter (C6). Replies go to the disk cache and the store together,
one transaction each per FLUSH_ROWS replies or FLUSH_S seconds, whichever comes first (C7): a run that
fails writes what it holds first; kill -9 loses at most that much paid-for work. A call that still fails after its
retries becomes status=error for that item alone; `almeval judge --retry-errors` redoes just those.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from almeval.cache import Memo, content_key
from almeval.endpoint.client import ChatClient, Endpoint, Reply
from almeval.endpoint.limiter import EndpointLimiter, throttled
from almeval.errors import AlmevalError, ItemError, UserError
from almeval.store import JUDGMENT_FIELDS, Store
from almeval.values import Judgment, Prediction, Sample, Status, Verdict

from .templates import Template, Wiring

WORST_REPLY_TOKENS = 4096  # a template without max_tokens: the reply reserved for --max-cost
FLUSH_ROWS = 1024  # (256 cost ~8% of a 10k-item judged run in commits that rewrite the same index pages)
FLUSH_S = 0.5
CACHED_FIELDS = tuple(k for k in JUDGMENT_FIELDS if k != "run_id")  # a reply in the disk cache: not its run
PROGRESS_S = 0.1  # the progress display is advanced at most this often
QUEUE_SIZE = 4096  # judge requests waiting per judge: submit() waits when the workers fall this far behind
REPAIR_NOTE = (
    "Your previous reply could not be read ({reason}). Reply again with only your final verdict, "
    "in exactly the format the instructions ask for."
)


@dataclass(frozen=True)
class JudgeSpec:
    """A judge: an OpenAI-compatible endpoint, or a local transformers model (`local` = its options)."""

    label: str
    endpoint: Endpoint
    price: tuple[float, float] | None = None  # USD per million tokens (input, output); None = unknown
    local: Mapping[str, str] | None = None
    structured: bool = False  # ask for the verdict as JSON by schema (response_format), read from its field

    def template(self, template: Template) -> Template:
        """The template as this judge sends and reads it."""
        return template.structured() if self.structured else template

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    @cached_property
    def _identity(self) -> dict[str, Any]:  # built once: it enters every judge call's key
        if self.local is not None:
            from almeval.adapters.hf_causal import HFCausalLM

            constrained = {"constrained": "log-probability of each verdict"} if self.local.get("constrained") else {}
            return {"backend": "transformers", **constrained, **HFCausalLM.identity(self.local)}
        return self.endpoint.identity()

    @property
    def workers(self) -> int:
        return 2 * int(self.local.get("batch_size", 8)) if self.local is not None else self.endpoint.limits.concurrency


@dataclass(frozen=True)
class JudgeRequest:
    key: str
    judge: JudgeSpec
    template: Template
    messages: list[dict[str, str]]
    sample: Sample
    pred_key: str
    sample_no: int
    prediction: str = ""  # the answer judged: taken out of the reply before its verdict is read

    @property
    def params(self) -> Mapping[str, Any]:
        return self.template.params  # read only: clients copy what they change


@dataclass
class JudgeCounters:
    judged: int = 0  # replies obtained from the endpoint in this run
    judge_cache_hits: int = 0
    errors: int = 0
    invalid: int = 0
    repaired: int = 0
    skipped_budget: int = 0
    decided: int = 0  # verdicts a template's rule reached without a call (e.g. exact choice matching)
    cost_usd: float = 0.0
    est_cost_usd: float = 0.0


def judge_key(
    judge: JudgeSpec, template: Template, messages: list[dict[str, str]], sample_no: int, repair_of: str = ""
) -> str:
    return content_key(
        "judge",
        {
            "judge": judge.identity(),
            "params": dict(template.params),
            "template": {"id": template.id, "digest": template.digest},
            "messages": messages,
            "sample_no": sample_no,
            "repair_of": repair_of,
        },
    )


def build_requests(
    judges: Sequence[JudgeSpec], wiring: Wiring, sample: Sample, pred: Prediction, bare: bool = False
) -> list[JudgeRequest]:
    """The judge calls a prediction needs (per judge and sample number); `bare` leaves the messages and
    the content key empty, for a plan's count of calls that looks nothing up."""
    template = wiring.template_for(sample)
    if template is None or pred.status != "ok":
        return []
    messages = [] if bare else template.messages(sample, pred.text)
    out = []
    for j in judges:
        mine = j.template(template)
        out += [
            JudgeRequest(
                "" if bare else judge_key(j, mine, messages, n), j, mine, messages, sample, pred.key, n, pred.text
            )
            for n in range(template.n)
        ]
    return out


def cost(judge: JudgeSpec, prompt_tokens: int, completion_tokens: int) -> float:
    if judge.price is None:
        return 0.0
    return (prompt_tokens * judge.price[0] + completion_tokens * judge.price[1]) / 1e6


@dataclass
class JudgeStage:
    judges: Sequence[JudgeSpec]
    wiring: Wiring
    store: Store
    memo: Memo
    model: str  # the model under test's label
    run_id: str
    max_cost: float | None = None
    repair: bool = False
    counters: JudgeCounters = field(default_factory=JudgeCounters)
    limiters: dict[str, EndpointLimiter] = field(default_factory=dict)  # one per URL, shared with models under test
    ui: Any = None  # progress: a "judge" stage advanced per verdict (almeval.progress.Ui)

    def __post_init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[tuple[JudgeRequest, Judgment | None] | None]] = {}
        self._clients: dict[str, Any] = {}  # ChatClient or LocalChatClient, by judge label
        self._workers: list[asyncio.Task[None]] = []
        self._nworkers: dict[str, int] = {}
        self._judgments: list[Judgment] = []
        self._verdicts: list[Verdict] = []
        self._last_flush = time.monotonic()
        self._fatal: BaseException | None = None
        self._reserved = 0.0  # USD held for calls in flight (--max-cost)
        self._looked: dict[str, Judgment | None] = {}  # the plan's lookups, used once by submit
        self._unreported, self._reported_at = 0, 0.0  # verdicts not yet shown by the progress display

    async def start(self, tasks: asyncio.TaskGroup) -> None:
        """Inside the running loop: a queue and worker pool per judge, in the run's task group (a worker
        that dies ends the run with its cause). Clients (and a local judge's weights) are built on the
        first miss only, so a fully cached run loads and connects nothing."""
        self._client_lock = asyncio.Lock()
        for j in self.judges:
            self._queues[j.label] = asyncio.Queue(maxsize=QUEUE_SIZE)
            self._nworkers[j.label] = j.workers
            for _ in range(j.workers):
                self._workers.append(tasks.create_task(self._worker(j.label)))

    async def _client(self, judge: JudgeSpec) -> Any:
        if judge.label in self._clients:  # built already: no lock to take
            return self._clients[judge.label]
        async with self._client_lock:
            if judge.label not in self._clients:
                self._clients[judge.label] = await self._build(judge)
        return self._clients[judge.label]

    async def _build(self, judge: JudgeSpec) -> Any:
        if judge.local is not None:
            from almeval.adapters.hf_causal import HFCausalLM
            from almeval.progress import quiet_dependencies

            from .local import LocalChatClient

            quiet_dependencies()
            model = await asyncio.to_thread(HFCausalLM, judge.local)
            return LocalChatClient(model, judge.label)
        url = judge.endpoint.url  # one limiter per endpoint, shared by judges served from it
        if url not in self.limiters:
            self.limiters[url] = EndpointLimiter(judge.endpoint.limits)
        return ChatClient(judge.endpoint, self.limiters[url])

    async def submit(self, sample: Sample, pred: Prediction) -> None:
        await self.submit_all([(sample, pred)])

    async def submit_all(self, pairs: Sequence[tuple[Sample, Prediction]]) -> None:
        """Judge these predictions: rule-decided and cached verdicts are recorded at once (looked up in one
        store query per batch), the rest queued for the workers."""
        self._raise_fatal()
        reqs = [r for s, p in pairs for r in build_requests(self.judges, self.wiring, s, p)]
        decided = {id(r): v for r in reqs if (v := r.template.decided(r.sample, r.prediction)) is not None}
        found = self._lookup([r for r in reqs if id(r) not in decided])
        for req in reqs:
            if (verdict := decided.get(id(req))) is not None:  # the template's rule decides: no call
                self.counters.decided += 1
                self._record(req, self._decided(req, verdict), new=True)
                continue
            hit = found.get(req.key)
            if hit is not None:
                self.counters.judge_cache_hits += 1
                if not (self.repair and not req.template.parse_reply(hit.reply, req.prediction, req.sample.answer).ok):
                    self._record(req, hit, new=False)
                    continue
            await self._queues[req.judge.label].put((req, hit))

    def look_ahead(self, reqs: Sequence[JudgeRequest]) -> dict[str, Judgment | None]:
        """The plan's lookups (before anything runs), kept so that these requests' submit does not repeat them."""
        found = self._lookup([r for r in reqs if r.template.decided(r.sample, r.prediction) is None])
        self._looked.update(found)
        return found

    def _lookup(self, reqs: Sequence[JudgeRequest]) -> dict[str, Judgment | None]:
        """key → the reply the store or the disk cache holds (None: a miss). Keys the plan looked up are
        answered from its result, once."""
        out = {r.key: self._looked.pop(r.key) for r in reqs if r.key in self._looked}
        todo = list(dict.fromkeys(r.key for r in reqs if r.key not in out))
        stored = self.store.judgments(todo)
        for key in todo:
            hit = stored.get(key)
            if hit is not None and hit.status == "ok":
                out[key] = hit
                continue
            cached = self.memo.get("judge", key)
            if cached is None:
                out[key] = None
                continue
            fields = {k: v for k, v in cached.items() if k in JUDGMENT_FIELDS}  # in the cache, not in this store
            out[key] = found = Judgment(**{**fields, "run_id": self.run_id})
            self._judgments.append(found)
        return out

    async def drain(self) -> JudgeCounters:
        """Wait for every queued request, write what is buffered; the first fatal error is raised."""
        for label, q in self._queues.items():
            for _ in range(self._nworkers[label]):
                await q.put(None)
        await asyncio.gather(*self._workers)
        self._flush()
        self._raise_fatal()
        return self.counters

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._clients.values()), return_exceptions=True)
        self._clients.clear()

    def salvage(self) -> None:
        """After a failure elsewhere in the run: keep the verdicts already obtained, if the store still
        takes them."""
        with contextlib.suppress(AlmevalError):
            self._flush()

    async def _worker(self, label: str) -> None:
        queue = self._queues[label]
        while (job := await queue.get()) is not None:
            req, known = job
            if self._fatal is not None:
                continue  # drain without sending: the endpoint refused us for good
            try:
                await self._judge(req, known)
            except UserError as exc:  # bad key, unknown model: stop judging, keep what is recorded
                self._fatal = self._fatal or exc
            except Exception as exc:  # a bug must not lose other items' work
                self._record_error(req, f"{type(exc).__name__}: {exc}")

    async def _judge(self, req: JudgeRequest, known: Judgment | None) -> None:
        """Call the judge (unless `known` holds its reply already), then the optional repair call."""
        judgment = known or await self._call(req)
        if judgment is None:
            return
        repair_key = await self._maybe_repair(req, judgment.reply) if self.repair else ""
        self._record(req, judgment, new=known is None, repair_key=repair_key)

    async def _call(self, req: JudgeRequest) -> Judgment | None:
        held = self._reserve(req)
        if held is None:
            self.counters.skipped_budget += 1
            self._record_error(req, "not sent: --max-cost reached")
            return None
        try:
            client = await self._client(req.judge)
            choices = req.template.verdicts() if (req.judge.local or {}).get("constrained") else ()
            reply = await client.complete(req.messages, req.params, choices)
        except ItemError as exc:  # retries exhausted, or a non-retryable 4xx for this item
            self._record_error(req, str(exc))
            return None
        finally:
            self._reserved -= held  # settled from the reply's usage below (_judgment_row)
        judgment = self._judgment(req.key, req, reply)
        self.counters.judged += 1
        return judgment

    async def _maybe_repair(self, req: JudgeRequest, reply: str) -> str:
        parsed = req.template.parse_reply(reply, req.prediction, req.sample.answer)
        if parsed.ok:
            return ""
        messages = [
            *req.messages,
            {"role": "assistant", "content": reply},
            {"role": "user", "content": REPAIR_NOTE.format(reason=parsed.reason)},
        ]
        key = judge_key(req.judge, req.template, messages, req.sample_no, repair_of=req.key)
        hit = self._lookup(
            [JudgeRequest(key, req.judge, req.template, messages, req.sample, req.pred_key, req.sample_no)]
        )[key]
        if hit is None:
            retry = JudgeRequest(key, req.judge, req.template, messages, req.sample, req.pred_key, req.sample_no)
            held = self._reserve(retry)
            if held is None:
                return ""
            try:
                again = await (await self._client(req.judge)).complete(messages, req.params)
            except ItemError:
                return ""
            finally:
                self._reserved -= held
            self._judgments.append(self._judgment(key, req, again))
        self.counters.repaired += 1
        return key

    def _reserve(self, req: JudgeRequest) -> float | None:
        """--max-cost is a hard cap at any concurrency: before a call is sent, its worst-case cost (every
        prompt byte a token, plus max_tokens of reply) is reserved; None when that would pass the cap. The
        reservation is released when the call returns and its real cost (from `usage`) is added."""
        if self.max_cost is None:
            return 0.0
        prompt = sum(len(str(m["content"]).encode()) + 8 for m in req.messages)
        worst = cost(req.judge, prompt, int(req.params.get("max_tokens") or WORST_REPLY_TOKENS))
        if self.counters.cost_usd + self._reserved + worst > self.max_cost:
            return None
        self._reserved += worst
        return worst

    def _judgment(self, key: str, req: JudgeRequest, reply: Reply) -> Judgment:
        """A reply as a value, its cost counted (it goes to the content cache and the store at the next
        flush, in one transaction each)."""
        self.counters.cost_usd += cost(req.judge, reply.prompt_tokens, reply.completion_tokens)
        judgment = Judgment(
            key=key,
            judge=req.judge.label,
            template=req.template.id,
            template_digest=req.template.digest,
            reply=reply.text,
            model_returned=reply.model,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            attempts=reply.attempts,
            run_id=self.run_id,
        )
        return judgment

    def _decided(self, req: JudgeRequest, verdict: str) -> Judgment:
        """A verdict the template's rule reached, as a judgment that names the rule, not a model."""
        return Judgment(
            key=req.key,
            judge=req.judge.label,
            template=req.template.id,
            template_digest=req.template.digest,
            reply=verdict,
            model_returned=f"rule:{req.template.decide}",
            run_id=self.run_id,
        )

    def _record(self, req: JudgeRequest, judgment: Judgment, new: bool, repair_key: str = "") -> None:
        if new:
            self._judgments.append(judgment)
        if not req.template.parse_reply(judgment.reply, req.prediction, req.sample.answer).ok and not repair_key:
            self.counters.invalid += 1
        self._verdicts.append(self._verdict(req, "ok", repair_key))
        self._progress()
        self._maybe_flush()

    def _record_error(self, req: JudgeRequest, error: str) -> None:
        self.counters.errors += 1
        self._judgments.append(
            Judgment(
                req.key,
                req.judge.label,
                req.template.id,
                req.template.digest,
                status="error",
                error=error,
                run_id=self.run_id,
            )
        )
        self._verdicts.append(self._verdict(req, "error", ""))
        self._progress()
        self._maybe_flush()

    def _progress(self, done: int = 1) -> None:
        """Verdicts to the progress display, a few times a second rather than one by one."""
        self._unreported += done
        now = time.monotonic()
        if self.ui is None or not self._unreported or (done and now - self._reported_at < PROGRESS_S):
            return
        c = self.counters
        limited = throttled(self.limiters)
        self.ui.advance(
            "judge",
            self._unreported,
            errors=c.errors,
            invalid=c.invalid,
            **{"429s": limited},
            cost=f"${c.cost_usd:.4f}",
        )
        self._unreported, self._reported_at = 0, now

    def _verdict(self, req: JudgeRequest, status: Status, repair_key: str) -> Verdict:
        s = req.sample
        return Verdict(
            model=self.model,
            dataset=s.dataset,
            subset=s.subset,
            index=s.index,
            judge=req.judge.label,
            sample_no=req.sample_no,
            template=req.template.id,
            judgment_key=req.key,
            pred_key=req.pred_key,
            status=status,
            repair_key=repair_key,
            run_id=self.run_id,
        )

    def _maybe_flush(self) -> None:
        if len(self._verdicts) >= FLUSH_ROWS or time.monotonic() - self._last_flush > FLUSH_S:
            self._flush()

    def _flush(self) -> None:
        """The buffered replies into the content cache (without the run id) and, with their verdict links,
        the store: one transaction each, not one per reply."""
        fresh = [j for j in self._judgments if j.status == "ok" and j.run_id == self.run_id]
        if fresh:
            self.memo.set_many("judge", [(j.key, {k: getattr(j, k) for k in CACHED_FIELDS}) for j in fresh])
        self.store.put_judgments(self._judgments, self._verdicts)
        self._judgments, self._verdicts = [], []
        self._last_flush = time.monotonic()
        self._progress(0)

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal
