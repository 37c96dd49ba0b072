"""transformers audio adapters on tiny random-weight checkpoints: real from_pretrained, processors, chat
templates and generate, offline. Greedy outputs must be identical batched and one at a time."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("transformers")

from conftest import write_manifest, write_wav
from storeview import fetch
from tiny_models import tiny_omni_thinker, tiny_qwen2_audio, tiny_whisper

from almeval.runner import EvalOptions, evaluate
from almeval.store import Store

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BUILDERS = {
    "whisper": tiny_whisper,
    "qwen2-audio": tiny_qwen2_audio,
    "qwen2-audio-instruct": tiny_qwen2_audio,
    "qwen2.5-omni": tiny_omni_thinker,
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    return {name: build(root / name) for name, build in BUILDERS.items()}


def _manifest(tmp_path, task="ASR"):
    rows = []
    for i, secs in enumerate([0.6, 2.2, 1.1, 3.0, 0.9]):  # varied lengths: padding is exercised
        write_wav(tmp_path / "data" / f"a{i}.wav", seconds=secs, freq=200 + 90 * i)
        rows.append(
            {
                "index": i,
                "audio_path": f"a{i}.wav",
                "question": "What do you hear?",
                "answer": "x",
                "subset": "s",
                "meta": {"task": task, "lang": "en"},
            }
        )
    return write_manifest(tmp_path / "data" / "set.jsonl", rows)


def _predictions(tmp_path, model, path, manifest, batch_size, tag):
    os.environ["ALMEVAL_CACHE_DIR"] = str(tmp_path / f"cache-{tag}")  # no sharing between the two runs
    out = evaluate(
        EvalOptions(
            model=f"{model}:{path}",
            data=(str(manifest),),
            work_dir=tmp_path / tag,
            model_args={"batch_size": str(batch_size), "max_new_tokens": "6"},
        )
    )
    assert out["failed"] == 0 and out["inferred"] == 5 and out["batches"] == -(-5 // batch_size)
    q = "SELECT i.idx, p.text FROM items i JOIN predictions p ON p.key = i.pred_key ORDER BY i.idx"
    return fetch(Store(tmp_path / tag / "almeval.sqlite"), q)


@pytest.mark.parametrize("model", sorted(BUILDERS))
def test_greedy_outputs_identical_batched_and_one_at_a_time(tmp_path, checkpoints, model):
    manifest = _manifest(tmp_path, task="ASR" if model == "whisper" else "MQA")
    batched = _predictions(tmp_path, model, checkpoints[model], manifest, 4, "batched")
    single = _predictions(tmp_path, model, checkpoints[model], manifest, 1, "single")
    assert batched == single
    assert len(batched) == 5 and all(isinstance(t, str) for _, t in batched)


def test_weights_change_the_key_prompt_set_changes_too(tmp_path, checkpoints):
    from almeval.adapters.hf_audio import Qwen2AudioAdapter, Qwen2AudioInstructAdapter

    opts = {"path": str(checkpoints["qwen2-audio"])}
    assert Qwen2AudioAdapter.identity(opts)["weights"] == Qwen2AudioInstructAdapter.identity(opts)["weights"]
    assert Qwen2AudioAdapter.prompt_set != Qwen2AudioInstructAdapter.prompt_set
    other = tiny_qwen2_audio(tmp_path / "other", seed=3)
    assert Qwen2AudioAdapter.identity({"path": str(other)})["weights"] != Qwen2AudioAdapter.identity(opts)["weights"]


def test_audio_longer_than_whisper_takes_fails_per_item_instead_of_being_cut_short(tmp_path, checkpoints):
    """Whisper's feature extractor keeps 30 s: a 31 s item would be scored on its first 30 s. It fails
    alone, with why; the other items are inferred and scored."""
    manifest = _manifest(tmp_path)
    write_wav(tmp_path / "data" / "long.wav", seconds=31.0)
    lines = manifest.read_text() + '{"index": 9, "audio_path": "long.wav", "question": "q", "answer": "x", '
    manifest.write_text(lines + '"subset": "s", "meta": {"task": "ASR", "lang": "en"}}\n')
    out = evaluate(
        EvalOptions(
            model=f"whisper:{checkpoints['whisper']}",
            data=(str(manifest),),
            work_dir=tmp_path / "w",
            model_args={"max_new_tokens": "4"},
        )
    )
    assert (out["failed"], out["inferred"]) == (1, 6)
    q = "SELECT p.error FROM items i JOIN predictions p ON p.key = i.pred_key WHERE i.idx = '9'"
    [(error,)] = fetch(Store(tmp_path / "w" / "almeval.sqlite"), q)
    assert error.startswith("AudioTooLong: 31.0 s of audio;") and "accepts at most 30 s" in error
