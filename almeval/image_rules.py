"""Rule recipes of image benchmarks (VLMEvalKit TSVs, almeval/datasets/vlm.py), computing the metrics
VLMEvalKit reports for each type, in almeval's own code from their documented behaviour:

  vlm-mcq        option extraction by exact matching (no judge), as VLMEvalKit 0.0.20 (ms-vlmeval) does it:
                 the reply's tokens (after `.()[],:;!*#{}` become spaces) holding exactly one option letter,
                 which must be among its last four tokens; else the one option whose text the reply contains
                 (replies at most twice the options' total length). Accuracy; MMBench's circular evaluation (rows whose
                 index differs by a multiple of 1,000,000 are one question with its options rotated: right
                 only if every rotation is right). Unmatched replies are counted (`invalid`) and wrong.
  vlm-yn         yes/no extraction (lower-cased, punctuation handled as VLMEvalKit's process_punctuation,
                 words: "yes" without "no" → Yes, the reverse → No, else Unknown = wrong); accuracy.
  vlm-mme        MME: per category acc + acc+ (images whose questions are all right), ×100 each, summed;
                 perception and reasoning totals over MME's categories; `score` their sum.
  vlm-pope       POPE: F1 (yes = positive; the headline, VLMEvalKit's "Overall"), accuracy, precision, recall.
  vlm-hallusion  HallusionBench: aAcc (questions), fAcc (figures: all questions right), qAcc (questions:
                 right on every figure), keyed by l2-category and the set / figure / question ids of the index.
  vlm-vqa        VQA accuracy: answers and reply normalised by VLMEvalKit's own `process_answer` (punctuation,
                 number words, articles, its contraction table), run from the installed ms-vlmeval's source
                 (VLMEVAL_PIN; almeval carries none of its tables); each reference answer left out in turn:
                 min(1, matches among the others / 3), averaged.
  vlm-exact      OCRVQA: right if the reply equals a reference (stripped, lower-cased).
  vlm-relaxed    ChartQA: numbers (a trailing % divided by 100) within 5% of a non-zero reference, else equal
                 lower-cased; the best over references.
  vlm-anls       DocVQA / InfoVQA: ANLS, 1 − the least normalised edit distance to a reference (whitespace
                 collapsed, lower-cased), 0 below 0.5.
  vlm-caption    COCO captions: BLEU-4, ROUGE-L and CIDEr (the headline) ×100 from pycocoevalcap's own scorers,
                 called as VLMEvalKit calls them (the reply against the reference captions, untokenised);
                 corpus-level, so its per-item values keep the texts.
  vlm-ocrbench   OCRBench: a hit if a reference (lower-cased, or without spaces for handwritten math) is in
                 the reply; the score is the number of hits (per category in its subsets).
Per-item values are kept compact as integers (scores in millionths); a failed prediction is counted and
scores 0 (it is never dropped).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from almeval.cache.keys import content_key

from .errors import MissingExtraError
from .references import installed_version
from .rules import _Rule
from .stats import mean_ci
from .values import Prediction, Sample

MILLION = 1_000_000
MME_PERCEPTION = (
    "OCR",
    "artwork",
    "celebrity",
    "color",
    "count",
    "existence",
    "landmark",
    "position",
    "posters",
    "scene",
)
MME_REASONING = ("code_reasoning", "commonsense_reasoning", "numerical_calculation", "text_translation")
MME_CATEGORIES = (*MME_PERCEPTION, *MME_REASONING)
HANDWRITTEN_MATH = "Handwritten Mathematical Expression Recognition"


def _key_int(text: str) -> int:
    """A stable integer for a grouping key (compact values are integers)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _item_key(recipe: str, sample: Sample, pred: Prediction) -> str:
    meta = {k: sample.meta.get(k) for k in ("options", "answers", "group", "category", "l2-category", "image_path")}
    payload = {"recipe": recipe, "answer": sample.answer, "index": sample.index, "meta": meta}
    return content_key(
        "metric", {**payload, "hyp": pred.text, "status": pred.status, "images": sample.meta.get("images")}
    )


# -- multiple choice ----------------------------------------------------------------------------------

_SPACED = str.maketrans({c: " " for c in ".()[],:;!*#{}"})


def choice_of(reply: str, options: Mapping[str, str]) -> str | None:
    """The option a reply picks by exact matching, or None."""
    tokens = reply.translate(_SPACED).split()
    named = [c for c in options if c in tokens]
    if len(named) == 1 and tokens.index(named[0]) > len(tokens) - 5:
        return named[0]
    text = reply.lower()
    if len(text) > 2 * sum(len(str(v)) for v in options.values()):
        return None
    hits = [k for k, v in options.items() if str(v).lower() in text]
    return hits[0] if len(hits) == 1 else None


@dataclass(frozen=True)
class ImageChoice(_Rule):
    name: str = "vlm-mcq"
    version: str = "2"  # 2: per-item values keep the l2-category (its accuracy table)
    fields: tuple[str, ...] = ("failed", "invalid", "group", "correct")

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        return _item_key(self.id, sample, pred)

    def item(self, sample: Sample, pred: Prediction) -> dict[str, Any]:
        group = sample.meta.get("group", sample.index)
        gid = group if isinstance(group, int) else _key_int(str(group))
        l2 = str(sample.meta.get("l2-category", ""))
        if pred.status != "ok":
            return {"failed": 1, "invalid": 0, "group": gid, "correct": 0, "l2": l2}
        got = choice_of(pred.text, sample.meta.get("options") or {})
        return {"failed": 0, "invalid": int(got is None), "group": gid, "correct": int(got == sample.answer), "l2": l2}

    def compact(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return (*(int(values[f]) for f in self.fields), str(values.get("l2", "")))

    def aggregate(self, lang: str, values: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
        rows = list(values)
        hits = _circular_hits(rows)
        out = self.summary(rows, hits, invalid=sum(r[1] for r in rows))
        out["acc"] = round(100.0 * sum(hits) / len(hits), 2) if hits else None
        out["questions"] = len(hits)
        out["circular"] = len(hits) < len(rows)
        by_l2: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for r in rows:
            if r[4]:
                by_l2[r[4]].append(r)
        if by_l2:  # VLMEvalKit's accuracy per l2-category, each question counted as a whole
            out["l2"] = {
                k: round(100.0 * sum(h) / len(h), 2)
                for k, h in sorted((k, _circular_hits(v)) for k, v in by_l2.items())
            }
        return out


def _circular_hits(rows: list[tuple[Any, ...]]) -> list[int]:
    """One hit per question (rows sharing a circular group): right only if every rotation is."""
    groups: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        groups[r[2]].append(r)
    return [int(all(r[3] for r in g)) for g in groups.values()]


# -- yes / no -----------------------------------------------------------------------------------------

_PUNCT = ';/[]"{}()=+\\_-><@`,?!'
_COMMA_NUMBER = re.compile(r"(\d)(,)(\d)")
_LONE_PERIOD = re.compile(r"(?<!\d)\.(?!\d)")


def punctuation_out(text: str) -> str:
    """Punctuation removed as VLMEvalKit's VQA code removes it: a mark next to a space (or any mark, when
    the text has a digit-comma-digit) is dropped, otherwise it becomes a space; periods not between
    digits are dropped."""
    out = text
    numbers = _COMMA_NUMBER.search(text) is not None
    for mark in _PUNCT:
        out = out.replace(mark, "" if (mark + " " in text or " " + mark in text or numbers) else " ")
    return _LONE_PERIOD.sub("", out)


def yes_or_no(reply: str) -> str:
    words = punctuation_out(reply.lower()).split()
    if "yes" in words and "no" not in words:
        return "Yes"
    if "no" in words and "yes" not in words:
        return "No"
    return "Unknown"


@dataclass(frozen=True)
class ImageYesNo(_Rule):
    """vlm-yn, vlm-mme, vlm-pope, vlm-hallusion (by name)."""

    name: str = "vlm-yn"
    fields: tuple[str, ...] = ("failed", "invalid", "truth_yes", "said_yes", "key1", "key2", "category", "correct")

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        return _item_key(self.id, sample, pred)

    def item(self, sample: Sample, pred: Prediction) -> dict[str, float]:
        said = yes_or_no(pred.text) if pred.status == "ok" else "Unknown"
        key1, key2 = self._keys(sample)
        category = sample.meta.get("category", "")
        return {
            "failed": int(pred.status != "ok"),
            "invalid": int(pred.status == "ok" and said == "Unknown"),
            "truth_yes": int(sample.answer == "Yes"),
            "said_yes": int(said == "Yes"),
            "key1": key1,
            "key2": key2,
            "category": MME_CATEGORIES.index(category) if category in MME_CATEGORIES else -1,
            "correct": int(said == sample.answer),
        }

    def _keys(self, sample: Sample) -> tuple[int, int]:
        if self.name == "vlm-hallusion":
            figure, question = hallusion_keys(sample.index, str(sample.meta.get("l2-category", "")))
            return _key_int(figure), _key_int(question)
        image = sample.meta.get("image_path") or next(iter(sample.meta.get("images") or []), sample.index)
        return _key_int(f"{sample.meta.get('category', '')}/{image}"), 0

    def metric(self, lang: str) -> str:
        return {"vlm-mme": "score", "vlm-pope": "f1", "vlm-hallusion": "aAcc"}.get(self.name, "acc")

    def aggregate(self, lang: str, values: Iterable[tuple[int, ...]]) -> dict[str, Any]:
        rows = list(values)
        out = self.summary(rows, [r[7] for r in rows], invalid=sum(r[1] for r in rows))
        if self.name == "vlm-mme":
            return {**out, **_mme(rows)}
        if self.name == "vlm-pope":
            return {**out, **_pope(rows)}
        if self.name == "vlm-hallusion":
            return {**out, **_hallusion(rows)}
        return out


def hallusion_keys(index: str, l2: str) -> tuple[str, str]:
    """HallusionBench's figure and question keys, read from its index as VLMEvalKit reads them (the 4th,
    5th and 6th `_`-separated parts: set, figure, question), within the l2-category."""
    parts = index.split("_")
    if len(parts) < 6:
        return f"{l2}_{index}", f"{l2}_{index}"
    return f"{l2}_{parts[3]}_{parts[4]}", f"{l2}_{parts[3]}_{parts[5]}"


def _all_right(rows: list[tuple[int, ...]], at: int) -> float:
    groups: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        groups[r[at]].append(r[7])
    return 100.0 * sum(all(g) for g in groups.values()) / len(groups) if groups else 0.0


def _mme(rows: list[tuple[int, ...]]) -> dict[str, Any]:
    per: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for r in rows:
        per[r[6]].append(r)
    scores = {
        MME_CATEGORIES[c]: 100.0 * sum(r[7] for r in rs) / len(rs) + _all_right(rs, 4)
        for c, rs in per.items()
        if c >= 0
    }
    perception = sum(v for k, v in scores.items() if k in MME_PERCEPTION)
    reasoning = sum(v for k, v in scores.items() if k in MME_REASONING)
    return {
        "score": round(perception + reasoning, 2),
        "metric": "score",
        "perception": round(perception, 2),
        "reasoning": round(reasoning, 2),
        "categories": {k: round(v, 2) for k, v in sorted(scores.items())},
        "ci95": None,
    }


def _pope(rows: list[tuple[int, ...]]) -> dict[str, Any]:
    tp = sum(1 for r in rows if r[2] and r[3])
    fp = sum(1 for r in rows if not r[2] and r[3])
    fn = sum(1 for r in rows if r[2] and not r[3])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": round(100 * f1, 2),
        "metric": "f1",
        "precision": round(100 * precision, 2),
        "recall": round(100 * recall, 2),
        "ci95": None,
    }


def _hallusion(rows: list[tuple[int, ...]]) -> dict[str, Any]:
    acc = 100.0 * sum(r[7] for r in rows) / len(rows) if rows else None
    return {
        "aAcc": None if acc is None else round(acc, 2),
        "metric": "aAcc",
        "fAcc": round(_all_right(rows, 4), 2),
        "qAcc": round(_all_right(rows, 5), 2),
    }


# -- open answers -------------------------------------------------------------------------------------

VLMEVAL_PIN = "ms-vlmeval==0.0.20"
VLMEVAL_HOW = f"pip install --no-deps {VLMEVAL_PIN} (only its source is read; `make install` does this)"


@cache
def _vlmevalkit_answer() -> Callable[[str], str]:
    """VLMEvalKit's `process_answer` (and the helpers it calls), from the installed package's files."""
    from importlib.util import find_spec

    from .references import functions_from

    spec = find_spec("vlmeval")
    root = Path(next(iter(spec.submodule_search_locations or ()), "")) if spec else None
    if root is None or not (root / "dataset/utils/vqa_eval.py").is_file():
        raise MissingExtraError("the vlm-vqa recipe (VLMEvalKit's VQA answer normaliser)", VLMEVAL_HOW)
    namespace: dict[str, Any] = {"re": re}
    functions_from(root / "smp/misc.py", {"process_punctuation"}, namespace)
    found = functions_from(root / "dataset/utils/vqa_eval.py", {"_process_digit_article", "process_answer"}, namespace)
    return found["process_answer"]  # type: ignore[return-value]


def vlmeval_version() -> str:
    return installed_version("ms-vlmeval")


def vqa_normal(text: str) -> str:
    return _vlmevalkit_answer()(text)


def _number(text: str) -> float | None:
    try:
        return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None


def relaxed(target: str, prediction: str) -> bool:
    p, t = _number(prediction), _number(target)
    if p is not None and t:
        return abs(p - t) / abs(t) <= 0.05
    return prediction.lower() == target.lower()


def anls_distance(truth: str, prediction: str) -> float:
    import editdistance  # type: ignore[import-untyped]

    a, b = " ".join(truth.strip().lower().split()), " ".join(prediction.strip().lower().split())
    longest = max(len(truth), len(prediction))
    return 0.0 if longest == 0 else float(editdistance.eval(a, b)) / longest


def ocrbench_hit(answers: list[str], reply: str, category: str) -> bool:
    for answer in answers:
        if category == HANDWRITTEN_MATH:
            a, p = (s.strip().replace("\n", " ").replace(" ", "") for s in (answer, reply))
        else:
            a, p = (s.lower().strip().replace("\n", " ") for s in (answer, reply))
        if a in p:
            return True
    return False


@dataclass(frozen=True)
class ImageAnswer(_Rule):
    """vlm-vqa, vlm-exact, vlm-relaxed, vlm-anls, vlm-ocrbench (by name)."""

    name: str = "vlm-vqa"
    fields: tuple[str, ...] = ("failed", "score_micro")

    def metric(self, lang: str) -> str:
        return {"vlm-anls": "anls", "vlm-ocrbench": "score"}.get(self.name, "acc")

    def item(self, sample: Sample, pred: Prediction) -> dict[str, float]:
        if pred.status != "ok":
            return {"failed": 1, "score_micro": 0}
        return {"failed": 0, "score_micro": round(MILLION * self._score(sample, pred.text))}

    def check(self) -> None:
        if self.name == "vlm-vqa":
            _vlmevalkit_answer()

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        key = _item_key(self.id, sample, pred)
        return content_key("metric", {"key": key, "vlmeval": vlmeval_version()}) if self.name == "vlm-vqa" else key

    def _score(self, sample: Sample, reply: str) -> float:
        answers = [str(a) for a in sample.meta.get("answers") or [sample.answer]]
        if self.name == "vlm-exact":
            return float(any(a.strip().lower() == reply.strip().lower() for a in answers))
        if self.name == "vlm-relaxed":
            return float(any(relaxed(a, reply.strip()) for a in answers))
        if self.name == "vlm-anls":
            best = 1.0 - min(anls_distance(a, reply) for a in answers)
            return 0.0 if best < 0.5 else best
        if self.name == "vlm-ocrbench":
            return float(ocrbench_hit(answers, reply, str(sample.meta.get("category", ""))))
        got, truths = vqa_normal(reply), [vqa_normal(a) for a in answers]
        scores = [min(1.0, sum(t == got for j, t in enumerate(truths) if j != i) / 3) for i in range(len(truths))]
        return sum(scores) / len(scores)

    def aggregate(self, lang: str, values: Iterable[tuple[int, ...]]) -> dict[str, Any]:
        rows = list(values)
        metric = self.metric(lang)
        scores = [100.0 * r[1] / MILLION for r in rows]
        out = {
            metric: round(sum(scores) / len(scores), 2) if scores else None,
            "metric": metric,
            "ci95": mean_ci(scores),
            "n": len(rows),
            "failed": sum(r[0] for r in rows),
            "invalid": 0,
            "dropped": 0,
        }
        if self.name == "vlm-ocrbench":  # OCRBench reports hits, out of its 1,000 items
            hits = sum(r[1] for r in rows) // MILLION
            out.update(score=hits, score_norm=round(hits / 10, 2))
            out["ci95"] = None
        return out


@dataclass(frozen=True)
class ImageCaption(_Rule):
    name: str = "vlm-caption"
    fields: tuple[str, ...] = ("failed",)

    def check(self) -> None:
        _coco_scorers()

    def item_key(self, sample: Sample, pred: Prediction) -> str:
        return _item_key(self.id, sample, pred)

    def metric(self, lang: str) -> str:
        return "cider"

    def item(self, sample: Sample, pred: Prediction) -> dict[str, Any]:
        refs = [str(a) for a in sample.meta.get("answers") or [sample.answer]]
        return {"failed": int(pred.status != "ok"), "hyp": pred.text if pred.status == "ok" else "", "refs": refs}

    def compact(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return (int(values["failed"]), str(values["hyp"]), tuple(values["refs"]))

    def aggregate(self, lang: str, values: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
        import contextlib
        import io

        rows = list(values)
        out: dict[str, Any] = {
            "cider": None,
            "metric": "cider",
            "ci95": None,
            "n": len(rows),
            "invalid": 0,
            "dropped": 0,
        }
        out["failed"] = sum(r[0] for r in rows)
        if not rows:
            return out
        bleu, rouge, cider = _coco_scorers()
        hyps = {str(i): [r[1]] for i, r in enumerate(rows)}
        refs = {str(i): list(r[2]) for i, r in enumerate(rows)}
        with contextlib.redirect_stdout(io.StringIO()):  # its BLEU prints its counts
            b, _ = bleu(4).compute_score(refs, hyps)
            r, _ = rouge().compute_score(refs, hyps)
            c, _ = cider().compute_score(refs, hyps)
        return {**out, "cider": round(100 * c, 2), "bleu4": round(100 * b[3], 2), "rouge_l": round(100 * r, 2)}


@cache
def _coco_scorers() -> tuple[Any, Any, Any]:
    try:
        from pycocoevalcap.bleu.bleu import Bleu  # type: ignore[import-untyped]
        from pycocoevalcap.cider.cider import Cider  # type: ignore[import-untyped]
        from pycocoevalcap.rouge.rouge import Rouge  # type: ignore[import-untyped]
    except ImportError:
        raise MissingExtraError("the vlm-caption recipe (COCO caption metrics)", "pip install 'almeval[vlm]'") from None
    return Bleu, Rouge, Cider


VLM_MCQ = ImageChoice()
VLM_YN = ImageYesNo()
VLM_MME = ImageYesNo(name="vlm-mme")
VLM_POPE = ImageYesNo(name="vlm-pope")
VLM_HALLUSION = ImageYesNo(name="vlm-hallusion")
VLM_VQA = ImageAnswer()
VLM_EXACT = ImageAnswer(name="vlm-exact")
VLM_RELAXED = ImageAnswer(name="vlm-relaxed")
VLM_ANLS = ImageAnswer(name="vlm-anls")
VLM_OCRBENCH = ImageAnswer(name="vlm-ocrbench")
VLM_CAPTION = ImageCaption()
IMAGE_RECIPES = (
    VLM_MCQ,
    VLM_YN,
    VLM_MME,
    VLM_POPE,
    VLM_HALLUSION,
    VLM_VQA,
    VLM_EXACT,
    VLM_RELAXED,
    VLM_ANLS,
    VLM_OCRBENCH,
    VLM_CAPTION,
)
