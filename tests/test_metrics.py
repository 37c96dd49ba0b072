"""ASR recipes on golden pairs; expected numbers worked out by hand in the comments."""

from __future__ import annotations

import pytest

from almeval.metrics import ASR_DEFAULT, ASR_KIMI, _normalizers, asr_tokens, kimi_pre_clean
from almeval.values import Prediction, Sample


def _s(answer: str, lang: str = "en", index: str = "0") -> Sample:
    return Sample(dataset="d", subset="s", index=index, audio=(), question="", answer=answer, lang=lang, task="ASR")


def _ok(text: str) -> Prediction:
    return Prediction("k", text)


def _agg(recipe, pairs, lang="en"):
    return recipe.aggregate(lang, [recipe.compact(recipe.item(_s(ref, lang), pred)) for ref, pred in pairs])


def test_english_normaliser_then_basic():
    # Whisper English normaliser: British → American spelling, numbers to digits, "mr" → "mister"
    assert asr_tokens("The colour is grey, Mr. Smith!", "en") == ["the", "color", "is", "gray", "mister", "smith"]
    assert asr_tokens("twenty five", "en") == ["25"]


def test_wer_counts_substitutions_deletions_insertions():
    # ref: hello world there (3 words); hyp: hello word → world→word (S) + there deleted (D) = 2/3 = 66.67 %
    out = _agg(ASR_DEFAULT, [("hello world there", _ok("hello word"))])
    assert out["wer"] == 66.67 and out["edits"] == 2 and out["ref_len"] == 3


def test_wer_is_corpus_level_not_a_mean_of_utterances():
    # item 1: 1 word, 1 error (100 %); item 2: 9 words, 0 errors. Corpus: 1/10 = 10 %, the mean would be 50 %.
    nine = "the sun rose over the quiet green hills today"  # (number words would merge into digits)
    out = _agg(ASR_DEFAULT, [("cat", _ok("dog")), (nine, _ok(nine))])
    assert out["wer"] == 10.0


def test_chinese_is_cer_without_punctuation():
    # 今天天气很好 (6 characters, "。" removed) vs 今天天汽很好: 气→汽 = 1/6 = 16.67 %
    out = _agg(ASR_DEFAULT, [("今天天气很好。", _ok("今天天汽很好"))], lang="zh")
    assert out["metric"] == "cer" and out["cer"] == 16.67


def test_default_counts_failures_kimi_drops_them(kimi_reference):
    failed = Prediction("k", "", status="error", error="boom")
    pairs = [("a b c d", _ok("a b c d")), ("e f g h", failed)]
    # default: the failed item is 4 deletions over 8 reference words = 50 %; kimi: 0/4 = 0 % over 1 item
    d, k = _agg(ASR_DEFAULT, pairs), _agg(ASR_KIMI, pairs)
    assert (d["wer"], d["n"], d["failed"]) == (50.0, 2, 1)
    assert (k["wer"], k["n"], k["failed"], k["dropped"]) == (0.0, 1, 1, 1)


def test_empty_prediction_is_all_deletions_in_both_recipes(kimi_reference):
    # an empty string is an answer (not a failure): 3 deletions / 3 words = 100 %
    for recipe in (ASR_DEFAULT, ASR_KIMI):
        assert _agg(recipe, [("one two three", _ok(""))])["wer"] == 100.0


def test_kimi_pre_clean_removes_special_tokens_and_zh_spaces():
    assert kimi_pre_clean("<|en|>hello , world <|endoftext|>", "en") == "hello, world "
    assert kimi_pre_clean("今天 天气 很好", "zh") == "今天天气很好"


def test_item_key_changes_with_recipe_and_text(kimi_reference):
    s = _s("a b")
    keys = {ASR_DEFAULT.item_key(s, _ok("a b")), ASR_KIMI.item_key(s, _ok("a b")), ASR_DEFAULT.item_key(s, _ok("a"))}
    assert len(keys) == 3


def test_empty_reference_does_not_divide_by_zero():
    out = _agg(ASR_DEFAULT, [("", _ok("extra words"))])
    assert out["wer"] is None and out["edits"] == 2


def test_bootstrap_interval_is_seeded_and_brackets_the_rate():
    from almeval.stats import mean_ci, ratio_ci

    edits, lens = [1, 0, 2, 0, 1, 3, 0, 0, 1, 2], [5, 4, 6, 3, 5, 7, 4, 5, 6, 5]
    rate = 100 * sum(edits) / sum(lens)  # 10 / 50 = 20 %
    lo, hi = ratio_ci(edits, lens)
    assert lo < rate < hi and ratio_ci(edits, lens) == [lo, hi]  # same seed, same interval
    assert mean_ci([1.0] * 20) == [1.0, 1.0] and ratio_ci([], []) is None
    out = _agg(ASR_DEFAULT, [("a b c d", _ok("a b c")), ("e f g h", _ok("e f g h"))])
    assert out["ci95"][0] <= out["wer"] <= out["ci95"][1]


def test_a_means_interval_is_the_two_column_resampling_to_the_bit():
    """mean_ci draws only the values (its denominators are all 1); the interval must be exactly the one
    resampling values and ones together gives, chunk sizes and generator stream included."""
    import numpy as np

    from almeval import stats

    def ratio(r):
        d = r[:, 1, :].sum(axis=1)
        return np.where(d > 0, r[:, 0, :].sum(axis=1) / np.where(d > 0, d, 1), np.nan)

    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 100, 999, 10_001):
        for values in ((rng.random(n) < 0.6) * 100.0, rng.normal(50, 20, n)):
            stats._INTERVALS.clear()
            two_columns = stats.columns_ci(np.stack([values, np.ones(n)]), ratio)
            assert stats.mean_ci(list(values)) == two_columns, n


def test_chinese_numerals_are_read_out_before_cer():
    # "我有3个苹果" and "我有三个苹果" are the same utterance: 0 errors once 3 reads as 三 (cn2an)
    out = _agg(ASR_DEFAULT, [("我有三个苹果。", _ok("我有3个苹果"))], lang="zh")
    assert out["cer"] == 0.0 and out["ref_len"] == 6


def test_without_openai_whisper_asr_scoring_stops_before_inference_with_the_install_command(tmp_path, monkeypatch):
    import importlib.util

    from conftest import asr_rows, run, write_manifest, write_wav
    from storeview import one

    from almeval import metrics
    from almeval.errors import ConfigError
    from almeval.store import Store

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "whisper" else real(name, *a))
    metrics._normalizers.cache_clear()
    write_wav(tmp_path / "data" / "a.wav")
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", asr_rows(2))
    try:
        with pytest.raises(ConfigError, match=r"pip install --no-deps openai-whisper==20250625"):
            run(tmp_path, [str(manifest)])
        store = Store(tmp_path / "work" / "almeval.sqlite")
        assert one(store, "SELECT count(*) FROM predictions")[0] == 0  # refused before any inference
    finally:
        metrics._normalizers.cache_clear()


def test_english_is_normalised_by_openai_whispers_own_module_not_a_look_alike():
    """OpenAI's normaliser has no informal-word rules (the PyPI whisper-normalizer adds kinda → kind of):
    "kinda" stays a word of its own, one substitution against "kind of"'s two words."""
    out = _agg(ASR_DEFAULT, [("I kinda like it", _ok("I kind of like it"))])
    assert out["edits"] == 2 and out["ref_len"] == 4  # kinda→kind, +of
    english, _ = _normalizers()
    assert type(english).__module__.startswith("_almeval_openai_whisper_normalizers")
