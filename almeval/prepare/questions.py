"""Question sets that come as a metadata table beside an audio archive: MMAU test-mini (multiple
choice, answer = the correct option's text, subset = MMAU's task), ClothoAQA (val, test: free-form
answers), MELD test (emotion of each utterance, audio decoded from the clips' MP4 with PyAV)."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import DataError, MissingExtraError

from .common import (
    Collected,
    find_one,
    index_files,
    materialize,
    options_question,
    place,
    required_source,
    row,
    series_dir,
    source_file,
    source_of,
    write,
)

MMAU_META = "https://raw.githubusercontent.com/Sakshi113/MMAU/main/mmau-test-mini.json"
CLOTHO_AUDIO = "https://zenodo.org/records/6473207/files/audio_files.zip?download=1"
MELD_RAW = "https://web.eecs.umich.edu/~mihalcea/downloads/MELD.Raw.tar.gz"
MELD_EMOTIONS = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")
MELD_MAX_S = 30.0  # longer clips are skipped (and listed), as Kimi-Audio-Evalkit does
RATE = 16000


def prepare_mmau(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """test-mini-audios.tar.gz (Google Drive link in MMAU's README) + mmau-test-mini.json (GitHub)."""
    base = series_dir(root, "MMAU")
    how = "pass --source audio=test-mini-audios.tar.gz (the Google Drive link in github.com/Sakshi113/MMAU)"
    audio = index_files(materialize(required_source(sources, "audio", how), base, "audio"))
    table = source_file(source_of(sources, "meta", MMAU_META), base, "meta", "mmau-test-mini.json", "MMAU json")
    out = Collected("mmau-test-mini")
    for i, item in enumerate(json.loads(table.read_text(encoding="utf-8"))):
        name = Path(item.get("audio_id", "")).name
        if name not in audio:
            out.skip(f"{table}[{i}]", f"audio {name!r} missing from the archive")
            continue
        if item.get("answer") not in item.get("choices", []):
            out.skip(f"{table}[{i}]", "answer is not one of the choices")
            continue
        kept = place(audio[name], base, f"test-mini-audios/{name}")
        meta = {k: item.get(k) for k in ("choices", "dataset", "difficulty", "category", "sub-category")}
        question = options_question(item["question"], item["choices"])
        out.rows.append(
            row(base, kept, item["id"], question=question, answer=item["answer"], subset=item["task"], meta=meta)
        )
    return write(base, [out])


def prepare_clothoaqa(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Zenodo 6473207 audio_files.zip + clotho_aqa_{val,test}_clean.csv (file_name, QuestionText, answer)."""
    base = series_dir(root, "ClothoAQA")
    audio = index_files(materialize(source_of(sources, "audio", CLOTHO_AUDIO), base, "audio"))
    out = Collected("ClothoAQA")
    for subset in ("val", "test"):
        how = f"pass --source {subset}=clotho_aqa_{subset}_clean.csv (from github.com/GeWu-Lab/MWAFM)"
        table = source_file(required_source(sources, subset, how), base, subset, f"*{subset}*.csv", f"{subset} CSV")
        with table.open(encoding="utf-8-sig", newline="") as fh:
            for i, line in enumerate(csv.DictReader(fh)):
                name = line.get("file_name") or ""
                if name not in audio:
                    out.skip(f"{table}:{i + 2}", f"audio {name!r} missing from the archive")
                    continue
                kept = place(audio[name], base, f"audio/{name}")
                q, a = line.get("QuestionText", ""), line.get("answer", "")
                out.rows.append(row(base, kept, f"{subset}-{i}", question=q, answer=a, subset=subset))
    return write(base, [out])


def prepare_meld(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """MELD.Raw.tar.gz: test.tar.gz (output_repeated_splits_test/dia<D>_utt<U>.mp4) + test_sent_emo.csv."""
    base = series_dir(root, "MELD")
    raw = materialize(source_of(sources, "raw", MELD_RAW), base, "raw")
    inner = sorted(raw.rglob("test.tar.gz"))
    clips = index_files(materialize(str(inner[0]), base, "test") if inner else raw, (".mp4",))
    table = find_one(raw, "test_sent_emo.csv", "test_sent_emo.csv")
    question = options_question(
        "What emotion does the speaker express? Answer with the option's letter.", MELD_EMOTIONS
    )
    out = Collected("MELD")
    with table.open(encoding="utf-8-sig", newline="") as fh:
        for i, line in enumerate(csv.DictReader(fh)):
            uid = f"dia{line['Dialogue_ID']}_utt{line['Utterance_ID']}"
            where = f"{table}:{i + 2}"
            if f"{uid}.mp4" not in clips:
                out.skip(where, "clip missing from the archive")
                continue
            wav = base / "test" / f"{uid}.wav"
            try:
                seconds = mp4_to_wav(clips[f"{uid}.mp4"], wav)
            except DataError as exc:
                out.skip(where, str(exc))
                continue
            if seconds > MELD_MAX_S:
                out.skip(where, f"clip is {seconds:.1f} s, over {MELD_MAX_S:.0f} s")
                continue
            meta = {"utterance": line.get("Utterance", ""), "speaker": line.get("Speaker", "")}
            out.rows.append(row(base, wav, uid, question=question, answer=line["Emotion"], subset="emotion", meta=meta))
    return write(base, [out])


def mp4_to_wav(clip: Path, wav: Path) -> float:
    """The clip's audio as 16 kHz mono 16-bit WAV (PyAV decodes and resamples); its duration in seconds."""
    import numpy as np
    import soundfile

    if wav.is_file():
        return float(soundfile.info(wav).duration)
    try:
        import av
    except ImportError:
        raise MissingExtraError("preparing MELD", "pip install 'almeval[prepare]'") from None
    chunks = []
    try:
        with av.open(str(clip)) as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            for frame in container.decode(audio=0):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise DataError(str(clip), f"cannot decode its audio ({exc})", "") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    if not samples.size:
        raise DataError(str(clip), "the clip has no audio", "")
    wav.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(wav, samples, RATE, subtype="PCM_16")
    return samples.size / RATE
