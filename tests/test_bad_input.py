"""Every bad-input case gives one clear error naming file and line, and earlier records stay intact."""

from __future__ import annotations

import json

import pytest
from conftest import asr_rows, cli, raised_within, run, write_manifest, write_wav
from storeview import fetch, one

from almeval.errors import DataError, UnknownNameError
from almeval.store import Store


def _good_then(tmp_path, break_line):
    """A good run is recorded first; then line 3 of the manifest is broken by `break_line`."""
    write_wav(tmp_path / "data" / "a.wav")
    rows = asr_rows(5)
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", rows)
    run(tmp_path, [str(manifest)])
    store = Store(tmp_path / "work" / "almeval.sqlite")
    before = fetch(store, "SELECT * FROM items ORDER BY idx")
    lines = manifest.read_text().splitlines()
    lines[2] = break_line(rows[2], tmp_path)
    manifest.write_text("\n".join(lines) + "\n")
    return manifest, store, before


def _drop(field):
    return lambda row, _: json.dumps({k: v for k, v in row.items() if k != field})


def _audio(name, content):
    def make(row, tmp_path):
        if content is not None:
            (tmp_path / "data" / name).write_bytes(content)
        return json.dumps({**row, "audio_path": name})

    return make


CASES = {
    "broken json": (lambda row, _: json.dumps(row)[:-5], "not valid JSON"),
    "missing field": (_drop("answer"), "missing field(s): answer"),
    "missing audio": (_audio("gone.wav", None), "audio file not found"),
    "empty audio": (_audio("empty.wav", b""), "audio file is empty"),
    "unreadable audio": (_audio("junk.wav", b"definitely not a wav file" * 10), "not readable as audio"),
    "duplicate index": (lambda row, _: json.dumps({**row, "index": "1"}), "duplicate index '1' (first on line 2)"),
    "not an object": (lambda row, _: "[1, 2, 3]", "must be a JSON object"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_file_and_line_and_keeps_records(tmp_path, case):
    breaker, message = CASES[case]
    manifest, store, before = _good_then(tmp_path, breaker)
    with pytest.raises(DataError) as info:
        run(tmp_path, [str(manifest)])
    assert info.value.where == f"{manifest}:3"
    assert message in str(info.value)
    assert fetch(store, "SELECT * FROM items ORDER BY idx") == before
    assert store.check() == []


def test_cli_bad_input_exit_code_and_message(tmp_path):
    manifest, _, _ = _good_then(tmp_path, CASES["missing audio"][0])
    out = cli("eval", "--model", "fake", "--data", str(manifest), "--work-dir", str(tmp_path / "work"), "-q")
    assert out.returncode == 2
    assert f"{manifest}:3" in out.stderr and "audio file not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_data_check_lists_every_problem_at_once(tmp_path):
    write_wav(tmp_path / "data" / "a.wav")
    (tmp_path / "data" / "empty.wav").write_bytes(b"")
    rows = asr_rows(6)
    lines = [json.dumps(r) for r in rows]
    lines[1] = "{not json"
    lines[2] = json.dumps({**rows[2], "audio_path": "missing.wav"})
    lines[3] = json.dumps({**rows[3], "index": "0"})
    lines[4] = json.dumps({**rows[4], "audio_path": "empty.wav"})
    manifest = tmp_path / "data" / "set.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    out = cli("data", "check", str(manifest))
    assert out.returncode == 2
    problems = out.stdout.strip().splitlines()
    assert [p.split(": ")[0] for p in problems] == [f"{manifest}:{n}" for n in (2, 3, 4, 5)]
    assert "2 good item(s), 4 problem(s)" in out.stderr


def test_unknown_dataset_says_did_you_mean(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'demo'"):
        run(tmp_path, ["dmeo"])
    out = cli("eval", "--model", "fake", "--data", "librispeeh", "-q")
    assert out.returncode == 2 and "LibriSpeech" in out.stderr


def test_unknown_model_says_did_you_mean(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'sphinx'"):
        run(tmp_path, ["demo"], model="sphnix")


def test_unprepared_benchmark_named_explicitly_is_an_error(tmp_path):
    with pytest.raises(Exception, match=r"LibriSpeech.*not prepared"):
        run(tmp_path, ["LibriSpeech"])


def test_manifest_without_task_asks_for_meta_task(tmp_path):
    write_wav(tmp_path / "a.wav")
    manifest = write_manifest(
        tmp_path / "x.jsonl", [{"index": 1, "audio_path": "a.wav", "question": "", "answer": "hi", "subset": "s"}]
    )
    with pytest.raises(DataError, match=r"x.jsonl:1.*unknown task ''.*meta.task"):
        run(tmp_path, [str(manifest)])


def test_config_yaml_errors_name_the_file(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("DATASETS: [oops\n")
    out = cli("eval", "--model", "fake", "--data", "demo", "-q", cwd=tmp_path)
    assert out.returncode == 2 and "config.yaml" in out.stderr and "not valid YAML" in out.stderr


def test_a_scoring_error_keeps_the_predictions_already_made(tmp_path):
    pytest.importorskip("lm_eval")
    from almeval.store import Store

    write_wav(tmp_path / "a.wav")
    # an ifeval item without its instruction ids: the ifeval recipe cannot score it
    rows = [
        {
            "index": i,
            "audio_path": "a.wav",
            "question": f"q{i}",
            "answer": "",
            "subset": "ifeval",
            "audio_content": "Say hi.",
            "meta": {"instruction_id_list": ["startend:quotation"], "kwargs": [{}]},
        }
        for i in range(3)
    ]
    rows[2]["meta"] = {}
    manifest = write_manifest(tmp_path / "ifeval.jsonl", rows)
    config = tmp_path / "config.yaml"
    config.write_text(f"DATASETS:\n  datasets:\n    ifeval: {manifest}\n")
    res = cli("eval", "-m", "fake", "-d", "ifeval", "--config", str(config), "-a", "batch_size=4", "-q", cwd=tmp_path)
    said = " ".join(res.stderr.split())
    assert res.returncode == 2 and "instruction_id_list" in said and "item 2" in said and "Traceback" not in said
    store = Store(tmp_path / "almeval-results" / "almeval.sqlite")
    assert one(store, "SELECT count(*) FROM predictions")[0] == 3  # the inference is kept


@pytest.mark.parametrize("value", ["0", "-1", "abc", "2.5"])
def test_a_bad_batch_size_is_refused_before_anything_runs(tmp_path, asr_set, value):
    out = cli("eval", "-m", "fake", "-d", str(asr_set), "-w", str(tmp_path / "w"), "-a", f"batch_size={value}")
    assert out.returncode == 2
    assert f"batch_size must be a whole number of at least 1, got '{value}'" in " ".join(out.stderr.split())
    assert not (tmp_path / "w" / "almeval.sqlite").exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_meta_names_the_line(tmp_path, constant):
    manifest, store, before = _good_then(
        tmp_path, lambda row, _: json.dumps(row).replace('"lang": "en"}', f'"lang": "en", "weight": {constant}}}')
    )
    with pytest.raises(DataError, match=rf"set\.jsonl:3: {constant} is not a number JSON allows"):
        run(tmp_path, [str(manifest)])
    assert fetch(store, "SELECT * FROM items ORDER BY idx") == before


def test_deeply_nested_json_is_a_data_error_not_a_crash(tmp_path):
    manifest, _, _ = _good_then(
        tmp_path, lambda row, _: json.dumps(row)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    with pytest.raises(DataError, match=r"set\.jsonl:3: JSON nested too deeply"):
        run(tmp_path, [str(manifest)])


def test_a_dying_background_task_ends_the_run_with_its_cause_not_a_hang(tmp_path, asr_set, monkeypatch):
    """The recorder fails on its second batch (a full disk): the run stops with exit-4 StoreError, and the
    first batch stays recorded."""
    from functools import partial

    import almeval.scheduler as scheduler
    from almeval.errors import StoreError

    real, seen = scheduler.record, []

    async def failing(ctx, batch):
        seen.append(len(batch))
        if len(seen) == 2:
            raise OSError(28, "No space left on device")
        await real(ctx, batch)

    monkeypatch.setattr(scheduler, "record", failing)
    call = partial(run, tmp_path, [str(asr_set)], model_args={"batch_size": "4"})
    error = raised_within(60, call, "the run hung after its recorder died")
    assert isinstance(error, StoreError) and "No space left on device" in str(error)
    store = Store(tmp_path / "work" / "almeval.sqlite")
    assert one(store, "SELECT count(*) FROM items")[0] == 4


def test_more_bad_input_is_exit_2_with_the_place_and_the_fix(tmp_path, asr_set):
    work = tmp_path / "w"
    as_file = tmp_path / "afile"
    as_file.write_text("not a folder")
    out = cli("eval", "-m", "fake", "-d", str(asr_set), "-w", str(as_file))
    assert out.returncode == 2 and "is a file, not a folder" in " ".join(out.stderr.split())

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    out = cli("eval", "-m", "fake", "-d", str(empty), "-w", str(work))
    assert out.returncode == 2 and "empty.jsonl: the manifest has no items" in " ".join(out.stderr.split())

    twin = write_manifest(tmp_path / "other" / "set.jsonl", asr_rows(2))
    write_wav(tmp_path / "other" / "a.wav")
    out = cli("eval", "-m", "fake", "-d", str(asr_set), "-d", str(twin), "-w", str(work))
    assert out.returncode == 2 and "two manifests are both named 'set'" in " ".join(out.stderr.split())

    config = tmp_path / "config.yaml"
    config.write_text("DATASET:\n  dataset_root: .\n")
    out = cli("eval", "-m", "fake", "-d", str(asr_set), "-w", str(work), "-c", str(config))
    assert out.returncode == 2 and "Did you mean 'DATASETS'" in " ".join(out.stderr.split())
    config.write_text("JUDGE:\n  modle: gpt-4o-mini\n")
    out = cli("eval", "-m", "fake", "-d", str(asr_set), "-w", str(work), "-c", str(config))
    assert out.returncode == 2 and "Did you mean 'model'" in " ".join(out.stderr.split())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DATASETS:\n  datasets:\n    mine: {path: x.jsonl, tsk: ASR}\n", "key of DATASETS.datasets.mine"),
        ("PROMPTS:\n  mine: {usr: Transcribe.}\n", "Did you mean 'user'"),
        ("JUDGE:\n  prices:\n    my-judge: [0.15]\n", "JUDGE.prices.my-judge: List should have at least 2 items"),
        ("JUDGE:\n  structured: maybe\n", "JUDGE.structured: Input should be a valid boolean"),
        ("DATASETS: [a, b]\n", "DATASETS: Input should be a valid dictionary"),
    ],
)
def test_config_yaml_is_checked_by_one_schema_that_names_the_key_path(tmp_path, asr_set, text, message):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    out = cli("eval", "-m", "fake", "-d", str(asr_set), "-w", str(tmp_path / "w"), "-c", str(config))
    assert out.returncode == 2 and message in out.stderr and str(config) in out.stderr
    assert not (tmp_path / "w").exists()  # refused before anything is written


def test_a_truncated_wav_is_refused_with_its_manifest_line(tmp_path):
    """libsndfile reads a WAV cut off mid-copy as a shorter file; its header still declares the full
    length, and that is how the cut is caught (before any inference)."""
    wav = write_wav(tmp_path / "data" / "a.wav", seconds=1.0)
    data = wav.read_bytes()
    wav.write_bytes(data[: len(data) // 2])
    rows = [{"index": 0, "audio_path": "a.wav", "question": "q", "answer": "x", "subset": "s", "meta": {"task": "ASR"}}]
    manifest = write_manifest(tmp_path / "data" / "set.jsonl", rows)
    res = cli("eval", "-m", "fake", "-d", str(manifest), "-q", cwd=tmp_path)
    assert res.returncode == 2
    assert "set.jsonl:1: audio file is truncated" in res.stderr and "copy the file again" in res.stderr
