"""Every benchmark preparer on a fixture in its source's real format (tests/source_fixtures.py): item
and skip counts, answers, relative audio paths with their sha256 and duration, and manifests that the
catalog finds by name and `data check` passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("datasets")
pytest.importorskip("av")

import source_fixtures as fx
from conftest import cli
from storeview import dicts

from almeval.cache import AudioProbe, Memo
from almeval.config import load_config
from almeval.datasets import Catalog, check
from almeval.prepare.download import file_sha256
from almeval.preparing import PREPARERS, series_for

# series: (fixture, {dataset: (items, skipped)}, {dataset: {index: answer}})
CASES = {
    "VoiceBench": (
        fx.voicebench,
        {
            "alpacaeval_full": (2, 0),
            "commoneval": (1, 0),
            "advbench": (1, 0),
            "ifeval": (2, 0),
            "openbookqa": (2, 0),
            "mmsu": (2, 0),
            "sd-qa": (2, 1),
            "wildvoice": (1, 0),
            "bbh": (2, 0),
        },
        {"openbookqa": {"1": "B"}, "sd-qa": {"1": "1843"}, "alpacaeval_full": {"0": ""}, "bbh": {"1": "(B)"}},
    ),
    "Fleurs": (fx.fleurs, {"Fleurs-zh": (2, 0), "Fleurs-en": (2, 0)}, {"Fleurs-zh": {"7-0": "今天天气很好"}}),
    "WenetSpeech": (fx.wenetspeech, {"WenetSpeech": (2, 2)}, {"WenetSpeech": {"test_meeting_S0": "你好世界"}}),
    "OpenAudioBench": (
        fx.openaudiobench,
        {"OpenAudioBench": (5, 1)},
        {"OpenAudioBench": {"reasoning_qa-0": "reasoning_qa answer"}},
    ),
    "AISHELL-1": (
        fx.aishell1,
        {"AISHELL-1": (1, 1)},
        {"AISHELL-1": {"BAC009S0764W0121": "甚至出现交易几乎停滞的情况"}},
    ),
    "AISHELL-2": (fx.aishell2, {"AISHELL-2": (2, 1)}, {"AISHELL-2": {"IT0011W0002": "打开空调"}}),
    "MMAU": (fx.mmau, {"mmau-test-mini": (2, 1)}, {"mmau-test-mini": {"m2": "Piano"}}),
    "ClothoAQA": (fx.clothoaqa, {"ClothoAQA": (2, 1)}, {"ClothoAQA": {"test-0": "dog"}}),
    "MELD": (fx.meld, {"MELD": (1, 2)}, {"MELD": {"dia0_utt0": "surprise"}}),
    "Nonspeech7k": (fx.nonspeech7k, {"Nonspeech7k": (2, 1)}, {"Nonspeech7k": {"102": "Yawn"}}),
    "TUT2017": (fx.tut2017, {"TUT2017": (4, 1)}, {"TUT2017": {"3": "home"}}),
    "VocalSound": (fx.vocalsound, {"VocalSound": (2, 1)}, {"VocalSound": {"m0101_1_sigh": "Sigh"}}),
    "CochlScene": (fx.cochlscene, {"CochlScene": (3, 0)}, {"CochlScene": {"Val/Park_val_001": "Park"}}),
}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("series", sorted(CASES))
def test_preparer_on_its_source_format(tmp_path, monkeypatch, series):
    build, counts, answers = CASES[series]
    sources = build(tmp_path / "src")
    root = tmp_path / "bench"
    summary = PREPARERS.get(series)(root, sources)
    assert {name: (s["items"], s["skipped"]) for name, s in summary.items()} == counts
    base = root / series
    for name in counts:
        rows = _rows(base / f"{name}.jsonl")
        for r in rows:
            audio = base / r["audio_path"]
            assert not Path(r["audio_path"]).is_absolute() and audio.is_file()
            assert r["meta"]["sha256"] == file_sha256(audio) and r["meta"]["duration_s"] > 0
        for index, answer in answers.get(name, {}).items():
            assert {str(r["index"]): r["answer"] for r in rows}[index] == answer
        assert all(s["reason"] for s in _rows(base / f"{name}.skipped.jsonl"))
    # found by name under the dataset root, and every line passes the manifest check
    monkeypatch.setenv("ALMEVAL_DATASET_ROOT", str(root))
    catalog = Catalog(load_config(None))
    for name in counts:
        good, problems = check(catalog.get(name), AudioProbe(Memo(tmp_path / "cache")))
        assert problems == [] and good == counts[name][0]
    # a second run reuses what is there and writes the same manifests
    before = {n: (base / f"{n}.jsonl").read_text(encoding="utf-8") for n in counts}
    PREPARERS.get(series)(root, sources)
    assert {n: (base / f"{n}.jsonl").read_text(encoding="utf-8") for n in counts} == before


def test_voicebench_fields_follow_the_spoken_question_contract(tmp_path):
    PREPARERS.get("VoiceBench")(tmp_path / "b", fx.voicebench(tmp_path / "src"))
    base = tmp_path / "b" / "VoiceBench"
    ifeval = _rows(base / "ifeval.jsonl")
    assert ifeval[0]["question"] == "" and ifeval[0]["audio_content"] == "Write two paragraphs about rain."
    assert ifeval[0]["meta"]["instruction_id_list"] == ["length_constraints:number_paragraphs"]
    assert ifeval[0]["meta"]["kwargs"][0]["num_paragraphs"] == 2
    assert {r["meta"]["domain"] for r in _rows(base / "mmsu.jsonl")} == {"law", "biology"}
    assert {r["subset"] for r in _rows(base / "mmsu.jsonl")} == {"mmsu"}
    skipped = _rows(base / "sd-qa.skipped.jsonl")
    assert skipped[0]["reason"].startswith("accent aus")


def test_classification_questions_list_the_options(tmp_path):
    PREPARERS.get("TUT2017")(tmp_path / "b", fx.tut2017(tmp_path / "src"))
    row = _rows(tmp_path / "b" / "TUT2017" / "TUT2017.jsonl")[0]
    assert (
        "(A) beach" in row["question"]
        and "(O) tram" in row["question"]
        and row["subset"] == "acoustic_scene_classification"
    )


def test_dataset_names_route_to_their_series_and_cli_prepares_by_dataset_name(tmp_path):
    assert series_for("mmsu") == ["VoiceBench"] and series_for("fleurs-zh") == ["Fleurs"]
    assert len(series_for("all")) == 14
    sources = fx.nonspeech7k(tmp_path / "src")
    args = [f"--source=meta={sources['meta']}", f"--source=audio={sources['audio']}"]
    res = cli("data", "prepare", "nonspeech7k", "--root", str(tmp_path / "b"), *args)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["prepared"]["Nonspeech7k"]["items"] == 2


def test_a_source_without_a_download_says_what_to_pass(tmp_path):
    res = cli("data", "prepare", "CochlScene", "--root", str(tmp_path / "b"))
    said = " ".join(res.stderr.split())
    assert res.returncode == 2 and "--source cochlscene=PATH" in said and "Traceback" not in said
    res = cli("data", "prepare", "cochlscen", "--root", str(tmp_path / "b"))
    assert res.returncode == 2 and "CochlScene" in res.stderr  # did you mean


def test_prepared_voicebench_evaluates_with_its_rule_recipes(tmp_path, monkeypatch):
    pytest.importorskip("lm_eval")
    from almeval.runner import EvalOptions, evaluate
    from almeval.store import Store

    root = tmp_path / "bench"
    PREPARERS.get("VoiceBench")(root, fx.voicebench(tmp_path / "src"))
    monkeypatch.setenv("ALMEVAL_DATASET_ROOT", str(root))
    # the fake model answers with the spoken question's transcript: no refusal, ifeval instructions mostly unmet
    opts = EvalOptions(
        model="fake", data=("ifeval", "advbench", "openbookqa"), work_dir=tmp_path / "w", skip_judge=True
    )
    out = evaluate(opts)
    assert out["failed"] == 0 and out["inferred"] == 5
    scores = {
        (r["dataset"], r["recipe"]): json.loads(r["values_json"])
        for r in dicts(Store(tmp_path / "w" / "almeval.sqlite"), "SELECT * FROM scores WHERE subset = ''")
    }
    assert scores[("ifeval", "ifeval@1")]["n"] == 2 and "inst_loose" in scores[("ifeval", "ifeval@1")]
    assert scores[("advbench", "refusal@1")]["n"] == 1
    assert scores[("openbookqa", "mcq-extract@1")]["n"] == 2
    from almeval.report import render

    assert "instruction-level loose" in render(Store(tmp_path / "w" / "almeval.sqlite"))


def test_data_list_shows_the_23_benchmarks_with_subsets_recipes_and_prepared(tmp_path):
    root = tmp_path / "b"
    PREPARERS.get("Nonspeech7k")(root, fx.nonspeech7k(tmp_path / "src"))
    res = cli("data", "list", "--json", env={"ALMEVAL_DATASET_ROOT": str(root)}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = {r["dataset"]: r for r in json.loads(res.stdout)}
    benchmarks = [r for name, r in rows.items() if not name.startswith("demo")]
    assert len(benchmarks) == 23
    assert all(r["subsets"] and (r["rules"] or r["judge"]) for r in benchmarks)
    assert rows["bbh"]["rules"] == ["bbh-voicebench (needs --reference voicebench=PATH)"]
    assert [name for name, r in rows.items() if r["prepared"] and not name.startswith("demo")] == ["Nonspeech7k"]
    assert rows["ifeval"]["rules"] == ["ifeval"] and rows["TUT2017"]["judge"] == "mcq-yesno-tut2017"
    assert rows["LibriSpeech"]["subsets"] == ["test_clean", "test_other"]


def test_prepare_all_routes_series_keys_and_reports_a_failing_series(tmp_path):
    from almeval.preparing import prepare

    builders = {series: case[0] for series, case in CASES.items()}
    builders["LibriSpeech"] = fx.librispeech
    sources = {}
    for series, build in builders.items():
        if series != "CochlScene":  # left without its required source: reported, the rest still prepared
            sources.update({f"{series}.{k}": v for k, v in build(tmp_path / "src" / series).items()})
    results, failures = prepare("all", tmp_path / "b", sources)
    assert list(failures) == ["CochlScene"] and "--source cochlscene=" in failures["CochlScene"]
    assert len(results) == 22 and results["LibriSpeech"]["items"] == 6


def test_an_archive_member_outside_the_folder_is_refused(tmp_path):
    import zipfile

    from almeval.errors import DataError
    from almeval.prepare.common import extract

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escaped.wav", b"x")
    with pytest.raises(DataError, match="outside the archive"):
        extract(bad, tmp_path / "out")
    assert not (tmp_path / "escaped.wav").exists()


def test_prepare_all_reports_a_series_whose_source_fails_in_a_library_and_goes_on(tmp_path, monkeypatch):
    """A preparer that fails inside a library (an offline hub download raising its own error, not almeval's)
    is reported with the error's type, and `all` still prepares the other series."""
    from almeval.preparing import PREPARERS, prepare

    def offline(root, sources):
        raise OSError("We couldn't connect to the hub (offline)")

    monkeypatch.setitem(PREPARERS._targets, "openaudiobench", offline)
    builders = {series: case[0] for series, case in CASES.items() if series != "OpenAudioBench"}
    builders["LibriSpeech"] = fx.librispeech
    sources = {}
    for series, build in builders.items():
        sources.update({f"{series}.{k}": v for k, v in build(tmp_path / "src" / series).items()})
    results, failures = prepare("all", tmp_path / "b", sources)
    assert failures == {
        "OpenAudioBench": "OSError: We couldn't connect to the hub (offline)",
        **{k: v for k, v in failures.items() if k == "LibriSpeech"},
    }
    assert "VoiceBench" not in failures and results["mmsu"]["items"] == 2
