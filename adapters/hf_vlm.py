"""transformers vision-language models under test: Qwen2-VL and Qwen2.5-VL (`qwen2-vl:DIR`), for image
benchmarks (VLMEvalKit TSVs). Real processor and chat template; one batched `generate` per micro-batch
with left padding; each item's images in order, then its text, in one user turn (VLMEvalKit's
interleaved order for its benchmarks: images, then the question); greedy, seed 0 unless options say
otherwise. Options: path=DIR (required), dtype, device, max_new_tokens (default 64), batch_size.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import MissingExtraError
from almeval.values import Request, Sample

from .base import Output
from .hf_audio import LocalCheckpoint, _path, no_video, taking_stand_ins


class Qwen2VLAdapter(LocalCheckpoint):
    name = "qwen2-vl"
    version = "1"
    max_batch_size = 8
    takes_images = True
    option_names = frozenset({"dtype"})

    def __init__(self, options: Mapping[str, str]):
        super().__init__(options)
        try:
            import torch
            from transformers import AutoModelForImageTextToText
        except ImportError:
            raise MissingExtraError("the qwen2-vl model", "pip install torch 'almeval[hf,vlm]'") from None
        path = _path(options)
        self.device = options.get("device", "cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, options.get("dtype", "float32"))
        self.processor = vl_processor(path)
        self.processor.tokenizer.padding_side = "left"
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype)
        self.model = model.to(self.device).eval()  # type: ignore[arg-type]

    @classmethod
    def params(cls, options: Mapping[str, str], sample: Sample) -> dict[str, Any]:
        return {"max_new_tokens": int(options.get("max_new_tokens", 64)), "do_sample": False, "seed": 0}

    def generate(self, requests: list[Request]) -> list[Output]:
        import torch
        from PIL import Image

        turns = [
            [
                {
                    "role": "user",
                    "content": [*({"type": "image"} for _ in r.sample.images), {"type": "text", "text": r.prompt}],
                }
            ]
            for r in requests
        ]
        texts = [self.processor.apply_chat_template(t, add_generation_prompt=True, tokenize=False) for t in turns]
        images = [Image.open(i.path).convert("RGB") for r in requests for i in r.sample.images]
        batch = self.processor(text=texts, images=images or None, return_tensors="pt", padding=True).to(self.device)
        params = dict(requests[0].params)
        torch.manual_seed(params.pop("seed", 0))
        with torch.inference_mode():
            out = self.model.generate(**batch, **params)
        new = out[:, batch["input_ids"].shape[1] :]
        return [t.strip() for t in self.processor.batch_decode(new, skip_special_tokens=True)]


def _content(request: Request) -> list[dict[str, Any]]:
    """The item's images, in order, then its text."""
    return [*({"type": "image"} for _ in request.sample.images), {"type": "text", "text": request.prompt}]


def vl_processor(path: str) -> Any:
    """The real Qwen2-VL processor; without torchvision (which only its video path needs here) the video
    slot holds an inert stand-in and the image processor is transformers' Pillow one."""
    from transformers import AutoTokenizer, Qwen2VLProcessor

    try:
        return Qwen2VLProcessor.from_pretrained(path)
    except (ImportError, OSError, ValueError, TypeError, AttributeError):
        pass
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    images_only = taking_stand_ins(Qwen2VLProcessor, ("video_processor",))
    tok = AutoTokenizer.from_pretrained(path)
    images = Qwen2VLImageProcessorPil.from_pretrained(path)
    template = getattr(tok, "chat_template", None)
    chat = Path(path) / "chat_template.jinja"
    if chat.is_file():
        template = chat.read_text(encoding="utf-8")
    return images_only(image_processor=images, tokenizer=tok, video_processor=no_video(), chat_template=template)
