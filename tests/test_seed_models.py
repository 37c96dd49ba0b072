"""Baichuan-Audio and GLM-4-Voice adapters through their real code paths: transformers'
trust_remote_code loading of a checkpoint carrying its own model code (a tiny stand-in with Baichuan's
processor interface) and GLM-4-Voice's speech_tokenizer module (a stand-in package with its names), so
prompt building, audio spans, generation and text-token filtering run offline."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("transformers")

from conftest import write_manifest, write_wav
from storeview import fetch
from tiny_models import GLM_TOKENS, fake_speech_tokenizer, tiny_baichuan_like, tiny_llama

from almeval.adapters.glm4_voice import chat_prompt, text_tokens
from almeval.runner import EvalOptions, evaluate
from almeval.store import Store

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _manifest(tmp_path, task="ASR", interactive="Audio-analysis"):
    rows = []
    for i, secs in enumerate([0.7, 1.9, 1.2]):
        write_wav(tmp_path / "data" / f"a{i}.wav", seconds=secs, freq=220 + 100 * i)
        meta = {"task": task, "lang": "zh", "interactive": interactive}
        rows.append(
            {"index": i, "audio_path": f"a{i}.wav", "question": "Q?", "answer": "x", "subset": "s", "meta": meta}
        )
    return write_manifest(tmp_path / "data" / "set.jsonl", rows)


def _run(tmp_path, model, manifest, tag, **args):
    os.environ["ALMEVAL_CACHE_DIR"] = str(tmp_path / f"cache-{tag}")
    model_args = {"dtype": "float32", "max_new_tokens": "5", **args}
    out = evaluate(EvalOptions(model=model, data=(str(manifest),), work_dir=tmp_path / tag, model_args=model_args))
    q = "SELECT i.idx, p.text, p.params FROM items i JOIN predictions p ON p.key = i.pred_key ORDER BY i.idx"
    return out, fetch(Store(tmp_path / tag / "almeval.sqlite"), q)


@pytest.mark.parametrize(
    ("model", "head", "tail", "sampled"),
    [
        # Base: the continuation prompt, then the audio span naming the file as JSON.
        ("baichuan-audio", "将语音转录为文本:<audio_start_baichuan>", "<audio_end_baichuan>", False),
        # Instruct: system turn holds the instruction, user turn the audio, then the assistant marker.
        (
            "baichuan-audio-chat",
            "<B_SYS>将语音转录为文本。<C_Q><audio_start_baichuan>",
            "<audio_end_baichuan><C_A>",
            True,
        ),
    ],
)
def test_baichuan_audio_builds_its_prompts_and_generates(tmp_path, model, head, tail, sampled):
    log = tmp_path / "seen.jsonl"
    ckpt = tiny_baichuan_like(tmp_path / "ckpt", log_path=log)
    out, rows = _run(tmp_path, f"{model}:{ckpt}", _manifest(tmp_path), "w", batch_size="2")
    assert out["inferred"] == 3 and out["failed"] == 0 and out["batches"] == 2
    seen = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(seen) == 3 and all(t.startswith(head) and t.endswith(tail) for t in seen)
    paths = sorted(json.loads(t[len(head) : -len(tail)])["path"] for t in seen)
    assert [os.path.basename(p) for p in paths] == ["a0.wav", "a1.wav", "a2.wav"]
    params = json.loads(rows[0][2])  # the published settings, recorded; max_new_tokens overridden for the test
    assert params["do_sample"] is sampled and params["max_new_tokens"] == 5
    assert params["repetition_penalty"] == (1.1 if sampled else 1.3)


def test_glm4_voice_tokenises_speech_and_keeps_text_tokens(tmp_path, monkeypatch):
    speech = tmp_path / "speech-tokenizer"
    monkeypatch.syspath_prepend(str(fake_speech_tokenizer(tmp_path / "pkgs", speech)))
    llm = tiny_llama(tmp_path / "glm", extra=GLM_TOKENS)
    out, rows = _run(tmp_path, f"glm-4-voice:{llm}", _manifest(tmp_path), "w", tokenizer=str(speech))
    assert out["inferred"] == 3 and out["failed"] == 0
    assert all("<|audio_" not in text for _, text, _ in rows)
    assert json.loads(rows[0][2]) == {
        "max_new_tokens": 5,
        "do_sample": True,
        "temperature": 0.2,
        "top_p": 0.8,
        "seed": 0,
    }


def test_glm4_voice_prompt_and_text_filter():
    assert chat_prompt("S", "U") == "<|system|>\nS<|user|>\nU<|assistant|>streaming_transcription\n"
    # audio tokens start at id 100; 7 is <|user|>: text ids before it are kept, audio ids dropped.
    assert text_tokens([5, 120, 6, 101, 3, 7, 9, 130], audio_offset=100, stop_id=7) == [5, 6, 3]
