"""Metadata of the datasets almeval knows by name (task, interaction, audio type, series, language).

Manifests come from config.yaml (DATASETS.datasets) or the dataset root; the demo datasets ship
inside the package. Preparing the public benchmarks from source is `almeval data prepare` (planned).
"""

from __future__ import annotations

from pathlib import Path

from almeval.values import DatasetInfo

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"

TASKS = ("ASR", "MQA", "RefQA", "OpenQA")


def _d(name: str, task: str, series: str, *, qa: bool = False, audio: str = "Speech", lang: str = "") -> DatasetInfo:
    return DatasetInfo(
        name=name,
        task=task,
        interactive="Audio-QA" if qa else "Audio-analysis",
        audio_type=audio,
        series=series,
        lang=lang,
    )


BENCHMARKS: tuple[DatasetInfo, ...] = (
    _d("LibriSpeech", "ASR", "LibriSpeech", lang="en"),
    _d("Fleurs-zh", "ASR", "Fleurs", lang="zh"),
    _d("Fleurs-en", "ASR", "Fleurs", lang="en"),
    _d("AISHELL-1", "ASR", "AISHELL-1", lang="zh"),
    _d("AISHELL-2", "ASR", "AISHELL-2", lang="zh"),
    _d("WenetSpeech", "ASR", "WenetSpeech", lang="zh"),
    _d("mmau-test-mini", "MQA", "MMAU", audio="AudioEvent"),
    _d("openbookqa", "MQA", "VoiceBench", qa=True),
    _d("mmsu", "MQA", "VoiceBench", qa=True),
    _d("MELD", "MQA", "MELD"),
    _d("Nonspeech7k", "MQA", "Nonspeech7k", audio="AudioEvent"),
    _d("TUT2017", "MQA", "TUT2017", audio="AudioEvent"),
    _d("VocalSound", "MQA", "VocalSound", audio="AudioEvent"),
    _d("CochlScene", "MQA", "CochlScene", audio="AudioEvent"),
    _d("ClothoAQA", "RefQA", "ClothoAQA", audio="AudioEvent"),
    _d("sd-qa", "RefQA", "VoiceBench", qa=True),
    _d("OpenAudioBench", "RefQA", "OpenAudioBench", qa=True),
    _d("alpacaeval_full", "OpenQA", "VoiceBench", qa=True),
    _d("commoneval", "OpenQA", "VoiceBench", qa=True),
    _d("advbench", "OpenQA", "VoiceBench", qa=True),
    _d("ifeval", "OpenQA", "VoiceBench", qa=True),
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
