"""The vLLM adapter (`--model vllm:…`): what it sends to the engine is built on CPU with a real processor
(a tiny Qwen2-Audio's); the engine itself needs a GPU and the `vllm` extra, which CI has not — there a run
stops with a clear error before anything is computed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import cli, write_manifest, write_wav

from almeval.values import Audio, Request, Sample


def test_each_item_becomes_a_chat_template_prompt_with_the_audio_as_multimodal_input(tmp_path):
    from tiny_models import tiny_qwen2_audio
    from transformers import AutoProcessor

    from almeval.adapters.vllm_engine import VllmAdapter, vllm_request

    processor = AutoProcessor.from_pretrained(tiny_qwen2_audio(tmp_path / "qa"))
    audio = [
        Audio(str(write_wav(tmp_path / f"{k}.wav", seconds=s, sr=8000)), f"sha{k}", s, 8000)
        for k, s in enumerate((0.5, 0.25))
    ]
    sample = Sample("d", "s", "0", tuple(audio), "What is said?", "x")
    request = Request("k", sample, "What is said?", VllmAdapter.params({"path": "m"}, sample), system="Be brief.")
    sent = vllm_request(request, processor)
    assert sent["prompt"].count("<|AUDIO|>") == 2 and "What is said?" in sent["prompt"]
    assert sent["prompt"].index("Be brief.") < sent["prompt"].index("<|AUDIO|>")  # the system turn first
    clips = sent["multi_modal_data"]["audio"]
    assert [(len(a), rate) for a, rate in clips] == [(8000, 16000), (4000, 16000)]  # resampled to its rate
    assert all(a.dtype == np.float32 for a, _ in clips)
    assert dict(request.params) == {"max_tokens": 256, "temperature": 0.0, "seed": 0}  # SamplingParams' fields


def test_without_vllm_a_run_stops_before_anything_with_how_to_install_it(tmp_path):
    from importlib.util import find_spec

    if find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    write_wav(tmp_path / "a.wav")
    rows = [{"index": 0, "audio_path": "a.wav", "question": "", "answer": "x", "subset": "s", "meta": {"task": "ASR"}}]
    manifest = write_manifest(tmp_path / "m.jsonl", rows)
    res = cli(
        "eval",
        "--model",
        "vllm:Qwen/Qwen2-Audio-7B-Instruct",
        "--data",
        str(manifest),
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert res.returncode == 2 and "almeval[vllm]" in res.stderr, res.stderr
    assert not (tmp_path / "w" / "runs").exists()  # nothing was run
