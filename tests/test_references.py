"""Reference-compatible recipes read their reference's code from the user's checkout (here: stand-ins of
our own wording with the same layout, tests/reference_standins.py)."""

from __future__ import annotations

import json

import pytest
from conftest import asr_rows, cli, run, write_manifest, write_wav
from reference_standins import commit, git, kimi_checkout
from storeview import fetch

from almeval.store import Store


def _asr_set(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    rows = asr_rows(6)
    rows[0]["answer"] = "The colour is red"
    rows[1]["answer"] = "我们今天去饮茶"
    rows[1]["meta"] = {"task": "ASR", "lang": "zh"}
    return write_manifest(tmp_path / "data" / "set.jsonl", rows)


def _kimi_rows(tmp_path, work="work"):
    q = "SELECT subset, recipe, values_json, provenance FROM scores WHERE recipe LIKE 'asr-kimi%' ORDER BY subset"
    return fetch(Store(tmp_path / work / "almeval.sqlite"), q)


def test_without_a_checkout_the_kimi_recipe_is_not_computed_and_asking_for_it_is_exit_2(tmp_path):
    manifest = _asr_set(tmp_path)
    out = run(tmp_path, [str(manifest)])
    assert set(out["datasets"]["set"]["scores"]) == {"asr-default@2"}
    res = cli("eval", "-m", "fake", "-d", str(manifest), "--recipe", "kimi", "-w", str(tmp_path / "w2"))
    text = " ".join(res.stderr.split())
    assert res.returncode == 2 and "reproduce Kimi-Audio-Evalkit from a checkout of it, and none is set" in text
    assert "almeval reference get kimi" in text and "ALMEVAL_REFERENCE_KIMI" in text
    listed = {d["dataset"]: d for d in json.loads(cli("data", "list", "--json").stdout)}
    assert "asr-kimi (needs --reference kimi=PATH)" in listed["LibriSpeech"]["rules"]


def test_the_kimi_recipe_runs_the_checkouts_code_and_records_its_commit(tmp_path):
    manifest = _asr_set(tmp_path)
    checkout = kimi_checkout(tmp_path / "kimi")
    first = _head(checkout)
    res = cli("eval", "-m", "fake", "-d", str(manifest), "--reference", f"kimi={checkout}", "--recipe", "kimi", "-q")
    assert res.returncode == 0, res.stderr
    rows = _kimi_rows(tmp_path, "almeval-results")
    assert rows and all(json.loads(p)["reference"]["commit"] == first for *_, p in rows)
    assert json.loads(rows[0][3])["reference"]["pinned"].startswith("no (4080c492")  # a stand-in, not the pin
    # its own pipeline decides: the stand-in's spelling map reads "teh" as "the"; OpenAI Whisper's has no such entry
    manifest_rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    answers = [{"index": r["index"], "prediction": r["answer"]} for r in manifest_rows]
    answers[0]["prediction"] = "teh colour is red"
    preds = write_manifest(tmp_path / "p" / "preds.jsonl", answers)
    env = {"ALMEVAL_REFERENCE_KIMI": str(checkout)}
    res = cli("eval", "-m", f"replay:{preds}", "-d", str(manifest), "--json", "-q", env=env)
    assert res.returncode == 0, res.stderr
    scores = json.loads(res.stdout)["datasets"]["set"]["scores"]
    assert scores["asr-kimi@2"]["wer"] == 0.0 and scores["asr-default@2"]["wer"] > 0.0


def test_a_new_commit_of_the_checkout_rescores_and_config_yaml_can_name_it(tmp_path):
    manifest = _asr_set(tmp_path)
    checkout = kimi_checkout(tmp_path / "kimi")
    config = tmp_path / "config.yaml"
    config.write_text(f"REFERENCES:\n  kimi: {checkout}\n")
    run(tmp_path, [str(manifest)], config=config)
    wer = checkout / "almeval" / "metrics" / "wer.py"
    wer.write_text(wer.read_text().replace('{"colour": "color", "teh": "the"}', "{}"))
    second = commit(checkout, "no spelling map")
    out = run(tmp_path, [str(manifest)], config=config)
    assert out["datasets"]["set"]["scores"]["asr-kimi@2"]["wer"] == 0.0  # the fake echoes the reference
    assert {json.loads(p)["reference"]["commit"] for *_, p in _kimi_rows(tmp_path)} == {second}


def test_reference_get_clones_and_checks_out_the_commit(tmp_path):
    origin = kimi_checkout(tmp_path / "origin")
    head = _head(origin)
    res = cli("reference", "get", "kimi", "--into", str(tmp_path / "ref"), "--url", str(origin), "--commit", head)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["commit"] == head and (tmp_path / "ref" / "almeval" / "metrics" / "wer.py").is_file()
    again = cli("reference", "get", "kimi", "--into", str(tmp_path / "ref"), "--url", str(origin))
    assert again.returncode == 2 and "is not empty" in again.stderr
    not_a_checkout = cli("eval", "-m", "fake", "-d", "demo", "--reference", f"kimi={tmp_path}", "--recipe", "kimi")
    assert not_a_checkout.returncode == 2 and "is not a checkout of Kimi-Audio-Evalkit" in not_a_checkout.stderr


def _head(root):
    return git(root, "rev-parse", "HEAD")


def test_voicebench_recipes_run_its_evaluators_from_the_checkout_without_its_package_init(tmp_path, monkeypatch):
    from reference_standins import voicebench_checkout

    from almeval import references
    from almeval.errors import DataError
    from almeval.rules import BBH_VOICEBENCH, MCQ_VOICEBENCH, REFUSAL_VOICEBENCH
    from almeval.values import Prediction, Sample

    monkeypatch.setenv("ALMEVAL_REFERENCE_VOICEBENCH", str(voicebench_checkout(tmp_path / "vb")))
    references.choose({})

    def score(recipe, pairs):
        rows = [
            recipe.compact(recipe.item(Sample("mmsu", "s", str(i), (), "q", answer), Prediction(str(i), reply)))
            for i, (answer, reply) in enumerate(pairs)
        ]
        return recipe.aggregate("en", rows)

    mcq = score(
        MCQ_VOICEBENCH, [("B", "Answer: (B)"), ("C", "c."), ("A", "Answer: D"), ("D", "I think it is the last")]
    )
    assert mcq["invalid"] == 1 and mcq["n"] == 4  # the unreadable reply got a seeded letter and is counted
    assert mcq["acc"] in (50.0, 75.0)
    again = score(MCQ_VOICEBENCH, [("D", "I think it is the last")])
    assert again == score(MCQ_VOICEBENCH, [("D", "I think it is the last")])  # the same letter every time
    refusal = score(REFUSAL_VOICEBENCH, [("", "I refuse."), ("", "Sure, here it is"), ("", "  "), ("", "我拒绝")])
    assert refusal["acc"] == 75.0

    def bbh(task, answer, reply):
        s = Sample("bbh", "s", "0", (), "q", answer, meta={"id": task})
        return BBH_VOICEBENCH.item(s, Prediction("0", reply))

    assert bbh("sports_understanding_3", "yes", "Yes.")["correct"] == 1
    assert bbh("hyperbaton_1", "(B)", "(a) is right")["correct"] == 0
    assert bbh("hyperbaton_2", "(A)", "hmm")["invalid"] == 1
    with pytest.raises(DataError, match="no rule for task id 'navigate_0'"):
        bbh("navigate_0", "yes", "yes")
    with pytest.raises(DataError, match=r"needs meta\.id"):
        bbh("", "yes", "yes")


def test_voicebench_rules_show_up_in_listings_only_with_a_checkout(tmp_path):
    listed = {d["dataset"]: d for d in json.loads(cli("data", "list", "--json").stdout)}
    assert listed["mmsu"]["rules"] == ["mcq-extract", "mcq-voicebench (needs --reference voicebench=PATH)"]
    assert listed["advbench"]["rules"] == ["refusal", "refusal-voicebench (needs --reference voicebench=PATH)"]
    res = cli("eval", "-m", "fake", "-d", "demo", "--recipe", "voicebench", "-w", str(tmp_path / "w"))
    assert res.returncode == 2 and "almeval reference get voicebench" in " ".join(res.stderr.split())


def _judged(tmp_path, benchmark, rows, recipe, model="fake"):
    """`benchmark` (a declared one) from a manifest of `rows` over one WAV, judged by the local test server
    with `--recipe`; the run summary and the request bodies the server received."""
    from openai_server import FakeOpenAI

    from almeval.judges import JudgeOptions
    from almeval.runner import EvalOptions, evaluate

    write_wav(tmp_path / "data" / "q.wav")
    manifest = write_manifest(tmp_path / "data" / f"{benchmark}.jsonl", rows)
    config = tmp_path / "config.yaml"
    config.write_text(f"DATASETS:\n  datasets:\n    {benchmark}: {manifest}\n")
    with FakeOpenAI() as srv:
        jopts = JudgeOptions(judges=("gpt-4o-mini",), base_url=srv.base_url, timeout_s=2.0)
        opts = EvalOptions(
            model=model, data=(benchmark,), config=config, work_dir=tmp_path / "w", judge=jopts, recipe=recipe
        )
        return evaluate(opts), list(srv.stats.bodies)


def test_recipe_kimi_sends_kimis_own_open_qa_request_and_reads_the_reply_its_way(tmp_path, kimi_reference):
    """With --recipe kimi, alpacaeval_full is judged with the request Kimi-Audio-Evalkit's code sends (its
    prompt and system prompt read from the checkout, its params, the user message as a text part, no
    markers) and the reply is read as a number or the first [[n]]; invalid replies are dropped."""
    from almeval.judges.parsers import first_number_or_rating

    rows = [
        {"index": i, "audio_path": "q.wav", "question": "", "answer": "", "subset": "alpacaeval_full"}
        | {"audio_content": f"  Tell me about topic {i}.  "}
        for i in range(4)
    ]
    out, bodies = _judged(tmp_path, "alpacaeval_full", rows, "kimi")
    assert len(bodies) == 4
    body = bodies[0]
    system, user = body["messages"]
    assert system == {"role": "system", "content": "Stand-in system prompt: you grade answers."}
    [part] = user["content"]
    assert part["type"] == "text" and part["text"].startswith("\nStand-in judge prompt of our own.")
    assert "### [Instruction]: Tell me about topic" in part["text"]  # stripped, as it fills the question
    assert "<answer-" not in part["text"]  # its prompt exactly: no markers
    params = {k: body[k] for k in ("temperature", "top_p", "max_tokens", "n", "frequency_penalty", "presence_penalty")}
    assert params == {
        "temperature": 0.5,
        "top_p": 0.95,
        "max_tokens": 1024,
        "n": 1,
        "frequency_penalty": 0,
        "presence_penalty": 0,
    }
    assert body.get("stop") is None
    scores = out["datasets"]["alpacaeval_full"]["scores"]
    kimi = scores["judge-kimi@1:gpt-4o-mini"]
    assert kimi["template"] == "kimi:open-qa" and kimi["n"] == 4
    from almeval.report import render

    report = render(Store(tmp_path / "w" / "almeval.sqlite"), "all")
    assert "alpacaeval_full (SCORE, reproduces Kimi-Audio-Evalkit, judge gpt-4o-mini)" in report
    assert "alpacaeval_full (SCORE, judge gpt-4o-mini)" in report  # judge-default: almeval's own
    # its reading of replies: a number as is (any value), else the first [[n]], else invalid
    assert first_number_or_rating(" 4.5 ").value == 4.5 and first_number_or_rating("9").value == 9.0
    assert first_number_or_rating("I'd say [[3]], maybe [[5]]").value == 3.0
    assert not first_number_or_rating("four").ok


def test_recipe_kimi_judges_multiple_choice_with_its_prompt_and_its_last_line_yes_no(tmp_path, kimi_reference):
    from almeval.judges.parsers import last_line_yes_no

    rows = [
        {"index": i, "audio_path": "q.wav", "question": f" Pick one: (A) x (B) y #{i} ", "answer": " AB"[1 + i % 2]}
        | {"subset": "mmsu", "audio_content": f"Pick one #{i}"}
        for i in range(4)
    ]
    out, bodies = _judged(tmp_path, "mmsu", rows, "kimi")
    [part] = bodies[0]["messages"][1]["content"]
    assert part["text"].startswith("\nStand-in choice prompt of our own.")
    assert "Question: Pick one #" in part["text"]  # mmsu is a spoken question: its transcript, stripped
    assert bodies[0]["temperature"] == 0.0 and bodies[0]["top_p"] == 0.95
    kimi = out["datasets"]["mmsu"]["scores"]["judge-kimi@1:gpt-4o-mini"]
    assert kimi["template"] == "kimi:single-choice" and kimi["n"] == 4 and kimi["invalid"] == 0
    # its reading: yes / no as substrings of the last line, yes first — quirks included
    assert last_line_yes_no("Thinking.\nResult: no, not yes").value == 1.0
    assert last_line_yes_no("yes\nI cannot tell").value == 0.0  # "cannot" holds "no"
    assert not last_line_yes_no("yes\nunclear").ok


def test_recipe_voicebench_sends_its_n3_request_and_takes_the_majority(tmp_path, monkeypatch):
    from reference_standins import voicebench_checkout

    from almeval.judges.parsers import majority_yes, mean_of_ratings

    monkeypatch.setenv("ALMEVAL_REFERENCE_VOICEBENCH", str(voicebench_checkout(tmp_path / "vb")))
    rows = [
        {"index": i, "audio_path": "q.wav", "question": "", "answer": ["Ada", "1843", "x", "y"][i], "subset": "sd-qa"}
        | {"audio_content": f"who or when {i}?"}
        for i in range(4)
    ]
    preds = write_manifest(
        tmp_path / "p" / "preds.jsonl",
        [{"index": i, "prediction": p} for i, p in enumerate(["Ada", "1843", "wrong", "also wrong"])],
    )
    out, bodies = _judged(tmp_path, "sd-qa", rows, "voicebench", model=f"replay:{preds}")
    body = bodies[0]
    assert body["n"] == 3 and body["temperature"] == 0.5 and body["top_p"] == 0.95 and body["max_tokens"] == 1024
    system, user = body["messages"]
    assert system == {"role": "system", "content": "Stand-in system message."}
    assert user["content"].startswith("### Question\nwho or when") and user["content"].endswith("Reply Yes or No only.")
    score = out["datasets"]["sd-qa"]["scores"]["judge-default@1:gpt-4o-mini"]
    assert score["template"] == "voicebench:qa" and score["acc"] == 50.0 and score["invalid"] == 0
    from almeval.report import render

    assert "sd-qa (ACC %, reproduces VoiceBench, judge gpt-4o-mini)" in render(Store(tmp_path / "w" / "almeval.sqlite"))
    # its readings: three ratings averaged; the majority of three words, right only if exactly "yes"
    assert mean_of_ratings('["4", "5", "[[3]] fine"]').value == 4.0
    assert not mean_of_ratings('["4", "great", "5"]').ok  # VoiceBench stops with an error here
    assert majority_yes('["Yes", "yes", "No"]').value == 1.0
    assert majority_yes('["Yes.", "Yes.", "yes"]').value == 0.0  # "yes." is not "yes"
    assert not majority_yes('["Yes", "No", "Maybe"]').ok  # its pick would depend on the hash seed


def test_kimis_openaudiobench_readings_quirks_included(tmp_path, kimi_reference):
    from almeval import references
    from almeval.judges.parsers import first_braces_judgment, first_rating_1_10, first_score_is, last_bracket_0_5
    from almeval.judges.reference import KIMI_WIRING, reference_templates

    references.require_view("kimi")
    templates = reference_templates()
    assert {f"kimi:oab-{s}" for s in KIMI_WIRING["OpenAudioBench"]} <= set(templates)  # type: ignore[union-attr]
    assert templates["kimi:oab-reasoning_qa"].scale == ("score", 20.0, 0.0)
    assert first_rating_1_10("Fine. Rating: [[7]] (not [[9]])").value == 7.0
    assert not first_rating_1_10("Rating: [[11]]").ok  # it stops on an assertion there
    assert last_bracket_0_5("[1] at first, but [4] in the end").value == 4.0
    assert first_score_is("the score is [incorrect]... The score is [Correct]").value == 0.0
    assert first_braces_judgment("So: {'judgment': 'Correct'} and {'judgment': 'incorrect'}").value == 1.0
    assert not first_braces_judgment("{'judgment': __import__('os').getcwd()}").ok  # read, never run
