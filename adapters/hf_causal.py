"""A local transformers causal LM (text in, text out): a judge run on your own hardware, or the text
half of a cascade. Batched `generate` with left padding and attention masks; greedy unless the
params say otherwise; effective generation params are part of every key.

Options: path=DIR (a save_pretrained folder or a hub snapshot), gguf_file=NAME (a GGUF inside DIR,
dequantised by transformers), dtype=float32|bfloat16|float16, device=cpu|cuda|cuda:1, max_new_tokens=N,
batch_size=N.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, MissingExtraError
from almeval.values import Request, Sample

from .base import Adapter, Output, text_chat

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
EDGE = 1 << 20  # bytes read from each end of a weights file for its fingerprint


def weights_fingerprint(path: Path) -> str:
    """sha256 over config/tokenizer files and each weights file's name, size, first and last MiB: it
    changes with any real weights change, and costs the same for 100 MB or 100 GB."""
    if not path.is_dir():
        raise ConfigError(f"model folder not found: {path}")
    digest = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        digest.update(f.name.encode() + b"\0")
        if f.suffix in WEIGHT_SUFFIXES:
            size = f.stat().st_size
            with f.open("rb") as fh:
                head = fh.read(EDGE)
                fh.seek(max(0, size - EDGE))
                digest.update(str(size).encode() + head + fh.read(EDGE))
        elif f.suffix in (".json", ".jinja", ".model", ".txt"):
            digest.update(f.read_bytes())
    return digest.hexdigest()


def checkpoint_identity(path: Path, options: Mapping[str, str]) -> dict[str, Any]:
    """What identifies a transformers checkpoint in a content key: its weights and the dtype they run in."""
    return {"path_name": path.name, "weights": weights_fingerprint(path), "dtype": options.get("dtype", "float32")}


class HFCausalLM(Adapter):
    name = "hf-causal"
    version = "1"
    max_batch_size = 8
    option_names = frozenset({"dtype", "gguf_file"})

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise MissingExtraError("the hf-causal model", "pip install torch 'almeval[hf]'") from None
        path, kw = _where(options)
        self.device = options.get("device", "cuda" if torch.cuda.is_available() else "cpu")
        self.tok = AutoTokenizer.from_pretrained(path, **kw)
        self.tok.padding_side = "left"
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        dtype = getattr(torch, options.get("dtype", "float32"))
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kw).to(self.device).eval()  # type: ignore[arg-type]

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        path, kw = _where(options)
        return {**super().identity(options), **kw, **checkpoint_identity(Path(path), options)}

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return options.get("label") or f"hf:{Path(options.get('path', '?')).name}"

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {"max_tokens": int(options.get("max_new_tokens", 128)), "temperature": 0.0, "seed": 0}

    def generate(self, requests: list[Request]) -> list[Output]:
        conversations = [text_chat(r) or [{"role": "user", "content": r.prompt}] for r in requests]
        return list(self.chat(conversations, requests[0].params))

    def choose(self, conversations: Sequence[list[dict[str, str]]], candidates: Sequence[Sequence[str]]) -> list[str]:
        """Constrained replies: for each conversation, the one of its candidate replies the model finds most
        likely (a small model's verdicts are then always well-formed; what it prefers is still its own)."""
        return [_choose_one(self, c, cands) for c, cands in zip(conversations, candidates, strict=True)]

    def chat(self, conversations: Sequence[list[dict[str, str]]], params: Mapping[str, Any]) -> list[str]:
        """One batch of chat conversations with the same params → the assistant replies."""
        import torch

        texts = [self.tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
        batch = self.tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        temperature = float(params.get("temperature", 0.0))
        sampling = (
            {"do_sample": True, "temperature": temperature, "top_p": float(params.get("top_p", 1.0))}
            if temperature > 0
            else {"do_sample": False}
        )
        torch.manual_seed(int(params.get("seed", 0)))
        cap = int(self.options.get("max_new_tokens", 1024))
        with torch.inference_mode():
            out = self.model.generate(
                **batch,
                max_new_tokens=min(int(params.get("max_tokens", 128)), cap),
                pad_token_id=self.tok.pad_token_id,
                **sampling,
            )
        new = out[:, batch["input_ids"].shape[1] :]
        return [t.strip() for t in self.tok.batch_decode(new, skip_special_tokens=True)]


def _choose_one(model: HFCausalLM, conversation: list[dict[str, str]], candidates: Sequence[str]) -> str:
    """The candidate reply with the highest log-probability (summed over its tokens) after the prompt."""
    import torch

    prompt = model.tok.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    head = model.tok(prompt, add_special_tokens=False)["input_ids"]
    seqs = [head + model.tok(c, add_special_tokens=False)["input_ids"] for c in candidates]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), int(model.tok.pad_token_id or 0), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, seq in enumerate(seqs):  # right-padded: every candidate starts where the prompt ends
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
    with torch.inference_mode():
        logp = model.model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits.log_softmax(-1)
    scores = []
    for i, seq in enumerate(seqs):
        positions = torch.arange(len(head) - 1, len(seq) - 1)
        targets = torch.tensor(seq[len(head) :])
        scores.append(float(logp[i, positions, targets].sum()))
    return candidates[max(range(len(candidates)), key=scores.__getitem__)]


def _where(options: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    path = options.get("path", "")
    if not path:
        raise ConfigError("hf-causal needs path=DIR (a save_pretrained folder), e.g. --judge hf:/models/qwen2.5-7b")
    return path, ({"gguf_file": options["gguf_file"]} if options.get("gguf_file") else {})
