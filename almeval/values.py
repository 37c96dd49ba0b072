"""Frozen values that flow through the stages: Sample → Request → Prediction → ItemScore → Score, and on
the judge's side Judgment (a raw reply) and Verdict (which reply an item's judge sample is now).

Stages return new values (dataclasses.replace); nothing is mutated in place. `meta` mappings are
read-only views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Status = Literal["ok", "error"]
EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Audio:
    """An audio file and what its bytes are (the digest, never the path, enters content keys)."""

    path: str
    sha256: str
    duration_s: float
    sample_rate: int


@dataclass(frozen=True, slots=True)
class Image:
    """An image file and what its bytes are (the digest, never the path, enters content keys)."""

    path: str
    sha256: str
    width: int
    height: int
    mime: str = "image/png"


@dataclass(frozen=True, slots=True)
class ModelId:
    """Who a model under test is (C12). `key` (16 hex digits of a content key over the adapter's identity
    and its output-deciding options) keys every result; `label` is for display only."""

    key: str
    label: str

    @property
    def short(self) -> str:
        """`label@key8`: how a model is shown where two keys share a label."""
        return f"{self.label}@{self.key[:8]}"


@dataclass(frozen=True, slots=True)
class RecipeId:
    """A recipe's structured id. Stored and shown as text: `family@version` for rule recipes
    (`asr-default@2`, `mcq-extract@1`), `family@version:judge` for judge recipes
    (`judge-kimi@1:gpt-4o-mini`). `parse` is the only place that reads the text form."""

    family: str
    version: str = "1"
    judge: str = ""

    def __str__(self) -> str:
        return f"{self.family}@{self.version}" + (f":{self.judge}" if self.judge else "")

    @classmethod
    def parse(cls, text: str) -> RecipeId:
        head, _, judge = text.partition(":")  # a judge label may itself hold ':' (hf:DIR)
        family, _, version = head.partition("@")
        return cls(family, version or "1", judge)

    @property
    def variant(self) -> str:
        """`default`, `kimi` or `voicebench` for recipes that belong to such a view, else ""."""
        return next((v for v in ("default", "kimi", "voicebench") if self.family.endswith(f"-{v}")), "")


HEADLINE = frozenset({"asr-default", "judge-default"})  # the recipes a run's one-line summary shows

TASK_DEFAULT = "(task default)"  # a benchmark's judge when it names none: its task's template


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A benchmark as declared (almeval/datasets/catalog.py, `benchmark(...)`) or found by path."""

    name: str
    task: str  # ASR | MQA | RefQA | OpenQA
    interactive: str = "Audio-analysis"  # Audio-analysis (text instruction) | Audio-QA (spoken question)
    audio_type: str = "Speech"  # Speech | Music | AudioEvent | Any
    series: str = ""
    lang: str = ""
    manifest: str = ""  # resolved path of the JSONL manifest ("" = not prepared)
    description: str = ""
    subsets: tuple[str, ...] = ()  # the subsets its preparer writes (reported separately)
    rules: tuple[str, ...] | None = None  # rule recipe names; None = the task's default
    optional_rules: tuple[str, ...] = ()  # computed where their package is installed
    judge: str | Mapping[str, str] | None = TASK_DEFAULT  # template id, subset → id, None = rules only
    group: str = ""  # the report table; "" = derived from task and input


@dataclass(frozen=True, slots=True)
class Sample:
    dataset: str
    subset: str
    index: str
    audio: tuple[Audio, ...]
    question: str
    answer: str
    audio_content: str = ""
    lang: str = ""
    task: str = ""
    meta: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    interactive: str = "Audio-analysis"  # Audio-QA: the question is spoken inside the audio
    audio_type: str = "Speech"
    line: int = 0  # line in the manifest, for error messages
    images: tuple[Image, ...] = ()  # an image benchmark's images, in order (VLMEvalKit TSVs)

    @property
    def duration_s(self) -> float:
        return sum(a.duration_s for a in self.audio)


@dataclass(frozen=True, slots=True)
class Request:
    """What a model under test is asked. `key` is its content key (C1)."""

    key: str
    sample: Sample
    prompt: str  # the rendered user text
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    system: str = ""  # the rendered system prompt, if the prompt set has one


@dataclass(frozen=True, slots=True)
class Prediction:
    key: str
    text: str
    status: Status = "ok"
    error: str = ""
    latency_s: float = 0.0
    source: Literal["new", "cache", "store"] = "new"


@dataclass(frozen=True, slots=True)
class ItemScore:
    """One recipe's per-item values for a model's item (rule and judge recipes alike); `key` is what
    decided them, so an unchanged item is never scored again."""

    model: str  # the model key
    dataset: str
    subset: str
    index: str
    recipe: str  # a RecipeId's text form
    key: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Score:
    """One recipe's aggregate for a model over a subset ("" = the whole benchmark)."""

    model: str
    dataset: str
    subset: str
    recipe: str
    values: Mapping[str, Any]  # the metric, its CI, n and the failed / invalid / errors / unjudged counts
    n: int  # items in the group
    size: int  # items in the manifest in force
    complete: bool
    provenance: Mapping[str, Any]
    run_id: str


@dataclass(frozen=True, slots=True)
class Judgment:
    """A judge's raw reply to one request, content-keyed (C1) — or why there is none (`status` error).
    Replies are parsed by judge recipes when scoring, never here."""

    key: str
    judge: str
    template: str
    template_digest: str
    reply: str = ""
    status: Status = "ok"
    error: str = ""
    model_returned: str = ""  # the model name the API answered with
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 0
    run_id: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Which judgment answers a model's item for one judge sample now (`repair_key`: the reply of a
    repair call, when the first one could not be parsed)."""

    model: str
    dataset: str
    subset: str
    index: str
    judge: str
    sample_no: int
    template: str
    judgment_key: str
    pred_key: str
    status: Status = "ok"
    repair_key: str = ""
    run_id: str = ""


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a run covered of a benchmark for a model: manifest size, items planned, and the provenance
    the report shows beside its scores."""

    model: str
    dataset: str
    task: str
    size: int
    items: int
    provenance: Mapping[str, Any]
    run_id: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """Two judges of a panel on the items both judged: share of equal verdicts and Cohen's kappa."""

    model: str
    dataset: str
    judges: tuple[str, str]
    items: int
    agreement: float
    kappa: float | None
