"""Tiny random-weight checkpoints built offline from configs and saved with save_pretrained, so the
real from_pretrained / processor / generate code runs in tests without downloading anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _save_chat_model(model: Any, ids: dict[str, int], out: Path) -> None:
    """Saved as a Qwen-style chat model: generation ends at <|im_end|> and pads with <|endoftext|>."""
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(out)


def byte_tokenizer(specials: list[str]) -> tuple[Any, dict[str, int]]:
    """A byte-level Qwen2 tokenizer with `specials` (the first is the pad token; <|im_end|> ends a turn),
    and each special's id."""
    from transformers import Qwen2Tokenizer

    tok = Qwen2Tokenizer(
        vocab=byte_vocab(specials),
        merges=[],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    )
    return tok, {s: tok.convert_tokens_to_ids(s) for s in specials}


def byte_vocab(specials: list[str]) -> dict[str, int]:
    """The 256 byte-level symbols (no merges) plus special tokens."""
    from tokenizers import pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for s in specials:
        vocab[s] = len(vocab)
    return vocab


def tiny_llama(out: Path, seed: int = 0, extra: tuple[str, ...] = ()) -> Path:
    """A 1-layer LlamaForCausalLM with a byte-level tokenizer, a ChatML template, and `extra` special tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Tokenizer

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *extra]
    tok = Qwen2Tokenizer(
        vocab=byte_vocab(specials),
        merges=[],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    )
    tok.chat_template = CHAT_TEMPLATE
    ids = {s: tok.convert_tokens_to_ids(s) for s in specials}
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        bos_token_id=None,
    )
    model = LlamaForCausalLM(cfg).eval()
    out.mkdir(parents=True, exist_ok=True)
    _save_chat_model(model, ids, out)
    tok.save_pretrained(out)
    return out


def tiny_whisper(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    langs = ["<|en|>", "<|zh|>"]
    specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        *langs,
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]
    tok = WhisperTokenizer(vocab=byte_vocab(specials), merges=[], additional_special_tokens=specials[1:])
    ids = {s: tok.convert_tokens_to_ids(s) for s in specials}
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    torch.manual_seed(seed)
    cfg = WhisperConfig(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=64,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
    )
    model = WhisperForConditionalGeneration(cfg).eval()
    # built directly (a config-derived one loses lang_to_id/task_to_id on reload)
    model.generation_config = GenerationConfig(
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=64,
        decoder_start_token_id=sot,
        no_timestamps_token_id=ids["<|notimestamps|>"],
        is_multilingual=True,
        lang_to_id={lang: ids[lang] for lang in langs},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        suppress_tokens=[v for v in ids.values() if v != eot],
        begin_suppress_tokens=[eot],
    )
    model.save_pretrained(out)
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tok).save_pretrained(out)
    return out


QWEN = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def tiny_qwen2_audio(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
    )

    specials = [*QWEN, "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]
    tok, ids = byte_tokenizer(specials)
    torch.manual_seed(seed)
    cfg = Qwen2AudioConfig(
        audio_config={
            "model_type": "qwen2_audio_encoder",
            "d_model": 32,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
            "num_mel_bins": 128,
            "max_source_positions": 1500,
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tok),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        audio_token_index=ids["<|AUDIO|>"],
    )
    model = Qwen2AudioForConditionalGeneration(cfg).eval()
    _save_chat_model(model, ids, out)
    Qwen2AudioProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tok).save_pretrained(out)
    return out


OMNI_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'audio' %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_omni_thinker(out: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        Qwen2Tokenizer,
        WhisperFeatureExtractor,
    )

    named = {
        "image_token": "<|IMAGE|>",
        "audio_token": "<|AUDIO|>",
        "video_token": "<|VIDEO|>",
        "vision_bos_token": "<|vision_bos|>",
        "vision_eos_token": "<|vision_eos|>",
        "audio_bos_token": "<|audio_bos|>",
        "audio_eos_token": "<|audio_eos|>",
    }
    tok = Qwen2Tokenizer(
        vocab=byte_vocab([*QWEN, *named.values()]),
        merges=[],
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=named,
    )
    tok.chat_template = OMNI_TEMPLATE
    ids = {s: tok.convert_tokens_to_ids(s) for s in [*QWEN, *named.values()]}
    torch.manual_seed(seed)
    h = 32
    cfg = Qwen2_5OmniThinkerConfig(
        audio_config={
            "d_model": h,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
            "num_mel_bins": 128,
            "max_source_positions": 1500,
            "n_window": 100,
            "output_dim": h,
        },
        vision_config={
            "depth": 1,
            "hidden_size": h,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": h,
            "fullatt_block_indexes": [0],
        },
        text_config={
            "vocab_size": len(tok),
            "hidden_size": h,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        user_token_id=ids["<|im_start|>"],
        vision_start_token_id=ids["<|vision_bos|>"],
        vision_end_token_id=ids["<|vision_eos|>"],
    )
    model = Qwen2_5OmniThinkerForConditionalGeneration(cfg).eval()
    _save_chat_model(model, ids, out)
    tok.save_pretrained(out)
    WhisperFeatureExtractor(feature_size=128).save_pretrained(out)
    return out


BAICHUAN_TOKENS = ("<audio_start_baichuan>", "<audio_end_baichuan>", "<B_SYS>", "<C_Q>", "<C_A>")
BAICHUAN_CODE = '''
"""A stand-in for Baichuan-Audio's checkpoint code with its interface (bind_processor, processor(texts)
returning input ids, mask and audio features, generate taking them), around a tiny Llama."""
import json
import re
from types import SimpleNamespace

import soundfile
import torch
from transformers import LlamaConfig, LlamaForCausalLM, PretrainedConfig


class TinyAudioEncoderConfig(PretrainedConfig):
    model_type = "tiny_audio_encoder"


class TinyAudioConfig(LlamaConfig):
    model_type = "tiny_audio_llm"

    def __init__(self, audio_config=None, log_path=None, **kw):
        super().__init__(**kw)
        audio_config = audio_config or {}
        self.audio_config = (
            audio_config if isinstance(audio_config, PretrainedConfig) else TinyAudioEncoderConfig(**audio_config)
        )
        self.log_path = log_path


class TinyAudioProcessor:
    def __init__(self, tok, config):
        self.tok, self.config = tok, config
        start = tok.convert_ids_to_tokens(config.audio_config.audio_start_token_id)
        end = tok.convert_ids_to_tokens(config.audio_config.audio_end_token_id)
        self.span = re.compile(re.escape(start) + "(.*?)" + re.escape(end))
        self.start, self.end = start, end

    def _audio(self, match, feats):
        wave, _ = soundfile.read(json.loads(match.group(1))["path"], dtype="float32")
        feats.append(float(abs(wave).mean()))
        return self.start + chr(65 + int(feats[-1] * 1000) % 26) * 3 + self.end

    def __call__(self, texts):
        if self.config.log_path:
            with open(self.config.log_path, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(t, ensure_ascii=False) + "\\n" for t in texts)
        feats = []
        rendered = [self.span.sub(lambda m: self._audio(m, feats), t) for t in texts]
        self.tok.padding_side = "left"
        batch = self.tok(rendered, return_tensors="pt", padding=True)
        n = len(feats)
        return SimpleNamespace(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            audios=torch.tensor(feats).reshape(n, 1) if n else None,
            encoder_length=torch.ones(n, dtype=torch.long) if n else None,
            bridge_length=torch.ones(n, dtype=torch.long) if n else None,
        )


class TinyAudioLM(LlamaForCausalLM):
    config_class = TinyAudioConfig

    def bind_processor(self, tokenizer, training=False, relative_path="/"):
        self.processor = TinyAudioProcessor(tokenizer, self.config)

    def generate(self, input_ids=None, attention_mask=None, labels=None, audios=None, encoder_length=None,
                 bridge_length=None, **kw):
        assert labels is None and (audios is None or audios.shape[0] == encoder_length.shape[0])
        return super().generate(input_ids=input_ids, attention_mask=attention_mask, **kw)
'''


def tiny_baichuan_like(out: Path, log_path: Path | None = None) -> Path:
    """A tiny Llama behind a trust_remote_code module with Baichuan-Audio's processor interface."""
    import json

    from transformers import AutoTokenizer

    tiny_llama(out, extra=BAICHUAN_TOKENS)
    tok = AutoTokenizer.from_pretrained(out)
    cfg = json.loads((out / "config.json").read_text())
    cfg.update(
        model_type="tiny_audio_llm",
        architectures=["TinyAudioLM"],
        auto_map={
            "AutoConfig": "modeling_tiny_audio.TinyAudioConfig",
            "AutoModelForCausalLM": "modeling_tiny_audio.TinyAudioLM",
        },
        audio_config={
            "audio_start_token_id": tok.convert_tokens_to_ids(BAICHUAN_TOKENS[0]),
            "audio_end_token_id": tok.convert_tokens_to_ids(BAICHUAN_TOKENS[1]),
        },
        log_path=str(log_path) if log_path else None,
    )
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    (out / "modeling_tiny_audio.py").write_text(BAICHUAN_CODE)
    return out


GLM_TOKENS = (
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|begin_of_audio|>",
    "<|end_of_audio|>",
    *(f"<|audio_{i}|>" for i in range(16)),
)
SPEECH_TOKENIZER = '''
"""A stand-in for the GLM-4-Voice repo's speech_tokenizer package (same names): 16 discrete codes."""
'''
SPEECH_MODELING = """
class WhisperVQEncoder:
    @classmethod
    def from_pretrained(cls, path):
        return cls()

    def eval(self):
        return self

    def to(self, device):
        return self
"""
SPEECH_UTILS = """
import soundfile


def extract_speech_token(model, feature_extractor, paths):
    out = []
    for path in paths:
        wave, rate = soundfile.read(path, dtype="float32")
        step = rate // 12  # about 12.5 tokens per second, like the real tokenizer
        out.append([int(abs(wave[i:i + step]).mean() * 1000) % 16 for i in range(0, len(wave), step)])
    return out
"""


def fake_speech_tokenizer(pkg_root: Path, model_dir: Path) -> Path:
    """`speech_tokenizer` (the module GLM-4-Voice's repo provides) as a stand-in package on pkg_root, and a real
    WhisperFeatureExtractor saved in model_dir, which is what the adapter loads from the tokenizer folder."""
    from transformers import WhisperFeatureExtractor

    pkg = pkg_root / "speech_tokenizer"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(SPEECH_TOKENIZER)
    (pkg / "modeling_whisper.py").write_text(SPEECH_MODELING)
    (pkg / "utils.py").write_text(SPEECH_UTILS)
    WhisperFeatureExtractor().save_pretrained(model_dir)
    return pkg_root


VL_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_qwen2_vl(out: Path, seed: int = 0) -> Path:
    """A 1-layer Qwen2-VL (vision tower and text model) with a byte-level tokenizer, its real image
    processor (small pixel bounds) and a chat template that places the vision tokens."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    specials = [*QWEN, "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tok, ids = byte_tokenizer(specials)
    torch.manual_seed(seed)
    cfg = Qwen2VLConfig(
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": 32,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "in_channels": 3,
        },
        text_config={
            "vocab_size": len(tok),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 2048,
            "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0},
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            "bos_token_id": None,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    _save_chat_model(model, ids, out)
    # the processor's parts, saved as Qwen2VLProcessor saves them (building one here would need torchvision)
    tok.save_pretrained(out)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56).save_pretrained(out)
    (out / "chat_template.jinja").write_text(VL_TEMPLATE)
    return out
