"""AISHELL-1 test (OpenSLR 33 `data_aishell.tgz`: one tarball per speaker under data_aishell/wav/, the
test speakers' holding wav/test/<spk>/<utt>.wav, and data_aishell/transcript/aishell_transcript_v0.8.txt)
and AISHELL-2 iOS test (its `wav.scp` + `trans.txt` layout). Chinese answers are the transcripts with
the word-segmentation spaces removed. AISHELL-1's 15 GB tarball is read once, as a stream: test
speakers are recognised by their members' wav/test/ prefix, not by a hard-coded list."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from almeval.errors import DataError

from .common import (
    Collected,
    find_one,
    local_file,
    materialize,
    place,
    required_source,
    row,
    series_dir,
    source_of,
    write,
)

AISHELL1_URL = "https://www.openslr.org/resources/33/data_aishell.tgz"
QUESTION = "请把这段语音转录成文本。"


def prepare_aishell1(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    base = series_dir(root, "AISHELL-1")
    source = source_of(sources, "data_aishell", AISHELL1_URL)
    wavs: dict[str, Path] = {}
    transcripts: dict[str, str] = {}
    for name, fh in _outer_members(source, base):
        if name.endswith("aishell_transcript_v0.8.txt"):
            transcripts = _transcripts(fh.read().decode("utf-8"))
        elif name.endswith(".tar.gz"):
            _test_speaker(fh, base, wavs)
    out = Collected("AISHELL-1")
    for utt, path in sorted(wavs.items()):
        if utt not in transcripts:
            out.skip(utt, "no transcript for this utterance in aishell_transcript_v0.8.txt")
            continue
        out.rows.append(row(base, path, utt, question=QUESTION, answer=transcripts[utt], subset="aishell1_test"))
    return write(base, [out])


def _outer_members(source: str, base: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """(name, file) for each speaker tarball and the transcript, from the tgz as a stream or a folder."""
    folder = local_file(source, base, "data_aishell")
    if folder.is_dir():
        for p in sorted(folder.rglob("*")):
            if p.name.endswith((".tar.gz", "aishell_transcript_v0.8.txt")):
                with p.open("rb") as local:
                    yield p.as_posix(), local
        return
    try:
        with tarfile.open(folder, mode="r|gz") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith((".tar.gz", "aishell_transcript_v0.8.txt")):
                    inner = tar.extractfile(member)
                    if inner is not None:
                        yield member.name, inner
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(str(folder), f"not a readable tarball ({exc})", "download it again") from None


def _test_speaker(fh: IO[bytes], base: Path, wavs: dict[str, Path]) -> None:
    with tarfile.open(fileobj=fh, mode="r|gz") as inner:
        for member in inner:
            if not (member.isfile() and member.name.endswith(".wav")):
                continue
            parts = Path(member.name).parts
            if "test" not in parts:
                return  # a train/dev speaker: its tarball holds no test audio
            dest = base / "test" / parts[-2] / parts[-1]
            if not (dest.is_file() and dest.stat().st_size == member.size):
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(inner.extractfile(member).read())  # type: ignore[union-attr]
            wavs[dest.stem] = dest


def _transcripts(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        utt, _, words = line.strip().partition(" ")
        if utt and words.strip():
            out[utt] = "".join(words.split())
    return out


def prepare_aishell2(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    base = series_dir(root, "AISHELL-2")
    how = (
        "AISHELL-2 is distributed on request (aishelltech.com), not by URL: pass --source ios_test=PATH "
        "(the iOS test.tar.gz from the TEST&DEV DATA archive, or its folder)"
    )
    source = required_source(sources, "ios_test", how)
    folder = materialize(source, base, "ios_test")
    scp = find_one(folder, "wav.scp", "wav.scp")
    trans = _transcripts(find_one(scp.parent, "trans.txt", "trans.txt").read_text(encoding="utf-8").replace("\t", " "))
    out = Collected("AISHELL-2")
    for lineno, line in enumerate(scp.read_text(encoding="utf-8").splitlines(), 1):
        utt, _, rel = line.strip().partition("\t") if "\t" in line else line.strip().partition(" ")
        if not utt:
            continue  # blank lines are not items (Kimi-Audio-Evalkit re-appended the previous one)
        audio = scp.parent / rel.strip()
        if not audio.is_file():
            out.skip(f"{scp}:{lineno}", f"audio {rel.strip()!r} missing")
        elif utt not in trans:
            out.skip(f"{scp}:{lineno}", "no transcript in trans.txt")
        else:
            kept = place(audio, base, f"ios_test/{rel.strip()}")
            out.rows.append(row(base, kept, utt, question=QUESTION, answer=trans[utt], subset="aishell2_test"))
    return write(base, [out])
