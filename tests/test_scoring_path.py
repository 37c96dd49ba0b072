"""One scoring path: rule and judge recipes both store per-item values in item_scores; recipe ids are
structured values with one parser; a changed parse rule re-scores with zero judge calls."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import write_manifest, write_wav
from openai_server import FakeOpenAI

from almeval.judges import JudgeOptions
from almeval.runner import EvalOptions, evaluate
from almeval.values import RecipeId


def _quiz(tmp_path, n=8):
    write_wav(tmp_path / "data" / "q.wav")
    rows = [
        {
            "index": i,
            "audio_path": "q.wav",
            "question": f"Q{i}: (A) x (B) y",
            "audio_content": f"Q{i}: (A) x (B) y",
            "answer": "AB"[i % 2],
            "subset": f"s{i % 2}",
            "meta": {"task": "MQA"},
        }
        for i in range(n)
    ]
    return write_manifest(tmp_path / "data" / "demo-mqa.jsonl", rows)  # demo-mqa: judged and mcq-extract


def _rows(tmp_path):
    con = sqlite3.connect(f"file:{tmp_path / 'work' / 'almeval.sqlite'}?mode=ro", uri=True)
    return con.execute("SELECT recipe, idx, metric_key, values_json FROM item_scores ORDER BY recipe, idx").fetchall()


def test_rule_and_judge_recipes_share_the_item_scores_table_and_reruns_cost_no_call(tmp_path):
    quiz = _quiz(tmp_path)
    with FakeOpenAI() as srv:
        opts = EvalOptions(
            model="fake",
            data=(str(quiz),),
            work_dir=tmp_path / "work",
            model_args={"wrong": "1;3"},
            judge=JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=2.0),
        )
        first = evaluate(opts)
        rows = _rows(tmp_path)
        again = evaluate(opts)
        assert srv.stats.requests == 8  # the rerun sent nothing
    assert first["judged"] == 8 and again["judged"] == 0 and again["judge_cache_hits"] == 8
    recipes = {r for r, *_ in rows}
    assert recipes == {"mcq-extract@1", "judge-default@1:gpt-4o-mini", "judge-kimi@1:gpt-4o-mini"}
    judged = {i: json.loads(v) for r, i, _, v in rows if r == "judge-default@1:gpt-4o-mini"}
    assert len(judged) == 8 and all(v["status"] == "ok" and v["template"] == "mcq-yesno" for v in judged.values())
    assert sorted(i for i, v in judged.items() if v["value"] == 0) == ["1", "3"]  # the two wrong answers
    assert _rows(tmp_path) == rows  # unchanged keys: nothing rewritten
    overall = again["datasets"]["demo-mqa"]["scores"]
    assert overall["judge-default@1:gpt-4o-mini"]["acc"] == overall["mcq-extract@1"]["acc"] == 75.0


@pytest.mark.parametrize(
    "text",
    [
        "asr-default@2",
        "mcq-voicebench@1",
        "mcq-extract@1",
        "judge-kimi@1:gpt-4o-mini",
        "judge-default@2:hf:/models/llama",
    ],
)
def test_recipe_ids_round_trip_through_their_one_parser(text):
    rid = RecipeId.parse(text)
    assert str(rid) == text and RecipeId.parse(str(rid)) == rid
    expected = next((v for v in ("kimi", "default", "voicebench") if v in text), "")
    assert rid.variant == expected
    if text.startswith("judge-default@2"):
        assert (rid.family, rid.version, rid.judge) == ("judge-default", "2", "hf:/models/llama")


def test_judgments_go_in_and_come_out_as_values_and_an_error_never_overwrites_an_ok_reply(tmp_path):
    from almeval.store import Store
    from almeval.values import Judgment, Verdict

    store = Store(tmp_path / "almeval.sqlite")
    ok = Judgment("k1", "gpt-4o-mini", "t", "d1", reply="Result: yes", model_returned="gpt-4o-mini-2024", attempts=1)
    link = Verdict("m", "demo", "", "0", "gpt-4o-mini", 0, "t", "k1", "p0")
    store.put_judgments([ok], [link])
    assert store.judgments(["k1"]) == {"k1": ok}
    # a later failure for the same content key (another process, a retry) keeps the stored reply
    store.put_judgments([Judgment("k1", "gpt-4o-mini", "t", "d1", status="error", error="HTTP 500")], [])
    assert store.judgments(["k1"])["k1"].reply == "Result: yes"
    # and in one batch, the ok reply wins whatever the order
    err = Judgment("k2", "gpt-4o-mini", "t", "d1", status="error", error="timeout")
    store.put_judgments([err, Judgment("k2", "gpt-4o-mini", "t", "d1", reply="no")], [])
    assert store.judgments(["k2"])["k2"].status == "ok"
