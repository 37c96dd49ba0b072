from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import fake_eval_cmd

from almeval.runner import EvalOptions, evaluate

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own disk cache and no stray config, API key or reference checkout from the environment
    (the real-checkout tests read ALMEVAL_REFERENCE_KIMI when they are collected)."""
    from almeval import references

    references.choose({})
    monkeypatch.setenv("ALMEVAL_CACHE_DIR", str(tmp_path / "cache"))
    for var in (
        "ALMEVAL_CONFIG",
        "ALMEVAL_DATASET_ROOT",
        "OPENAI_API_KEY",
        "ALMEVAL_REFERENCE_KIMI",
        "ALMEVAL_REFERENCE_VOICEBENCH",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def write_wav(path: Path, seconds: float = 0.5, freq: float = 440.0, sr: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr, subtype="PCM_16")
    return path


def write_manifest(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def asr_rows(n: int, audio: str = "a.wav", subset: str = "s1", lang: str = "en", prefix: str = "") -> list[dict]:
    return [
        {
            "index": f"{prefix}{i}",
            "audio_path": audio,
            "question": "q",
            "answer": f"sentence number {i} {prefix}",
            "subset": subset,
            "meta": {"task": "ASR", "lang": lang},
        }
        for i in range(n)
    ]


@pytest.fixture
def asr_set(tmp_path) -> Path:
    """A 12-item English ASR manifest over one real WAV file."""
    write_wav(tmp_path / "data" / "a.wav")
    return write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(12))


def run(tmp_path: Path, data: list[str], model: str = "fake", **kw) -> dict:
    args = kw.pop("model_args", {})
    return evaluate(EvalOptions(model=model, data=tuple(data), model_args=args, work_dir=tmp_path / "work", **kw))


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def cli(*args: str, env: dict | None = None, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "almeval", *args], capture_output=True, text=True, env=full_env, cwd=cwd, **kw
    )


def start_fake_eval(manifest: Path, work: Path, log: Path, latency: float, batch_size: int = 4) -> subprocess.Popen:
    """`almeval eval` with the fake model in a child process (killed or run side by side by tests)."""
    args = ("-a", f"log={log}", "-a", f"batch_latency={latency}", "-a", f"batch_size={batch_size}")
    cmd = fake_eval_cmd(manifest, work, *args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


@pytest.fixture(scope="session")
def _kimi_standin(tmp_path_factory) -> Path:
    from reference_standins import kimi_checkout

    return kimi_checkout(tmp_path_factory.mktemp("kimi-standin"))


@pytest.fixture
def kimi_reference(_kimi_standin, monkeypatch) -> Path:
    """A stand-in Kimi-Audio-Evalkit checkout (our own code, its layout) given as ALMEVAL_REFERENCE_KIMI."""
    from almeval import references

    monkeypatch.setenv("ALMEVAL_REFERENCE_KIMI", str(_kimi_standin))
    references.choose({})
    return _kimi_standin


def raised_within(seconds: float, call, hang: str) -> BaseException | None:
    """Run `call` in a thread; fail with `hang` if it has not returned after `seconds`, else return what it
    raised (None if nothing)."""
    import threading

    outcome: dict = {}

    def target():
        try:
            call()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), hang
    return outcome.get("error")
