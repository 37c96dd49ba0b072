"""Rule metrics and the recipes that declare them (C9).

A recipe turns (sample, prediction) into per-item values and aggregates them corpus-level. Each
stored number names the recipe id that made it. ASR recipes:
  default  almeval's own, documented normalisation: special tokens and spaces before punctuation
           cleaned; English: OpenAI Whisper's English normaliser (the `openai-whisper` package's own
           module, spelling map included), then its basic normaliser, words as tokens (WER); Chinese:
           numerals read out (cn2an), Cantonese converted to simplified characters (zhconv), then the
           basic normaliser, characters as tokens (CER); other languages: basic normaliser, words.
           A failed or empty prediction counts as all deletions. Edits by jiwer.
  kimi     Kimi-Audio-Evalkit's pipeline, read from the user's checkout of it (almeval/references.py):
           its pre-clean, its normalisers (its Whisper copy, its SpeechIO Chinese normaliser, zhconv for
           Cantonese), sacrebleu's zh tokenizer through its tokenizer class, edit distance by
           `editdistance`; failed predictions and predictions "null" are dropped (as it does).
Rates are corpus-level (Σ edits / Σ reference tokens), in percent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol

from almeval.cache.keys import content_key

from .errors import ConfigError
from .references import installed_version
from .stats import ratio_ci
from .values import Prediction, RecipeId, Sample

CJK_LANGS = ("zh", "yue", "ja")
ZH_LANGS = ("zh", "yue")
NORMALIZER_VERSION = 3  # in every metric key: a normaliser change re-scores stored items
_SPECIAL = re.compile(r"<\|.*?\|>")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([!,.?;:])")


WHISPER_PIN = "openai-whisper==20250625"
WHISPER_HOW = (
    f"pip install --no-deps {WHISPER_PIN} (almeval uses only its text normalisers, so none of its heavy "
    "dependencies are needed; `make install` does this)"
)


@cache
def _normalizers() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """OpenAI Whisper's own English and basic normalisers, from the installed `openai-whisper` package.
    Only its `normalizers` subpackage is loaded (privately): `import whisper` would pull in torch,
    numba and tiktoken."""
    from importlib.util import find_spec

    from .references import load_package

    spec = find_spec("whisper")
    folder = Path(next(iter(spec.submodule_search_locations or ()), "")) / "normalizers" if spec else None
    if folder is None or not (folder / "english.json").is_file():
        raise ConfigError(f"ASR scoring needs OpenAI Whisper's text normalisers: {WHISPER_HOW}")
    package = load_package(folder, "_almeval_openai_whisper_normalizers")
    return package.EnglishTextNormalizer(), package.BasicTextNormalizer()


@cache
def whisper_version() -> str:
    return installed_version("openai-whisper")


def _zh_numerals(text: str) -> str:
    import cn2an

    try:
        return str(cn2an.transform(text, "an2cn"))
    except (ValueError, KeyError, IndexError):  # cn2an rejects some digit runs; keep the text as it is
        return text


def kimi_pre_clean(text: str, lang: str) -> str:
    text = _SPECIAL.sub(" ", text)
    text = re.sub(r"\s+", " ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text).lstrip()
    return re.sub(r"\s", "", text) if lang in CJK_LANGS else text


def asr_tokens(text: str, lang: str) -> list[str]:
    return list(_tokens(text, lang))


@lru_cache(maxsize=1024)  # both recipes normalise the same reference and hypothesis, one after the other
def _tokens(text: str, lang: str) -> tuple[str, ...]:
    english, basic = _normalizers()
    if lang == "en":
        return tuple(basic(english(text)).split())
    if lang in ZH_LANGS:  # numerals read out in Chinese (cn2an); Cantonese transcripts in simplified characters
        if lang == "yue":
            import zhconv

            text = zhconv.convert(text, "zh-cn")
        return tuple(c for c in basic(_zh_numerals(text)) if not c.isspace())
    if lang in CJK_LANGS:
        return tuple(c for c in basic(text) if not c.isspace())
    return tuple(basic(text).split())


@dataclass(frozen=True)
class AsrRecipe:
    name: str
    version: str
    drop_failed: bool
    pre_clean: bool
    extra: str = ""

    @property
    def id(self) -> str:
        return str(RecipeId(f"asr-{self.name}", self.version))

    def check(self) -> None:
        """OpenAI Whisper's normalisers must be installed (exit 2 with how, before any inference)."""
        _normalizers()

    def metric(self, lang: str) -> str:
        return "cer" if lang in CJK_LANGS else "wer"

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        return content_key(
            "metric",
            {
                "recipe": self.id,
                "normalizer": [NORMALIZER_VERSION, whisper_version()],
                "lang": sample.lang,
                "ref": sample.answer,
                "hyp": pred.text,
                "status": pred.status,
            },
        )

    def item(self, sample: Sample, pred: Prediction) -> dict[str, float]:
        import jiwer

        failed = pred.status != "ok"
        if failed and self.drop_failed:
            return {"failed": 1, "dropped": 1, "edits": 0, "ref_len": 0}
        ref, hyp = sample.answer, "" if failed else pred.text
        if self.pre_clean:
            ref, hyp = kimi_pre_clean(ref, sample.lang), kimi_pre_clean(hyp, sample.lang)
        ref_t, hyp_t = asr_tokens(ref, sample.lang), asr_tokens(hyp, sample.lang)
        if not ref_t:  # jiwer's rate is undefined here; every hypothesis token is an insertion
            return {"failed": int(failed), "dropped": 0, "edits": len(hyp_t), "ref_len": 0}
        out = jiwer.process_words(" ".join(ref_t), " ".join(hyp_t))
        return {
            "failed": int(failed),
            "dropped": 0,
            "ref_len": len(ref_t),
            "edits": out.substitutions + out.deletions + out.insertions,
            "sub": out.substitutions,
            "del": out.deletions,
            "ins": out.insertions,
        }

    fields = ("failed", "dropped", "edits", "ref_len")  # what aggregation needs, kept per item in memory

    def compact(self, values: Mapping[str, float]) -> tuple[int, ...]:
        return tuple(int(values[f]) for f in self.fields)

    def aggregate(self, lang: str, values: Iterable[tuple[int, ...]]) -> dict[str, Any]:
        values = list(values)
        edits = ref_len = n = failed = dropped = 0
        for f, d, e, r in values:
            n += 1
            failed += f
            dropped += d
            edits += e
            ref_len += r
        metric = self.metric(lang)
        rate = round(100.0 * edits / ref_len, 2) if ref_len else None
        kept = [v for v in values if not v[1]]  # the kimi recipe's dropped items are out of the resampling too
        return {
            metric: rate,
            "metric": metric,
            "ci95": ratio_ci([v[2] for v in kept], [v[3] for v in kept]),
            "n": n - dropped,
            "items": n,
            "failed": failed,
            "invalid": 0,
            "dropped": dropped,
            "edits": edits,
            "ref_len": ref_len,
        }


ASR_DEFAULT = AsrRecipe("default", "2", drop_failed=False, pre_clean=True)


class KimiAsrRecipe(AsrRecipe):
    """`asr-kimi`: Kimi-Audio-Evalkit's ASR scoring, its text handling read from the user's checkout
    (`almeval/metrics/wer.py` there: `remove_sp`, its three normalisers, its sacrebleu-based tokenizer,
    `editdistance`, `zhconv`). Per item exactly its per-item steps; corpus-level rate as it computes."""

    reference = "kimi"

    def check(self) -> None:
        self._module()

    def _module(self) -> Any:
        from .references import get

        return _kimi_wer(get("kimi"))

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        from .references import get

        return content_key("metric", {"base": super().item_key(sample, pred), "reference": get("kimi").commit})

    def item(self, sample: Sample, pred: Prediction) -> dict[str, float]:
        wer = self._module()
        if pred.status != "ok" or pred.text == "null":  # it drops predictions that are missing ("null")
            return {"failed": int(pred.status != "ok"), "dropped": 1, "edits": 0, "ref_len": 0}
        lang = sample.lang
        ref, hyp = wer.remove_sp(str(sample.answer), lang), wer.remove_sp(pred.text, lang)
        if lang == "yue":
            ref, hyp = wer.zhconv.convert(ref, "zh-cn"), wer.zhconv.convert(hyp, "zh-cn")
        if lang == "en":
            ref, hyp = wer.english_normalizer(ref), wer.english_normalizer(hyp)
        # as the reference does: the Chinese normaliser for zh, else (English too) the basic one
        norm = wer.chinese_normalizer if lang == "zh" else wer.basic_normalizer
        ref, hyp = norm(ref), norm(hyp)
        tokenizer = _kimi_tokenizer(wer)
        ref_items, hyp_items = tokenizer.tokenize(ref).split(), tokenizer.tokenize(hyp).split()
        edits = wer.ed.eval(ref_items, hyp_items)
        return {"failed": 0, "dropped": 0, "edits": edits, "ref_len": len(ref_items)}


@cache
def _kimi_wer(ref: Any) -> Any:
    """The checkout's almeval/metrics/wer.py, imported once per checkout and commit (not per item)."""
    from .references import load_module

    try:
        return load_module(ref, "almeval/metrics", "wer")
    except ImportError as exc:  # its own imports: editdistance, zhconv, sacrebleu, more_itertools
        raise ConfigError(
            f"the kimi reference's wer.py cannot be imported ({exc}): pip install 'almeval[kimi]'"
        ) from exc


@cache
def _kimi_tokenizer(wer: Any) -> Any:
    """Its tokenizer as its compute_wer builds it (sacrebleu zh, lower-cased, punctuation removed)."""
    return wer.EvaluationTokenizer(
        tokenizer_type="zh", lowercase=True, punctuation_removal=True, character_tokenization=False
    )


ASR_KIMI = KimiAsrRecipe("kimi", "2", drop_failed=True, pre_clean=True)


class Recipe(Protocol):
    """A scoring recipe (C9): per-item values from an item and its prediction, keyed so an unchanged
    item is never re-scored, kept compact in memory, and aggregated per subset. ASR recipes here, the
    others in rules.py; the judge's recipes read verdicts instead (judges/recipe.py)."""

    @property
    def id(self) -> str: ...  # the stored form of a RecipeId: family@version

    @property
    def extra(self) -> str: ...  # the module an optional recipe needs ("" = none)

    def check(self) -> None: ...  # raise a UserError before any inference if the recipe cannot run here

    def metric(self, lang: str) -> str: ...

    def item_key(self, sample: Sample, pred: Prediction) -> str: ...

    def item(self, sample: Sample, pred: Prediction) -> Mapping[str, float]: ...

    def compact(self, values: Mapping[str, float]) -> tuple[int, ...]: ...

    def aggregate(self, lang: str, values: Iterable[tuple[int, ...]]) -> dict[str, Any]: ...
