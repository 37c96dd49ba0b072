"""openai/evals' basic graders as almeval rule recipes (their behaviour, in almeval's own code):

oai-match        `Match`: right when the completion starts with one of the ideal answers (first match wins,
                 as oaieval picks it); accuracy.
oai-includes     `Includes`: right when an ideal answer occurs anywhere in the completion (case-sensitive
                 unless the spec's `ignore_case`); accuracy.
oai-fuzzy-match  `FuzzyMatch`: both sides normalised (lower case, ASCII punctuation, the articles a / an /
                 the and extra whitespace removed); right when either contains the other (two empty
                 strings match, one empty never does); accuracy, and `f1_score`: per item the best token F1
                 against the ideal answers (normalised tokens), averaged.

The ideal answers come from the sample (`meta.ideal`, a string or a list) and a spec's args from
`meta.oai_args`. A failed completion counts as wrong (F1 0). Not wired to the engine yet: no
`--data oai:NAME` runs them (openai/evals issue).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .cache.keys import content_key
from .errors import DataError
from .stats import mean_ci
from .values import Prediction, RecipeId, Sample

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def fuzzy_match(a: str, b: str) -> bool:
    a, b = normalize(a), normalize(b)
    if not a or not b:
        return a == b
    return a in b or b in a


def token_f1(prediction: str, answers: Iterable[str]) -> float:
    def one(truth: str) -> float:
        said, want = normalize(prediction).split(), normalize(truth).split()
        same = sum((Counter(said) & Counter(want)).values())
        if same == 0:
            return 0.0
        precision, recall = same / len(said), same / len(want)
        return 2 * precision * recall / (precision + recall)

    return max(one(a) for a in answers)


def starts_with_one(completion: str, ideals: list[str]) -> bool:
    picked = next((option for option in ideals if completion.startswith(option)), None)
    return picked is not None


def includes_one(completion: str, ideals: list[str], ignore_case: bool = False) -> bool:
    if ignore_case:
        return any(ideal.lower() in completion.lower() for ideal in ideals)
    return any(ideal in completion for ideal in ideals)


def ideals_of(sample: Sample) -> list[str]:
    ideal = sample.meta.get("ideal", sample.answer)
    values = ideal if isinstance(ideal, list) else [ideal]
    if not values or not all(isinstance(v, str) for v in values):
        raise DataError(
            f"{sample.dataset} item {sample.index}", "ideal must be a string or a list of strings", "fix the sample"
        )
    return list(values)


@dataclass(frozen=True)
class OaiGrader:
    """One of the three graders; per-item values (failed, correct, f1 in 1e-6) kept compact."""

    name: str
    version: str = "1"
    extra: str = ""
    fields: tuple[str, ...] = ("failed", "correct", "f1_micro")

    @property
    def id(self) -> str:
        return str(RecipeId(self.name, self.version))

    def check(self) -> None:
        """Pure Python: nothing to check."""

    def metric(self, lang: str) -> str:
        return "acc"

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        args = dict(sample.meta.get("oai_args") or {})
        inputs = {"ideal": ideals_of(sample), "args": args, "hyp": pred.text, "status": pred.status}
        return content_key("metric", {"recipe": self.id, **inputs})

    def item(self, sample: Sample, pred: Prediction) -> dict[str, float]:
        if pred.status != "ok":
            return {"failed": 1, "correct": 0, "f1_micro": 0}
        ideals, text = ideals_of(sample), pred.text
        if self.name == "oai-match":
            right = starts_with_one(text, ideals)
        elif self.name == "oai-includes":
            right = includes_one(text, ideals, bool((sample.meta.get("oai_args") or {}).get("ignore_case")))
        else:
            right = any(fuzzy_match(text, ideal) for ideal in ideals)
        f1 = token_f1(text, ideals) if self.name == "oai-fuzzy-match" else 0.0
        return {"failed": 0, "correct": int(right), "f1_micro": round(f1 * 1_000_000)}

    def compact(self, values: Mapping[str, float]) -> tuple[int, ...]:
        return tuple(int(values[f]) for f in self.fields)

    def aggregate(self, lang: str, values: Iterable[tuple[int, ...]]) -> dict[str, Any]:
        rows = list(values)
        hits = [100.0 * r[1] for r in rows]
        out: dict[str, Any] = {
            "acc": round(sum(hits) / len(rows), 2) if rows else None,
            "metric": "acc",
            "ci95": mean_ci(hits),
            "n": len(rows),
            "failed": sum(r[0] for r in rows),
            "invalid": 0,
            "dropped": 0,
        }
        if self.name == "oai-fuzzy-match" and rows:
            out["f1_score"] = round(100.0 * sum(r[2] for r in rows) / 1_000_000 / len(rows), 2)
        return out


OAI_MATCH = OaiGrader("oai-match")
OAI_INCLUDES = OaiGrader("oai-includes")
OAI_FUZZY_MATCH = OaiGrader("oai-fuzzy-match")
GRADERS = {
    "evals.elsuite.basic.match:Match": OAI_MATCH,
    "evals.elsuite.basic.includes:Includes": OAI_INCLUDES,
    "evals.elsuite.basic.fuzzy_match:FuzzyMatch": OAI_FUZZY_MATCH,
}
