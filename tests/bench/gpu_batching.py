"""Batched inference end to end vs a batch-1 loop vs raw `generate`, one run, same model and items.

    python tests/bench/gpu_batching.py --size 7b --device cuda --dtype bfloat16 --items 256 --batch 32   # on a GPU
    python tests/bench/gpu_batching.py --size tiny --items 48 --batch 16                                # CPU proof

A Qwen2-Audio checkpoint with random weights is built from its config (--size 7b: Qwen2-Audio-7B's
architecture, 8.4B parameters; --size tiny: 1 layer, width 32), saved with save_pretrained and loaded
by almeval's adapter. Items: synthetic audio of 2-30 s (seeded), every item generating exactly
--new-tokens tokens (min = max), so all three modes do the same work:
  almeval    `evaluate()` with the qwen2-audio adapter at --batch (plan, audio loading, processor,
             micro-batching, store writes included; model load time excluded)
  batch-1    Kimi-Audio-Evalkit style: processor + generate one item at a time
  raw        model.generate on pre-processed batches of --batch (processor time excluded)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEVEN_B = {  # Qwen2-Audio-7B's published architecture
    "audio": {"d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120},
    "text": {
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
    },
    "vocab": 156032,
}


def build(size: str, out: Path, device: str) -> Path:
    from tiny_models import tiny_qwen2_audio

    if size == "tiny":
        return tiny_qwen2_audio(out)
    import torch
    from transformers import AutoProcessor, Qwen2AudioConfig, Qwen2AudioForConditionalGeneration

    small = tiny_qwen2_audio(out / "_tok")  # tokenizer + processor, then a full-size model around them
    proc = AutoProcessor.from_pretrained(small)
    tok = proc.tokenizer
    tok.add_tokens([f"<filler{i}>" for i in range(SEVEN_B["vocab"] - len(tok))])
    cfg = Qwen2AudioConfig.from_pretrained(small)
    for k, v in SEVEN_B["audio"].items():
        setattr(cfg.audio_config, k, v)
    for k, v in SEVEN_B["text"].items():
        setattr(cfg.text_config, k, v)
    cfg.text_config.vocab_size = len(tok)
    with torch.device(device):
        model = Qwen2AudioForConditionalGeneration(cfg).to(torch.bfloat16).eval()
    model.generation_config = Qwen2AudioForConditionalGeneration.from_pretrained(small).generation_config
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def dataset(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        secs = float(rng.uniform(2, 30))
        t = np.arange(int(secs * 16000)) / 16000
        sf.write(root / f"a{i}.wav", (0.1 * np.sin(2 * np.pi * (150 + i) * t)).astype(np.float32), 16000)
        rows.append(
            {
                "index": i,
                "audio_path": f"a{i}.wav",
                "question": "What sound is this?",
                "answer": "x",
                "subset": "s",
                "meta": {"task": "MQA"},
            }
        )
    (root / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "set.jsonl"


def almeval_rate(ckpt: Path, manifest: Path, work: Path, args: argparse.Namespace) -> float:
    from almeval.runner import EvalOptions, evaluate

    os.environ["ALMEVAL_CACHE_DIR"] = str(work / "cache")
    opts = {
        "batch_size": str(args.batch),
        "max_new_tokens": str(args.new_tokens),
        "min_new_tokens": str(args.new_tokens),
        "device": args.device,
        "dtype": args.dtype,
    }
    s = evaluate(EvalOptions(model=f"qwen2-audio:{ckpt}", data=(str(manifest),), work_dir=work, model_args=opts))
    assert s["inferred"] == args.items and s["failed"] == 0, s
    return args.items / (s["wall_s"] - s["model_load_s"])


def direct_rates(ckpt: Path, manifest: Path, args: argparse.Namespace) -> tuple[float, float]:
    import torch

    from almeval.adapters.audio_io import load_mono
    from almeval.adapters.hf_audio import Qwen2AudioAdapter

    adapter = Qwen2AudioAdapter({"path": str(ckpt), "device": args.device, "dtype": args.dtype})
    proc, model = adapter.processor, adapter.model
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    audio = [load_mono(str(manifest.parent / r["audio_path"])) for r in rows]
    prompt = Qwen2AudioAdapter.AUDIO + "What sound is this? The answer is:"
    gen = {"max_new_tokens": args.new_tokens, "min_new_tokens": args.new_tokens, "do_sample": False}

    def inputs(chunk: list[np.ndarray]) -> dict:
        batch = proc(
            text=[prompt] * len(chunk), audio=chunk, sampling_rate=16000, return_tensors="pt", padding=True
        ).to(args.device)
        batch["input_features"] = batch["input_features"].to(adapter.dtype)
        return batch

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        model.generate(**inputs(audio[:2]), **gen)  # warm-up
        t0 = time.perf_counter()
        for a in audio:  # batch-1, processor included (as Kimi-Audio-Evalkit does per item)
            model.generate(**inputs([a]), **gen)
        sync()
        one = len(audio) / (time.perf_counter() - t0)
        order = sorted(range(len(audio)), key=lambda i: -len(audio[i]))  # the same length-sorted batches
        batches = [inputs([audio[i] for i in order[k : k + args.batch]]) for k in range(0, len(audio), args.batch)]
        sync()
        t0 = time.perf_counter()
        for b in batches:
            model.generate(**b, **gen)
        sync()
        raw = len(audio) / (time.perf_counter() - t0)
    return one, raw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["tiny", "7b"], default="tiny")
    ap.add_argument("--items", type=int, default=48)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--new-tokens", type=int, default=48)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        ckpt = build(args.size, root / "ckpt", args.device)
        print(f"built and saved a {args.size} Qwen2-Audio checkpoint in {time.perf_counter() - t0:.1f}s")
        manifest = dataset(root / "data", args.items)
        rate = almeval_rate(ckpt, manifest, root / "work", args)
        one, raw = direct_rates(ckpt, manifest, args)
    print(
        f"{args.items} items, audio 2-30 s, {args.new_tokens} new tokens each, batch {args.batch}, "
        f"{args.size} model on {args.device} ({args.dtype})"
    )
    print(f"  batch-1 loop (processor + generate per item) {one:8.2f} items/s   1.00x")
    print(f"  raw model.generate at batch {args.batch:<3}            {raw:8.2f} items/s   {raw / one:.2f}x")
    print(
        f"  almeval end to end at batch {args.batch:<3}            {rate:8.2f} items/s   {rate / one:.2f}x"
        f"   ({rate / raw:.2f}x raw generate; target >= 0.9)"
    )


if __name__ == "__main__":
    main()
