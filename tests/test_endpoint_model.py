"""A model under test behind an OpenAI-compatible endpoint: request shape checked by a loopback server."""

from __future__ import annotations

import hashlib

from conftest import asr_rows, write_manifest, write_wav
from openai_server import FakeOpenAI, ServerConfig
from storeview import fetch

from almeval.runner import EvalOptions, evaluate
from almeval.store import Store


def test_audio_goes_as_input_audio_parts_with_the_sample_bytes(tmp_path):
    files = [write_wav(tmp_path / "data" / f"a{i}.wav", seconds=0.3 + i / 10, freq=300 + 50 * i) for i in range(6)]
    rows = [{**r, "audio_path": f"a{i % 6}.wav"} for i, r in enumerate(asr_rows(12))]
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", rows)
    config = ServerConfig(limit=3, window_s=0.5, faults={"error500": 0.15, "reset": 0.1}, seed=3)
    with FakeOpenAI(config) as srv:
        out = evaluate(
            EvalOptions(
                model="openai:qwen2-audio-served",
                data=(str(manifest),),
                work_dir=tmp_path / "w",
                model_args={"base_url": srv.base_url, "concurrency": "4", "timeout": "2"},
            )
        )
        digests = sorted(srv.stats.audio_digests)
    # 12 items over 6 files with one prompt: 6 distinct inputs, so 6 calls serve all 12 items
    assert (out["failed"], out["items"], out["inferred"], out["model"]) == (0, 12, 6, "qwen2-audio-served")
    # every request carried exactly its sample's bytes (base64 WAV), and the text prompt beside it
    expected = sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)
    assert digests == expected
    texts = [t for (t,) in fetch(Store(tmp_path / "w" / "almeval.sqlite"), "SELECT text FROM predictions")]
    assert all(t.startswith("heard 1 audio part(s)") and "transcribe the speech" in t for t in texts)
    assert srv.stats.throttled + sum(srv.stats.faults.values()) > 0  # and it got there through 429s and faults


def test_second_run_sends_nothing(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(3))
    with FakeOpenAI() as srv:
        opts = EvalOptions(
            model="openai:m", data=(str(manifest),), work_dir=tmp_path / "w", model_args={"base_url": srv.base_url}
        )
        evaluate(opts)
        again = evaluate(opts)
        assert srv.stats.requests == 1 and again["model_loaded"] is False  # 3 items, one distinct input
