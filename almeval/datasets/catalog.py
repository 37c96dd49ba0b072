"""Every benchmark almeval knows by name, each declared once: task, subsets, language, input kind, rule
recipes, judge template(s), report group, and the series (source folder) it is prepared with, with
that series' preparer and suites (aggregates such as VoiceBench Avg).

Adding a benchmark touches one `benchmark(...)` line here (in an existing or a new `Series`), plus a
preparer function in `almeval/prepare/` when its source needs converting, plus a fixture in
`tests/source_fixtures.py`. Names of recipes, templates and preparers are strings, resolved and
checked by the engine and by `tests/test_catalog.py`. Manifests come from config.yaml
(DATASETS.datasets) or the dataset root (<root>/<SERIES>/<NAME>.jsonl, as `almeval data prepare`
writes them); the demo datasets ship inside the package. Other packages add benchmarks through the
`almeval.benchmarks` entry point (a `benchmark(...)` value, a tuple of them, or a `Series`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from almeval.values import TASK_DEFAULT, DatasetInfo

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"

TASKS = ("ASR", "MQA", "RefQA", "OpenQA")  # audio tasks; openai/evals' text evals have task "Text"
GROUPS = (
    "ASR",
    "Audio understanding",
    "Audio-to-text chat",
    "Text evals (openai/evals)",
    "Image benchmarks (VLMEvalKit)",
)  # report tables, in order


def benchmark(
    name: str,
    task: str,
    subsets: str = "",
    *,
    lang: str = "",
    spoken_question: bool = False,
    audio: str = "Speech",
    rules: tuple[str, ...] | None = None,
    optional_rules: tuple[str, ...] = (),
    judge: str | Mapping[str, str] | None = TASK_DEFAULT,
    group: str = "",
    manifest: str = "",
    description: str = "",
) -> DatasetInfo:
    """One benchmark. `rules`: rule recipe names (None = the task's default: ASR → asr-default, asr-kimi);
    `optional_rules`: computed where their package is installed; `judge`: a template id, a subset → id
    map, None (scored by rules only), or the task's default template; `group`: the report table
    (default: ASR, or chat for spoken questions and open QA, else understanding)."""
    return DatasetInfo(
        name=name,
        task=task,
        interactive="Audio-QA" if spoken_question else "Audio-analysis",
        audio_type=audio,
        lang=lang,
        manifest=manifest,
        description=description,
        subsets=tuple(subsets.split()),
        rules=rules,
        optional_rules=optional_rules,
        judge=judge,
        group=group,
    )


@dataclass(frozen=True)
class Suite:
    """An aggregate over components (benchmarks, or the subsets of one benchmark `of`): the weighted sum
    of each component's overall value under the named recipe family, divided by `divisor`. Reported
    only when every component is present; otherwise the missing ones are named."""

    name: str
    weights: Mapping[str, float]
    divisor: float
    recipes: Mapping[str, str]  # component → recipe family its value is read from ("judge" = the judge's)
    over: Literal["benchmarks", "subsets"] = "benchmarks"
    of: str = ""

    def compute(self, values: Mapping[str, float | None]) -> float | None:
        present = {k: values.get(k) for k in self.weights}
        if any(v is None for v in present.values()):
            return None
        total = sum(w * float(present[k] or 0.0) for k, w in self.weights.items())
        return round(total / self.divisor, 2)

    def missing(self, values: Mapping[str, float | None]) -> list[str]:
        return [k for k in self.weights if values.get(k) is None]


@dataclass(frozen=True)
class Series:
    """A source folder (<root>/<SERIES>/) with its preparer ("module:function" under almeval.prepare, ""
    = none), the source keys it takes, its benchmarks and its suites."""

    name: str
    prepare: str
    sources: str
    benchmarks: tuple[DatasetInfo, ...]
    suites: tuple[Suite, ...] = ()
    pins: Mapping[str, str] = field(default_factory=dict)  # official download URL → "sha256:HEX" | "md5:HEX"

    def __post_init__(self) -> None:
        object.__setattr__(self, "benchmarks", tuple(replace(b, series=self.name) for b in self.benchmarks))


def group_of(info: DatasetInfo) -> str:
    """The report table a benchmark's numbers go in (Kimi-Audio's grouping unless it declares one)."""
    if info.group:
        return info.group
    if info.task == "Text":
        return "Text evals (openai/evals)"
    if info.task.startswith("Image"):
        return "Image benchmarks (VLMEvalKit)"
    if info.task == "ASR":
        return "ASR"
    return "Audio-to-text chat" if info.interactive == "Audio-QA" or info.task == "OpenQA" else "Audio understanding"


_SUBSETS_OAB = ("alpaca_eval", "llama_questions", "reasoning_qa", "trivia_qa", "web_questions")

SERIES: tuple[Series, ...] = (
    Series(
        "LibriSpeech",
        "librispeech:prepare",
        "test-clean, test-other",
        (benchmark("LibriSpeech", "ASR", "test_clean test_other", lang="en"),),
        # OpenSLR 12's tarballs; these sha256 digests are the ones torchaudio's LIBRISPEECH checks
        pins={
            "https://www.openslr.org/resources/12/test-clean.tar.gz": (
                "sha256:39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23"
            ),
            "https://www.openslr.org/resources/12/test-other.tar.gz": (
                "sha256:d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29"
            ),
        },
    ),
    Series(
        "Fleurs",
        "fleurs:prepare",
        "fleurs (hub id or save_to_disk folder)",
        (
            benchmark("Fleurs-zh", "ASR", "fleurs_cmn_hans_cn", lang="zh"),
            benchmark("Fleurs-en", "ASR", "fleurs_en_us", lang="en"),
        ),
    ),
    Series(
        "AISHELL-1",
        "aishell:prepare_aishell1",
        "data_aishell",
        (benchmark("AISHELL-1", "ASR", "aishell1_test", lang="zh"),),
    ),
    Series(
        "AISHELL-2",
        "aishell:prepare_aishell2",
        "ios_test (required)",
        (benchmark("AISHELL-2", "ASR", "aishell2_test", lang="zh"),),
    ),
    Series(
        "WenetSpeech",
        "wenetspeech:prepare",
        "test_net, test_meeting (gated hub set)",
        (benchmark("WenetSpeech", "ASR", "test_net test_meeting", lang="zh"),),
    ),
    Series(
        "MMAU",
        "questions:prepare_mmau",
        "audio (required), meta",
        # MMAU's official string-match scorer, beside Kimi-Audio-Evalkit's judge
        (benchmark("mmau-test-mini", "MQA", "sound music speech", audio="AudioEvent", rules=("mmau-match",)),),
    ),
    Series(
        "VoiceBench",
        "voicebench:prepare",
        "voicebench (hub id or save_to_disk folder)",
        (
            # judged as Kimi-Audio-Evalkit does, extracted strictly, and (with a VoiceBench checkout) by
            # VoiceBench's own evaluator
            benchmark(
                "openbookqa",
                "MQA",
                "openbookqa",
                spoken_question=True,
                rules=("mcq-extract",),
                optional_rules=("mcq-voicebench",),
            ),
            benchmark(
                "mmsu", "MQA", "mmsu", spoken_question=True, rules=("mcq-extract",), optional_rules=("mcq-voicebench",)
            ),
            benchmark("sd-qa", "RefQA", "sd-qa", spoken_question=True, optional_rules=("pedant",), judge="sdqa-yesno"),
            benchmark("alpacaeval_full", "OpenQA", "alpacaeval_full", spoken_question=True),
            benchmark("commoneval", "OpenQA", "commoneval", spoken_question=True),
            benchmark(
                "advbench",
                "OpenQA",
                "advbench",
                spoken_question=True,
                rules=("refusal",),
                optional_rules=("refusal-voicebench",),
                judge=None,
            ),
            benchmark("ifeval", "OpenQA", "ifeval", spoken_question=True, rules=("ifeval",), judge=None),
            benchmark("wildvoice", "OpenQA", "wildvoice", spoken_question=True),
            # VoiceBench's rule evaluator only (from a VoiceBench checkout): no score without one
            benchmark(
                "bbh", "RefQA", "bbh", spoken_question=True, rules=(), optional_rules=("bbh-voicebench",), judge=None
            ),
        ),
        # Kimi-Audio-Evalkit's VoiceBench Avg: the two 1-5 judge scores ×20, the five others in percent
        # (IFEval as its final score ×100); reproduces its leaderboard Avg from the other seven columns.
        # VoiceBench's own Overall adds WildVoice (×20) and BBH: nine components; reproduces its
        # leaderboard's Overall from the other nine columns. Each component names its exact recipe.
        suites=(
            Suite(
                "VoiceBench Avg (Kimi)",
                {
                    "alpacaeval_full": 20,
                    "commoneval": 20,
                    "sd-qa": 1,
                    "mmsu": 1,
                    "openbookqa": 1,
                    "ifeval": 1,
                    "advbench": 1,
                },
                divisor=7,
                recipes={
                    "alpacaeval_full": "judge-kimi",
                    "commoneval": "judge-kimi",
                    "sd-qa": "judge-kimi",
                    "mmsu": "judge-kimi",
                    "openbookqa": "judge-kimi",
                    "ifeval": "ifeval",
                    "advbench": "refusal",
                },
            ),
            Suite(
                "VoiceBench Overall",
                {
                    "alpacaeval_full": 20,
                    "commoneval": 20,
                    "wildvoice": 20,
                    "sd-qa": 1,
                    "mmsu": 1,
                    "openbookqa": 1,
                    "bbh": 1,
                    "ifeval": 1,
                    "advbench": 1,
                },
                divisor=9,
                recipes={
                    "alpacaeval_full": "judge-default",
                    "commoneval": "judge-default",
                    "wildvoice": "judge-default",
                    "sd-qa": "judge-default",
                    "mmsu": "mcq-voicebench",
                    "openbookqa": "mcq-voicebench",
                    "bbh": "bbh-voicebench",
                    "ifeval": "ifeval",
                    "advbench": "refusal-voicebench",
                },
            ),
        ),
    ),
    Series("MELD", "questions:prepare_meld", "raw", (benchmark("MELD", "MQA", "emotion"),)),
    Series(
        "Nonspeech7k",
        "sound:prepare_nonspeech7k",
        "audio, meta",
        (benchmark("Nonspeech7k", "MQA", "test", audio="AudioEvent"),),
    ),
    Series(
        "TUT2017",
        "sound:prepare_tut2017",
        "audio1..audio4, meta",
        (benchmark("TUT2017", "MQA", "acoustic_scene_classification", audio="AudioEvent", judge="mcq-yesno-tut2017"),),
    ),
    Series(
        "VocalSound",
        "sound:prepare_vocalsound",
        "audio, meta (required)",
        (benchmark("VocalSound", "MQA", "voice_classification", audio="AudioEvent"),),
    ),
    Series(
        "CochlScene",
        "sound:prepare_cochlscene",
        "cochlscene (required)",
        (benchmark("CochlScene", "MQA", "Test Val", audio="AudioEvent", judge="mcq-yesno-cochlscene"),),
    ),
    Series(
        "ClothoAQA",
        "questions:prepare_clothoaqa",
        "audio, val, test (CSVs required)",
        (benchmark("ClothoAQA", "RefQA", "val test", audio="AudioEvent", judge="refqa-yesno"),),
    ),
    Series(
        "OpenAudioBench",
        "openaudiobench:prepare",
        "openaudiobench (repo copy or hub id)",
        (
            benchmark(
                "OpenAudioBench",
                "RefQA",
                " ".join(_SUBSETS_OAB),
                spoken_question=True,
                judge={
                    "alpaca_eval": "oab-rating10",
                    "llama_questions": "oab-correct",
                    "reasoning_qa": "oab-math5",
                    "trivia_qa": "oab-json",
                    "web_questions": "oab-json",
                },
            ),
        ),
        suites=(
            Suite(
                "OpenAudioBench Avg",
                dict.fromkeys(_SUBSETS_OAB, 1.0),
                divisor=5,
                recipes=dict.fromkeys(_SUBSETS_OAB, "judge-kimi"),  # Kimi-Audio-Evalkit's: invalid replies dropped
                over="subsets",
                of="OpenAudioBench",
            ),
        ),
    ),
    Series(
        "demo",
        "",
        "",
        (
            benchmark(
                "demo",
                "ASR",
                lang="en",
                manifest=str(DEMO_DIR / "demo.jsonl"),
                description=(
                    "24 English utterances: 22 sentences rendered by Debian's flite in two voices (flite-slt, "
                    "flite-kal16) and 2 real CMU ARCTIC recordings (arctic). The WER is the model's real error rate "
                    "on real speech (English text normalised by OpenAI Whisper's own normaliser, from the "
                    "openai-whisper package)."
                ),
            ),
            benchmark(
                "demo-mqa",
                "MQA",
                spoken_question=True,
                rules=("mcq-extract",),
                manifest=str(DEMO_DIR / "demo-mqa.jsonl"),
                description=(
                    "6 spoken multiple-choice questions (flite). An ASR model (Whisper, pocketsphinx) transcribes "
                    "the question instead of answering it, so its true accuracy here is 0: mcq-extract finds no "
                    "option letter in a transcript (every item invalid, scored wrong). The offline "
                    "demonstration judge (SmolLM2-135M, choosing 'Result: yes' or 'Result: no' by "
                    "log-probability) still says yes to some transcripts: the gap between its number and 0 is "
                    "how far a 135M judge is from trustworthy. Use gpt-4o-mini or a strong local judge for "
                    "real numbers."
                ),
            ),
        ),
    ),
)

BENCHMARKS: tuple[DatasetInfo, ...] = tuple(b for s in SERIES for b in s.benchmarks)
SUITES: tuple[Suite, ...] = tuple(x for s in SERIES for x in s.suites)


def series_of(value: Any, source: str) -> Series:
    """A plugin's entry point value as a Series: a Series as is; benchmarks (one or a tuple) in a series
    of their own named for the package."""
    if isinstance(value, Series):
        return value
    items = value if isinstance(value, (list, tuple)) else (value,)
    if not items or not all(isinstance(i, DatasetInfo) for i in items):
        raise TypeError(f"{source}: expected benchmark(...) values or a Series, got {value!r}")
    return Series(items[0].series or items[0].name, "", "", tuple(items))
