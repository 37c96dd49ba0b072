"""The model-under-test interface: batch-first, with identity known before anything is loaded.

An adapter class says who it is (`identity`), what decides an item's output (`payload`, hashed into
the content key) and its generation params, all as classmethods that touch no weights. Only when the
plan has misses does the scheduler construct it (`__init__` loads the model) and call `generate`
with micro-batches in a worker thread. `generate` returns one output per request, in order: the
text, or an exception value for that item alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from almeval.errors import ConfigError, UnknownNameError
from almeval.prompts import Prompt
from almeval.values import Request, Sample

Output = str | BaseException


class Adapter(ABC):
    name: ClassVar[str]
    version: ClassVar[str] = "1"
    uses_prompt: ClassVar[bool] = True  # False: the rendered prompt does not reach the model (pure ASR)
    prompt_set: ClassVar[str] = ""  # adapters/prompts/<set>.yaml; "" = almeval/prompts.yaml
    max_batch_size: ClassVar[int] = 16
    takes_images: ClassVar[bool] = False  # image benchmarks (VLMEvalKit TSVs) run only on adapters that do
    # False: outputs cost no more to make again than to look up (replay reads them from a file), so they
    # are not put in the disk cache shared across work dirs; the store still records every one
    memoised: ClassVar[bool] = True
    # The longest audio (seconds, all of an item's files together) the model takes whole; longer items
    # fail with a per-item error instead of being cut short by its feature extractor. None = any length.
    max_audio_s: ClassVar[float | None] = None
    # Options that change how a model runs but never what it outputs. Every other option counts as
    # output-deciding and enters the model's key (two configurations are never merged, C12). `path` is
    # here because `key_identity` already says which weights (digest), endpoint or file it names.
    operational: ClassVar[frozenset[str]] = frozenset(
        {"label", "path", "batch_size", "concurrency", "rpm", "tpm", "timeout", "device", "api_key"}
    )

    def __init__(self, options: Mapping[str, str]):
        self.options = options

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        """Name, adapter version and weights revision: everything about the model that decides outputs."""
        return {"name": cls.name, "version": cls.version}

    option_names: ClassVar[frozenset[str]] = frozenset()  # the adapter's own -a options, beside COMMON_OPTIONS
    option_prefixes: ClassVar[tuple[str, ...]] = ()  # options passed on to parts (cascade: asr., llm.)

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        """An option the adapter does not take is an error with "did you mean" (`-a modee=echo`)."""
        known = cls.option_names | cls.operational | COMMON_OPTIONS
        for key in options:
            if key not in known and not key.startswith(cls.option_prefixes or ("\0",)):
                raise UnknownNameError(f"option of model {cls.name!r}", key, known)

    @classmethod
    def key_identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        """What names this model in the store (with its output-deciding options): its identity unless
        the adapter says otherwise (replay: the file it reads, not the file's current bytes)."""
        return cls.identity(options)

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        """The model's name in the store and reports."""
        return options.get("label") or cls.name

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        """Effective generation params (seed included) for this item; they enter the key."""
        return {}

    @classmethod
    def payload(cls, options: Mapping[str, str], sample: Sample, prompt: Prompt) -> dict[str, Any]:
        """What, besides identity and params, decides this item's output. Audio by digest, never by path."""
        text = [prompt.system, prompt.user] if cls.uses_prompt else None
        images = {"images": [i.sha256 for i in sample.images]} if sample.images else {}
        return {"prompt": text, "audio": [a.sha256 for a in sample.audio], **images}

    @classmethod
    def batch_size(cls, options: Mapping[str, str]) -> int:
        return positive_int(options, "batch_size", cls.max_batch_size)

    @abstractmethod
    def generate(self, requests: list[Request]) -> list[Output]:
        """Run one micro-batch (called in a worker thread)."""

    def prepare(self, requests: list[Request]) -> Any:
        """CPU work for a batch (decode audio, run the processor), done in a second thread while the
        previous batch generates. The default does nothing and `run` calls `generate`."""
        return requests

    def run(self, prepared: Any) -> list[Output]:
        return self.generate(prepared)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model (GPU memory, processes)."""


COMMON_OPTIONS = frozenset({"label", "path", "batch_size", "seed", "max_new_tokens"})


def text_chat(request: Request) -> list[dict[str, Any]] | None:
    """A text benchmark's chat input (an openai/evals sample's `input`) as the messages to send: chat
    messages as given (several system messages and a message's `name`, e.g. example_user, kept), a plain
    string as one user message; None for any other item."""
    chat = request.sample.meta.get("input") if request.sample.task == "Text" else None
    if isinstance(chat, str):
        return [{"role": "user", "content": chat}]
    if not isinstance(chat, list):
        return None
    out = []
    for m in chat:
        message = {"role": str(m.get("role", "user")), "content": m.get("content", "")}
        out.append({**message, "name": str(m["name"])} if m.get("name") else message)
    return out


def positive_int(options: Mapping[str, str], key: str, default: int) -> int:
    """A model option that must be a whole number ≥ 1 (`-a batch_size=abc`, `0` or `-1` is refused)."""
    raw = options.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or str(raw).strip() != str(value):
        raise ConfigError(f"model option {key} must be a whole number of at least 1, got {raw!r} (-a {key}=N)")
    return value


def length_override(options: Mapping[str, str]) -> dict[str, Any]:
    """`--model-arg max_new_tokens=N` over a model's published generation length (smoke runs, tests);
    recorded in the params like the rest."""
    return {"max_new_tokens": int(options["max_new_tokens"])} if "max_new_tokens" in options else {}


class AsyncModel(Adapter):
    """A model under test behind an endpoint: the scheduler runs `concurrency` `acomplete` calls at a time
    in the event loop, through the endpoint's limiter, instead of micro-batches in a worker thread."""

    @abstractmethod
    async def start(self, limiters: dict[str, Any]) -> None:
        """Inside the running loop: connect, sharing the endpoint's limiter from `limiters` (by URL)."""

    @abstractmethod
    async def acomplete(self, request: Request) -> Output: ...

    @abstractmethod
    async def aclose(self) -> None: ...

    @classmethod
    def concurrency(cls, options: Mapping[str, str]) -> int:
        return positive_int(options, "concurrency", 16)

    def generate(self, requests: list[Request]) -> list[Output]:
        raise NotImplementedError(f"{self.name} runs through acomplete() in the event loop")
