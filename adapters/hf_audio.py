"""transformers audio models under test: Whisper, Qwen2-Audio (base and Instruct), Qwen2.5-Omni (thinker).

Real processors and chat templates; one batched `generate` per micro-batch with left padding and
attention masks (the scheduler groups by generation params and sorts by audio length, C5); explicit,
recorded generation params (greedy, seed 0 unless options say otherwise: no hidden checkpoint
defaults). Options: path=DIR (required; a save_pretrained folder or hub snapshot), dtype, device,
max_new_tokens, batch_size.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from almeval.errors import ConfigError, MissingExtraError
from almeval.values import Request, Sample

from .audio_io import load_mono
from .base import Adapter, Output
from .hf_causal import checkpoint_identity

RATE = 16000


class LocalCheckpoint(Adapter):
    """A transformers model read from a folder (`path=DIR`): keyed by its weights, labelled by the folder."""

    @classmethod
    def identity(cls, options: Mapping[str, str]) -> dict[str, Any]:
        return {**super().identity(options), **checkpoint_identity(Path(_path(options)), options)}

    @classmethod
    def label(cls, options: Mapping[str, str]) -> str:
        return options.get("label") or f"{cls.name}:{Path(_path(options)).name}"


class HFAudioAdapter(LocalCheckpoint):
    version = "1"
    max_batch_size = 16
    option_names = frozenset({"dtype", "language", "min_new_tokens"})
    default_max_new_tokens: ClassVar[int] = 256

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            import torch
        except ImportError:
            raise MissingExtraError(f"the {self.name} model", "pip install torch 'almeval[hf]'") from None
        self.device = options.get("device", "cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = getattr(torch, options.get("dtype", "float32"))
        self.processor, self.model = self.load(_path(options))
        tok = getattr(self.processor, "tokenizer", None)
        if tok is not None:
            tok.padding_side = "left"

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        params = {
            "max_new_tokens": int(options.get("max_new_tokens", cls.default_max_new_tokens)),
            "do_sample": False,
            "seed": int(options.get("seed", 0)),
        }
        if "min_new_tokens" in options:  # benchmarks pin the output length
            params["min_new_tokens"] = int(options["min_new_tokens"])
        return params

    def load(self, path: str) -> tuple[Any, Any]:
        raise NotImplementedError

    def inputs(self, requests: list[Request], audios: list[list[Any]]) -> Any:
        raise NotImplementedError

    def generate(self, requests: list[Request]) -> list[Output]:
        return self.run(self.prepare(requests))

    def prepare(self, requests: list[Request]) -> tuple[list[Request], Any]:
        audios = [[load_mono(a.path, RATE) for a in r.sample.audio] for r in requests]
        batch = self.inputs(requests, audios).to(self.device)
        if "input_features" in batch:
            batch["input_features"] = batch["input_features"].to(self.dtype)
        return requests, batch

    def run(self, prepared: tuple[list[Request], Any]) -> list[Output]:
        import torch

        requests, batch = prepared
        params = dict(requests[0].params)
        torch.manual_seed(params.pop("seed", 0))
        with torch.inference_mode():
            out = self.call_generate(batch, params)
        return list(self.decode(out, batch))

    def call_generate(self, batch: Any, params: dict[str, Any]) -> Any:
        return self.model.generate(**batch, **params)

    def decode(self, out: Any, batch: Any) -> list[str]:
        new = out[:, batch["input_ids"].shape[1] :]
        return [t.strip() for t in self.processor.batch_decode(new, skip_special_tokens=True)]


class WhisperAdapter(HFAudioAdapter):
    name = "whisper"
    uses_prompt = False  # language and task are generation params, not a prompt
    max_audio_s = 30.0  # one 30 s window of log-mel features: longer input would be truncated
    default_max_new_tokens = 128

    def load(self, path: str) -> tuple[Any, Any]:
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        model = WhisperForConditionalGeneration.from_pretrained(path, dtype=self.dtype)
        return WhisperProcessor.from_pretrained(path), model.to(self.device).eval()  # type: ignore[arg-type]

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        lang = options.get("language") or sample.lang or "en"
        return {**super().params(options, sample), "language": lang, "task": "transcribe"}

    def inputs(self, requests: list[Request], audios: list[list[Any]]) -> Any:
        import numpy as np

        joined = [np.concatenate(a) for a in audios]
        return self.processor.feature_extractor(
            joined, sampling_rate=RATE, return_tensors="pt", return_attention_mask=True
        )

    def decode(self, out: Any, batch: Any) -> list[str]:
        return [t.strip() for t in self.processor.batch_decode(out, skip_special_tokens=True)]


class Qwen2AudioAdapter(HFAudioAdapter):
    """Qwen2-Audio-7B base: audio tokens, then a continuation prompt."""

    name = "qwen2-audio"
    max_audio_s = 30.0  # its feature extractor keeps the first 30 s
    prompt_set = "qwen2-audio"
    AUDIO = "<|audio_bos|><|AUDIO|><|audio_eos|>"

    def load(self, path: str) -> tuple[Any, Any]:
        from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

        model = Qwen2AudioForConditionalGeneration.from_pretrained(path, dtype=self.dtype)
        return AutoProcessor.from_pretrained(path), model.to(self.device).eval()  # type: ignore[arg-type]

    def texts(self, requests: list[Request]) -> list[str]:
        return [self.AUDIO * len(r.sample.audio) + r.prompt for r in requests]

    def inputs(self, requests: list[Request], audios: list[list[Any]]) -> Any:
        flat = [a for group in audios for a in group]
        return self.processor(
            text=self.texts(requests), audio=flat, sampling_rate=RATE, return_tensors="pt", padding=True
        )

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {"min_new_tokens": 1, **super().params(options, sample)}


class Qwen2AudioInstructAdapter(Qwen2AudioAdapter):
    """Qwen2-Audio-7B-Instruct: a chat turn with the audio and the text (system prompt from the set)."""

    name = "qwen2-audio-instruct"
    prompt_set = "qwen2-audio-instruct"

    def texts(self, requests: list[Request]) -> list[str]:
        return [
            self.processor.apply_chat_template(conversation(r, "audio_url"), add_generation_prompt=True, tokenize=False)
            for r in requests
        ]


class Qwen25OmniAdapter(HFAudioAdapter):
    """Qwen2.5-Omni-7B, text output from its thinker (the talker is never built)."""

    name = "qwen2.5-omni"
    prompt_set = "qwen2.5-omni"

    def load(self, path: str) -> tuple[Any, Any]:
        from transformers import AutoConfig, Qwen2_5OmniThinkerForConditionalGeneration

        config = AutoConfig.from_pretrained(path)
        if config.model_type == "qwen2_5_omni":  # a full checkpoint: load it without the talker, keep the thinker
            from transformers import Qwen2_5OmniForConditionalGeneration

            full = Qwen2_5OmniForConditionalGeneration.from_pretrained(
                path, dtype=self.dtype, enable_audio_output=False
            )
            model = full.thinker
        else:
            model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(path, dtype=self.dtype)
        return omni_processor(path), model.to(self.device).eval()

    def inputs(self, requests: list[Request], audios: list[list[Any]]) -> Any:
        texts = [
            self.processor.apply_chat_template(conversation(r, "audio"), add_generation_prompt=True, tokenize=False)
            for r in requests
        ]
        flat = [a for group in audios for a in group]
        return self.processor(text=texts, audio=flat, sampling_rate=RATE, return_tensors="pt", padding=True)


def conversation(r: Request, audio_key: str) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = [{"type": "audio", audio_key: a.path} for a in r.sample.audio]
    if r.prompt:
        content.append({"type": "text", "text": r.prompt})
    turns: list[dict[str, Any]] = [{"role": "system", "content": r.system}] if r.system else []
    return [*turns, {"role": "user", "content": content}]


def omni_processor(path: str) -> Any:
    """The real Qwen2.5-Omni processor; without torchvision its image/video slots hold inert stand-ins
    (audio and text processing stay the real code). AutoProcessor would silently return the tokenizer."""
    from transformers import Qwen2_5OmniProcessor, Qwen2Tokenizer, WhisperFeatureExtractor

    try:
        return Qwen2_5OmniProcessor.from_pretrained(path)
    except (ImportError, OSError, ValueError, TypeError):
        pass
    from transformers.image_processing_base import ImageProcessingMixin

    class NoImage(ImageProcessingMixin):
        pass

    audio_only = taking_stand_ins(Qwen2_5OmniProcessor, ("image_processor", "video_processor"))
    tok = Qwen2Tokenizer.from_pretrained(path)
    features = WhisperFeatureExtractor.from_pretrained(path)
    return audio_only(NoImage(), no_video(), features, tok, chat_template=tok.chat_template)


def no_video() -> Any:
    """An inert video processor, for a processor's video slot when torchvision (its only user) is absent."""
    from transformers.video_processing_utils import VideoProcessorMixin

    class NoVideo(VideoProcessorMixin):
        def __init__(self, **kw: Any):
            pass

    return NoVideo()


def taking_stand_ins(processor: type, slots: tuple[str, ...]) -> Any:
    """`processor` accepting inert stand-ins in these slots (its class check would refuse them)."""

    class WithStandIns(processor):
        def check_argument_for_proper_class(self, name: str, arg: Any) -> Any:
            if name in slots:
                return type(arg)
            return super().check_argument_for_proper_class(name, arg)

    return WithStandIns


def _path(options: Mapping[str, str]) -> str:
    path = options.get("path", "")
    if not path:
        raise ConfigError("this model needs its weights folder: --model NAME:DIR (or --model-arg path=DIR)")
    return path
