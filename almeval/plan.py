"""Plan before load (C2): load samples, compute every content key, look each up in the store and
then the disk cache. Only misses go on to inference; nothing here builds a model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from almeval.adapters import Adapter
from almeval.cache import AudioProbe, Memo, content_key
from almeval.cache.keys import text_digest

from .datasets import load_samples
from .errors import DataError
from .prompts import Prompt, PromptBook
from .store import Store
from .values import EMPTY, DatasetInfo, ModelId, Prediction, Request, Sample


@dataclass(frozen=True)
class ModelSpec:
    """The model under test as known before loading: class, options, identity and the key that names
    its results (C12)."""

    cls: type[Adapter]
    options: Mapping[str, str]
    id: ModelId
    identity: Mapping[str, Any]

    @property
    def label(self) -> str:
        return self.id.label

    @classmethod
    def of(cls, adapter: type[Adapter], options: Mapping[str, str]) -> ModelSpec:
        adapter.check_options(options)  # unknown options and a bad batch size are refused before anything runs
        adapter.batch_size(options)
        return cls(adapter, options, model_id(adapter, options), adapter.identity(options))

    def request(self, sample: Sample, prompt: Prompt) -> Request:
        params = self.cls.params(self.options, sample)
        payload = self.cls.payload(self.options, sample, prompt)
        key = content_key("inference", {"model": self.identity, "params": params, "input": payload})
        return Request(key=key, sample=sample, prompt=prompt.user, params=params or EMPTY, system=prompt.system)


def model_id(adapter: type[Adapter], options: Mapping[str, str]) -> ModelId:
    """Key = the adapter's key identity plus every option it does not declare operational."""
    deciding = {k: v for k, v in sorted(options.items()) if k not in adapter.operational}
    key = content_key("model", {"identity": adapter.key_identity(options), "options": deciding})[:16]
    return ModelId(key, adapter.label(options))


@dataclass(frozen=True)
class DatasetPlan:
    info: DatasetInfo
    indices: tuple[str, ...]  # every item of the manifest in force (a limited run covers fewer)
    requests: tuple[Request, ...]
    known: Mapping[str, Prediction]  # key → prediction already in the store or the disk cache
    stored_items: Mapping[str, str]  # idx → pred_key recorded before this run
    prompt_digests: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return len(self.indices)

    @property
    def misses(self) -> list[Request]:
        return [r for r in self.requests if r.key not in self.known]

    def counts(self) -> dict[str, int]:
        misses = self.misses
        changed = sum(1 for r in misses if r.sample.index in self.stored_items)
        from_store = sum(1 for p in self.known.values() if p.source == "store")
        return {
            "items": len(self.requests),
            "size": self.size,
            "cached": len(self.requests) - len(misses),
            "from_store": from_store,
            "to_infer": len(misses),
            "changed": changed,
            "new": len(misses) - changed,
        }


def plan_dataset(
    info: DatasetInfo,
    spec: ModelSpec,
    prompts: PromptBook,
    probe: AudioProbe,
    store: Store,
    memo: Memo,
    limit: int | None,
) -> DatasetPlan:
    samples, indices = load_samples(info, probe, limit)
    info = _with_task(info, samples)
    requests = tuple(spec.request(s, prompts.render(s)) for s in samples)
    digests = sorted({text_digest(prompts.template(s)) for s in samples}) if spec.cls.uses_prompt else []
    return DatasetPlan(
        info,
        indices,
        requests,
        lookup(requests, store, memo if spec.cls.memoised else None),
        store.items(spec.id.key, info.name),
        tuple(digests),
    )


def _with_task(info: DatasetInfo, samples: list[Sample]) -> DatasetInfo:
    """A manifest given by path takes its task from its items' meta; one dataset has one task."""
    tasks = {s.task for s in samples}
    if len(tasks) > 1:
        raise DataError(
            info.manifest,
            f"items of one dataset have different tasks: {', '.join(sorted(tasks))}",
            "split the manifest by task",
        )
    return replace(info, task=tasks.pop()) if tasks and not info.task else info


def lookup(requests: tuple[Request, ...], store: Store, memo: Memo | None) -> dict[str, Prediction]:
    """Store first (one query per 900 keys), then the disk cache (None: a model whose outputs are not
    memoised). Failed predictions are misses (retried)."""
    keys = list(dict.fromkeys(r.key for r in requests))
    known: dict[str, Prediction] = {}
    known.update({k: p for k, p in store.predictions(keys).items() if p.status == "ok"})
    if memo is None:
        return known
    for key in keys:
        if key not in known:
            hit = memo.get("pred", key)
            if hit is not None:
                known[key] = Prediction(key, hit["text"], source="cache")
    return known
