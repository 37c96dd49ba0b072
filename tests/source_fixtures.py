"""Tiny copies of each benchmark's public source in its real format (archive layout, metadata files,
Hugging Face datasets written with `save_to_disk`), built from the demo's real speech. Each builder
returns the `--source` mapping for its preparer."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

DEMO = Path(__file__).resolve().parent.parent / "almeval" / "data" / "demo" / "audio"


def wav(i: int) -> bytes:
    """Demo utterance i as WAV bytes (16 kHz, real speech)."""
    return (DEMO / f"en_{i:02d}.wav").read_bytes()


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _save(folder: Path, splits: dict[str, dict[str, list]]) -> None:
    """A DatasetDict (audio as the Hub stores it: bytes + original path) written with save_to_disk."""
    import datasets

    dd = datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(cols).cast_column("audio", datasets.Audio()) for name, cols in splits.items()}
    )
    dd.save_to_disk(str(folder))


def _audio(i: int, name: str) -> dict[str, object]:
    return {"bytes": wav(i), "path": name}


def librispeech(tmp: Path) -> dict[str, str]:
    """OpenSLR 12's layout: LibriSpeech/<split>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac + .trans.txt, three
    demo utterances per split and one transcript line without audio."""
    rows = [json.loads(line) for line in (DEMO.parent / "demo.jsonl").read_text().splitlines()][:3]
    out = {}
    for split, speaker in (("test-clean", "1089"), ("test-other", "1688")):
        files, lines = {}, []
        for i, r in enumerate(rows):
            utt = f"{speaker}-134686-{i:04d}"
            audio, sr = sf.read(DEMO.parent / r["audio_path"])
            buf = io.BytesIO()
            sf.write(buf, audio, sr, format="FLAC")
            files[f"LibriSpeech/{split}/{speaker}/134686/{utt}.flac"] = buf.getvalue()
            lines.append(f"{utt} {r['answer'].upper()}")
        lines.append(f"{speaker}-134686-0099 THIS LINE HAS NO AUDIO")
        files[f"LibriSpeech/{split}/{speaker}/134686/{speaker}-134686.trans.txt"] = ("\n".join(lines) + "\n").encode()
        out[split] = str(_tar(tmp / f"{split}.tar.gz", files))
    return out


def voicebench(tmp: Path) -> dict[str, str]:
    src = tmp / "voicebench"
    spoken = {"alpacaeval_full": 2, "commoneval": 1, "advbench": 1, "wildvoice": 1}
    for k, (config, n) in enumerate(spoken.items()):
        _save(
            src / config,
            {
                "test": {
                    "audio": [_audio(k + j, f"{j}.wav") for j in range(n)],
                    "prompt": [f"{config} question {j}" for j in range(n)],
                }
            },
        )
    _save(
        src / "ifeval",
        {
            "test": {
                "audio": [_audio(3, "0.wav"), _audio(4, "1.wav")],
                "prompt": ["Write two paragraphs about rain.", "Answer in all capital letters: what is snow?"],
                "key": [1001, 1002],
                "instruction_id_list": [["length_constraints:number_paragraphs"], ["change_case:english_capital"]],
                "kwargs": [[{"num_paragraphs": 2}], [{}]],
            }
        },
    )
    _save(
        src / "openbookqa",
        {
            "test": {
                "audio": [_audio(5, "0.wav"), _audio(6, "1.wav")],
                "prompt": ["Q0 A. x B. y", "Q1 A. x B. y"],
                "reference": ["A", "B"],
            }
        },
    )
    _save(
        src / "mmsu",
        {
            d: {"audio": [_audio(7 + i, "0.wav")], "prompt": [f"{d} q"], "reference": ["C"]}
            for i, d in enumerate(("law", "biology"))
        },
    )
    _save(
        src / "sd-qa",
        {
            "usa": {
                "audio": [_audio(9, "0.wav"), _audio(10, "1.wav")],
                "prompt": ["who?", "when?"],
                "reference": ["Ada", "1843"],
            },
            "aus": {"audio": [_audio(11, "0.wav")], "prompt": ["who?"], "reference": ["Ada"]},
        },
    )
    _save(
        src / "bbh",
        {
            "test": {
                "audio": [_audio(12, "0.wav"), _audio(13, "1.wav")],
                "prompt": ["Is the sentence plausible?", "Which order is right?"],
                "reference": ["yes", "(B)"],
                "id": ["sports_understanding_0", "hyperbaton_3"],
            }
        },
    )
    return {"voicebench": str(src)}


def fleurs(tmp: Path) -> dict[str, str]:
    src = tmp / "fleurs"
    for config, text in (("cmn_hans_cn", "今天天气很好"), ("en_us", "the weather is nice today")):
        _save(
            src / config,
            {
                "test": {
                    "id": [7, 7],
                    "audio": [_audio(0, "a.wav"), _audio(1, "b.wav")],
                    "transcription": [text, text],
                    "raw_transcription": [text + "!", text + "."],
                    "gender": [0, 1],
                }
            },
        )
    return {"fleurs": str(src)}


def wenetspeech(tmp: Path) -> dict[str, str]:
    out = {}
    for k, subset in enumerate(("test_net", "test_meeting")):
        folder = tmp / "wenet" / subset
        _save(
            folder,
            {
                "test": {
                    "segment_id": [f"{subset}_S0", f"{subset}_S1"],
                    "text": ["你好世界", ""],
                    "audio": [_audio(k, "0.wav"), _audio(k + 1, "1.wav")],
                }
            },
        )
        out[subset] = str(folder)
    return out


def openaudiobench(tmp: Path) -> dict[str, str]:
    repo = tmp / "OpenAudioBench"
    columns = {
        "alpaca_eval": ("instruction", "output"),
        "llama_questions": ("Questions", "Answer"),
        "reasoning_qa": ("Prompt", "参考答案"),
        "trivia_qa": ("question", "answer_normalized_aliases"),
        "web_questions": ("question", "answers"),
    }
    for k, (subset, (q, a)) in enumerate(columns.items()):
        folder = repo / "eval_datas" / subset
        (folder / "audios").mkdir(parents=True)
        (folder / "audios" / f"{subset}_0.wav").write_bytes(wav(k))
        rows = [{"audio_filename": f"{subset}_0.wav", q: f"{subset} question", a: f"{subset} answer"}]
        if subset == "trivia_qa":
            rows.append({"audio_filename": "gone.wav", q: "lost", a: "lost"})
        (folder / f"{subset}.csv").write_bytes(_csv(rows))
    return {"openaudiobench": str(repo)}


def aishell1(tmp: Path) -> dict[str, str]:
    def speaker(split: str, spk: str, utts: list[str]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for j, utt in enumerate(utts):
                data = wav(j)
                info = tarfile.TarInfo(f"wav/{split}/{spk}/{utt}.wav")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    transcript = (
        "BAC009S0764W0121 甚至 出现 交易 几乎 停滞 的 情况\nBAC009S0002W0122 而 对 楼市 成交 抑制 作用 最 大 的 限 购\n"
    )
    files = {
        "data_aishell/wav/S0002.tar.gz": speaker("train", "S0002", ["BAC009S0002W0122"]),
        "data_aishell/wav/S0764.tar.gz": speaker("test", "S0764", ["BAC009S0764W0121", "BAC009S0764W0122"]),
        "data_aishell/transcript/aishell_transcript_v0.8.txt": transcript.encode("utf-8"),
    }
    return {"data_aishell": str(_tar(tmp / "data_aishell.tgz", files))}


def aishell2(tmp: Path) -> dict[str, str]:
    files = {
        "test/wav.scp": b"IT0011W0001\twav/T0011/IT0011W0001.wav\n\nIT0011W0002\twav/T0011/IT0011W0002.wav\n"
        b"IT0011W0003\twav/T0011/IT0011W0003.wav\n",
        "test/trans.txt": "IT0011W0001\t换一首歌\nIT0011W0002\t打开空调\n".encode(),
        "test/wav/T0011/IT0011W0001.wav": wav(0),
        "test/wav/T0011/IT0011W0002.wav": wav(1),
    }
    return {"ios_test": str(_tar(tmp / "test.tar.gz", files))}


def mmau(tmp: Path) -> dict[str, str]:
    items = [
        {
            "id": "m1",
            "audio_id": "./test-mini-audios/m1.wav",
            "question": "Who speaks?",
            "choices": ["Man", "Woman"],
            "answer": "Woman",
            "dataset": "x",
            "task": "speech",
            "split": "test-mini",
            "category": "c",
            "sub-category": "s",
            "difficulty": "easy",
        },
        {
            "id": "m2",
            "audio_id": "./test-mini-audios/m2.wav",
            "question": "Which instrument?",
            "choices": ["Piano", "Drums", "Flute"],
            "answer": "Piano",
            "dataset": "y",
            "task": "music",
            "split": "test-mini",
            "category": "c",
            "sub-category": "s",
            "difficulty": "hard",
        },
        {
            "id": "m3",
            "audio_id": "./test-mini-audios/m3.wav",
            "question": "Missing audio?",
            "choices": ["a", "b"],
            "answer": "a",
            "dataset": "z",
            "task": "sound",
            "split": "test-mini",
            "category": "c",
            "sub-category": "s",
            "difficulty": "easy",
        },
    ]
    audio = _tar(
        tmp / "test-mini-audios.tar.gz", {"test-mini-audios/m1.wav": wav(0), "test-mini-audios/m2.wav": wav(1)}
    )
    meta = tmp / "mmau-test-mini.json"
    meta.write_text(json.dumps(items))
    return {"audio": str(audio), "meta": str(meta)}


def clothoaqa(tmp: Path) -> dict[str, str]:
    audio = _zip(tmp / "audio_files.zip", {"audio_files/rain.wav": wav(0), "audio_files/dog.wav": wav(1)})
    val = tmp / "clotho_aqa_val_clean.csv"
    val.write_bytes(
        _csv([{"file_name": "rain.wav", "QuestionText": "is it raining", "answer": "yes", "confidence": "yes"}])
    )
    test = tmp / "clotho_aqa_test_clean.csv"
    test.write_bytes(
        _csv(
            [
                {"file_name": "dog.wav", "QuestionText": "what animal", "answer": "dog", "confidence": "yes"},
                {"file_name": "cat.wav", "QuestionText": "what animal", "answer": "cat", "confidence": "no"},
            ]
        )
    )
    return {"audio": str(audio), "val": str(val), "test": str(test)}


def mp4(seconds: float, freq: float = 440.0, rate: int = 16000) -> bytes:
    """An MP4 with one AAC audio track (a tone), like MELD's clips (video left out)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        t = np.arange(int(seconds * rate)) / rate
        pcm = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
        for start in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def meld(tmp: Path) -> dict[str, str]:
    clips = {
        "output_repeated_splits_test/dia0_utt0.mp4": mp4(1.0),
        "output_repeated_splits_test/dia0_utt1.mp4": mp4(31.0),
    }
    test_tar = io.BytesIO(_tar(tmp / "inner.tar.gz", clips).read_bytes())
    header = {
        "Sr No.": "",
        "Utterance": "",
        "Speaker": "",
        "Emotion": "",
        "Sentiment": "",
        "Dialogue_ID": "",
        "Utterance_ID": "",
        "Season": "3",
        "Episode": "19",
        "StartTime": "",
        "EndTime": "",
    }
    rows = [
        {
            **header,
            "Sr No.": "1",
            "Utterance": "Oh my God!",
            "Speaker": "Monica",
            "Emotion": "surprise",
            "Sentiment": "positive",
            "Dialogue_ID": "0",
            "Utterance_ID": "0",
        },
        {
            **header,
            "Sr No.": "2",
            "Utterance": "A long story.",
            "Speaker": "Ross",
            "Emotion": "neutral",
            "Sentiment": "neutral",
            "Dialogue_ID": "0",
            "Utterance_ID": "1",
        },
        {
            **header,
            "Sr No.": "3",
            "Utterance": "No clip.",
            "Speaker": "Joey",
            "Emotion": "joy",
            "Sentiment": "positive",
            "Dialogue_ID": "1",
            "Utterance_ID": "0",
        },
    ]
    raw = {"MELD.Raw/test.tar.gz": test_tar.getvalue(), "MELD.Raw/test_sent_emo.csv": _csv(rows)}
    return {"raw": str(_tar(tmp / "MELD.Raw.tar.gz", raw))}


def nonspeech7k(tmp: Path) -> dict[str, str]:
    audio = _zip(tmp / "test.zip", {"test/101.wav": wav(0), "test/102.wav": wav(1)})
    meta = tmp / "metadata of test set.csv"
    meta.write_bytes(
        _csv(
            [
                {"Filename": "101.wav", "Classname": "Cough", "Source": "https://freesound.org/"},
                {"Filename": "102.wav", "Classname": "Yawn", "Source": "https://freesound.org/"},
                {"Filename": "103.wav", "Classname": "Cry", "Source": "https://freesound.org/"},
            ]
        )
    )
    return {"audio": str(audio), "meta": str(meta)}


def tut2017(tmp: Path) -> dict[str, str]:
    stem = "TUT-acoustic-scenes-2017-evaluation"
    out = {
        f"audio{p}": str(_zip(tmp / f"{stem}.audio.{p}.zip", {f"{stem}/audio/{p}.wav": wav(p)})) for p in range(1, 5)
    }
    meta = "".join(f"audio/{p}.wav\t{scene}\n" for p, scene in enumerate(["beach", "bus", "home", "tram", "park"], 1))
    out["meta"] = str(_zip(tmp / f"{stem}.meta.zip", {f"{stem}/meta.txt": meta.encode()}))
    return out


def vocalsound(tmp: Path) -> dict[str, str]:
    audio = _zip(
        tmp / "vs_release_16k.zip", {"audio_16k/f0003_0_cough.wav": wav(0), "audio_16k/m0101_1_sigh.wav": wav(1)}
    )
    repo = tmp / "vocalsound"
    (repo / "datafiles").mkdir(parents=True)
    data = [
        {"wav": "/data/sls/scratch/vocalsound/audio_16k/f0003_0_cough.wav", "labels": "/m/01b_21"},
        {"wav": "/data/sls/scratch/vocalsound/audio_16k/m0101_1_sigh.wav", "labels": "/m/07plz5l"},
        {"wav": "/data/sls/scratch/vocalsound/audio_16k/m0200_0_laughter.wav", "labels": "/m/01j3sz"},
    ]
    (repo / "datafiles" / "te.json").write_text(json.dumps({"data": data}))
    return {"audio": str(audio), "meta": str(repo)}


def cochlscene(tmp: Path) -> dict[str, str]:
    files = {
        "CochlScene/Train/Bus/Bus_train_001.wav": wav(0),
        "CochlScene/Test/Bus/Bus_test_001.wav": wav(1),
        "CochlScene/Test/CrowdedIndoor/CrowdedIndoor_test_001.wav": wav(2),
        "CochlScene/Val/Park/Park_val_001.wav": wav(3),
    }
    return {"cochlscene": str(_zip(tmp / "CochlScene-merged.zip", files))}
