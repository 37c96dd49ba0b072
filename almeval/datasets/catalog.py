"""Metadata of the datasets almeval knows by name (task, interaction, audio type, series, language).

Manifests come from config.yaml (DATASETS.datasets) or the dataset root (<root>/<SERIES>/<NAME>.jsonl,
as `almeval data prepare` writes them); the demo datasets ship inside the package.
"""

from __future__ import annotations

from pathlib import Path

from almeval.values import DatasetInfo

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"

TASKS = ("ASR", "MQA", "RefQA", "OpenQA")


def _d(
    name: str, task: str, series: str, subsets: str, *, qa: bool = False, audio: str = "Speech", lang: str = ""
) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        task=task,
        interactive="Audio-QA" if qa else "Audio-analysis",
        audio_type=audio,
        series=series,
        lang=lang,
        subsets=tuple(subsets.split()),
    )


BENCHMARKS: tuple[DatasetInfo, ...] = (
    _d("LibriSpeech", "ASR", "LibriSpeech", "test_clean test_other", lang="en"),
    _d("Fleurs-zh", "ASR", "Fleurs", "fleurs_cmn_hans_cn", lang="zh"),
    _d("Fleurs-en", "ASR", "Fleurs", "fleurs_en_us", lang="en"),
    _d("AISHELL-1", "ASR", "AISHELL-1", "aishell1_test", lang="zh"),
    _d("AISHELL-2", "ASR", "AISHELL-2", "aishell2_test", lang="zh"),
    _d("WenetSpeech", "ASR", "WenetSpeech", "test_net test_meeting", lang="zh"),
    _d("mmau-test-mini", "MQA", "MMAU", "sound music speech", audio="AudioEvent"),
    _d("openbookqa", "MQA", "VoiceBench", "openbookqa", qa=True),
    _d("mmsu", "MQA", "VoiceBench", "mmsu", qa=True),
    _d("MELD", "MQA", "MELD", "emotion"),
    _d("Nonspeech7k", "MQA", "Nonspeech7k", "test", audio="AudioEvent"),
    _d("TUT2017", "MQA", "TUT2017", "acoustic_scene_classification", audio="AudioEvent"),
    _d("VocalSound", "MQA", "VocalSound", "voice_classification", audio="AudioEvent"),
    _d("CochlScene", "MQA", "CochlScene", "Test Val", audio="AudioEvent"),
    _d("ClothoAQA", "RefQA", "ClothoAQA", "val test", audio="AudioEvent"),
    _d("sd-qa", "RefQA", "VoiceBench", "sd-qa", qa=True),
    _d(
        "OpenAudioBench",
        "RefQA",
        "OpenAudioBench",
        "alpaca_eval llama_questions reasoning_qa trivia_qa web_questions",
        qa=True,
    ),
    _d("alpacaeval_full", "OpenQA", "VoiceBench", "alpacaeval_full", qa=True),
    _d("commoneval", "OpenQA", "VoiceBench", "commoneval", qa=True),
    _d("advbench", "OpenQA", "VoiceBench", "advbench", qa=True),
    _d("ifeval", "OpenQA", "VoiceBench", "ifeval", qa=True),
)

DEMOS: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        name="demo",
        task="ASR",
        series="demo",
        lang="en",
        manifest=str(DEMO_DIR / "demo.jsonl"),
        description="flite-rendered English sentences + 2 CMU ARCTIC recordings",
    ),
    DatasetInfo(
        name="demo-mqa",
        task="MQA",
        interactive="Audio-QA",
        series="demo",
        manifest=str(DEMO_DIR / "demo-mqa.jsonl"),
        description="spoken multiple-choice questions (flite), for judge recipes",
    ),
)
