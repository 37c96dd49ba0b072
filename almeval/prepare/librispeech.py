"""LibriSpeech test-clean / test-other from OpenSLR 12 (the official tarballs and their layout:
LibriSpeech/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac plus <speaker>-<chapter>.trans.txt).

Writes <root>/LibriSpeech/LibriSpeech.jsonl with subsets test_clean and test_other, audio under
<root>/LibriSpeech/<split>/…, answers as the official upper-case transcripts, and each file's sha256
and duration in meta. `sources` maps a split to a local tarball or a URL (streamed, resumable)."""

from __future__ import annotations

import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import DataError

from .common import Collected, local_file, row, series_dir, source_of, write

URLS = {
    "test-clean": "https://www.openslr.org/resources/12/test-clean.tar.gz",
    "test-other": "https://www.openslr.org/resources/12/test-other.tar.gz",
}
QUESTION = "Please transcribe the spoken content into written text."


def prepare(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    out_dir = series_dir(root, "LibriSpeech")
    out = Collected("LibriSpeech")
    for split, url in URLS.items():
        source = source_of(sources, split, url)
        tarball = local_file(source, out_dir, split)
        _extract(tarball, out_dir, split, out)
    return write(out_dir, [out])


def _extract(tarball: Path, out_dir: Path, split: str, out: Collected) -> None:
    try:
        tar = tarfile.open(tarball)  # noqa: SIM115 - entered below, after the error mapping
    except tarfile.TarError as exc:
        raise DataError(str(tarball), f"not a readable tarball ({exc})", "download it again") from None
    with tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        transcripts = _transcripts(tar, [m for n, m in members.items() if n.endswith(".trans.txt")])
        for utt, text in sorted(transcripts.items()):
            spk, chap, _ = utt.split("-")
            name = f"LibriSpeech/{split}/{spk}/{chap}/{utt}.flac"
            if name not in members:
                out.skip(f"{split}/{utt}", "audio missing from the tarball")
                continue
            dest = out_dir / split / spk / chap / f"{utt}.flac"
            if not (dest.is_file() and dest.stat().st_size == members[name].size):  # resumable
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(members[name]).read())  # type: ignore[union-attr]
            out.rows.append(row(out_dir, dest, utt, question=QUESTION, answer=text, subset=split.replace("-", "_")))


def _transcripts(tar: tarfile.TarFile, files: list[tarfile.TarInfo]) -> dict[str, str]:
    out = {}
    for member in files:
        for line in tar.extractfile(member).read().decode("utf-8").splitlines():  # type: ignore[union-attr]
            utt, _, text = line.strip().partition(" ")
            if utt:
                out[utt] = text
    return out
