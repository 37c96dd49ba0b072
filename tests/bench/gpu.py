"""GPU: almeval vs the raw engines it drives, batch 1 / 16 / 32, ratios from one run.

    python tests/bench/gpu.py [--model DIR_OR_HF_ID] [--items 256] [--new-tokens 48] [--dtype bfloat16]

On a CUDA machine (refuses on CPU, with exit 2). The model: a Qwen2-Audio checkpoint directory or hub id
(default: Qwen2-Audio-7B's architecture with random weights, built and saved by gpu_batching.build — the
speed is the architecture's, not the weights'). The items: gpu_batching.dataset (synthetic audio of
2-30 s, seeded), every item generating exactly --new-tokens tokens, so every mode does the same work.

  transformers raw      model.generate on pre-processed, length-sorted batches (processor time excluded)
  almeval qwen2-audio   evaluate() with the transformers adapter at that batch size (model load excluded)
  vLLM raw              LLM.generate over all prompts (offline engine, continuous batching)
  almeval vllm          evaluate() with `vllm:` (the async engine in process; engine start excluded)

Prints items/s per mode and batch, and almeval / raw for each engine (goal ≥ 0.9). vLLM rows need the
`vllm` extra; they are skipped (and say so) without it. Record the date and the device beside any figure
quoted from it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="")
    ap.add_argument("--items", type=int, default=256)
    ap.add_argument("--new-tokens", type=int, default=48)
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu.py measures GPU inference and needs a CUDA device; none here (CPU-only).", file=sys.stderr)
        return 2
    import gpu_batching as gb

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ckpt = Path(args.model) if args.model else gb.build("7b", root / "ckpt", "cuda")
        manifest = gb.dataset(root / "data", args.items)
        print(
            f"{time.strftime('%Y-%m-%d')} on {torch.cuda.get_device_name(0)}; "
            f"{args.items} items, {args.new_tokens} tokens each"
        )
        for batch in (1, 16, 32):
            ns = argparse.Namespace(
                items=args.items, batch=batch, new_tokens=args.new_tokens, device="cuda", dtype=args.dtype
            )
            mine = gb.almeval_rate(ckpt, manifest, root / f"work-{batch}", ns)
            _one, raw = gb.direct_rates(ckpt, manifest, ns)
            print(
                f"  transformers batch {batch:>2}: raw {raw:8.2f} items/s, "
                f"almeval {mine:8.2f} items/s, {mine / raw:.2f}x"
            )
        try:
            import vllm  # noqa: F401
        except ImportError:
            print("  vLLM: not installed (pip install 'almeval[vllm]'); its rows are skipped")
            return 0
        raw_v = vllm_raw(ckpt, manifest, args)
        mine_v = almeval_vllm(ckpt, manifest, root / "work-vllm", args)
        print(
            f"  vLLM (continuous batching): raw {raw_v:8.2f} items/s, "
            f"almeval {mine_v:8.2f} items/s, {mine_v / raw_v:.2f}x"
        )
    return 0


def vllm_raw(ckpt: Path, manifest: Path, args: argparse.Namespace) -> float:
    from transformers import AutoProcessor
    from vllm import LLM, SamplingParams

    from almeval.adapters.audio_io import load_mono

    proc = AutoProcessor.from_pretrained(ckpt)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    prompts = []
    for r in rows:
        turn = [
            {
                "role": "user",
                "content": [{"type": "audio", "audio_url": r["audio_path"]}, {"type": "text", "text": r["question"]}],
            }
        ]
        text = proc.apply_chat_template(turn, add_generation_prompt=True, tokenize=False)
        audio = load_mono(str(manifest.parent / r["audio_path"]), 16000)
        prompts.append({"prompt": text, "multi_modal_data": {"audio": [(audio, 16000)]}})
    llm = LLM(model=str(ckpt), dtype=args.dtype, limit_mm_per_prompt={"audio": 1}, seed=0)
    params = SamplingParams(max_tokens=args.new_tokens, min_tokens=args.new_tokens, temperature=0.0, seed=0)
    llm.generate(prompts[:2], params)  # warm-up
    t0 = time.perf_counter()
    llm.generate(prompts, params)
    rate = len(prompts) / (time.perf_counter() - t0)
    del llm
    return rate


def almeval_vllm(ckpt: Path, manifest: Path, work: Path, args: argparse.Namespace) -> float:
    from almeval.runner import EvalOptions, evaluate

    os.environ["ALMEVAL_CACHE_DIR"] = str(work / "cache")
    opts = {"max_tokens": str(args.new_tokens), "dtype": args.dtype, "max_audios": "1"}
    s = evaluate(EvalOptions(model=f"vllm:{ckpt}", data=(str(manifest),), work_dir=work, model_args=opts))
    assert s["inferred"] == args.items and s["failed"] == 0, s
    return args.items / (s["wall_s"] - s.get("model_load_s", 0.0))


if __name__ == "__main__":
    sys.exit(main())
