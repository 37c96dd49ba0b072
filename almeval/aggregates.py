"""Aggregates computed from stored scores, never typed in by hand.

VoiceBench Avg = (20·AlpacaEval + 20·CommonEval + SD-QA + MMSU + OpenBookQA + IFEval + AdvBench) / 7,
with AlpacaEval and CommonEval on the judge's 1-5 scale and the other five in percent (IFEval as its
final score ×100). It reproduces Kimi-Audio-Evalkit's leaderboard Avg column from the other seven.
An aggregate is reported only when every component is present (complete), else it says what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Aggregate:
    name: str
    weights: Mapping[str, float]  # component dataset → weight (after which the sum is divided by `divisor`)
    divisor: float

    def compute(self, values: Mapping[str, float | None]) -> float | None:
        present = {k: values.get(k) for k in self.weights}
        if any(v is None for v in present.values()):
            return None
        total = sum(w * float(present[k] or 0.0) for k, w in self.weights.items())
        return round(total / self.divisor, 2)

    def missing(self, values: Mapping[str, float | None]) -> list[str]:
        return [k for k in self.weights if values.get(k) is None]


VOICEBENCH = Aggregate(
    "VoiceBench Avg",
    {"alpacaeval_full": 20, "commoneval": 20, "sd-qa": 1, "mmsu": 1, "openbookqa": 1, "ifeval": 1, "advbench": 1},
    divisor=7,
)
OPENAUDIOBENCH = Aggregate(
    "OpenAudioBench Avg",
    {"alpaca_eval": 1, "llama_questions": 1, "reasoning_qa": 1, "trivia_qa": 1, "web_questions": 1},
    divisor=5,
)
AGGREGATES = (VOICEBENCH, OPENAUDIOBENCH)
