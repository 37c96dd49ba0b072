"""Sound and scene classification sets, each a fixed lettered question over its label set, the answer
the label text as the source writes it (what Kimi-Audio-Evalkit's judge compares against):
VocalSound, Nonspeech7k, TUT2017 (evaluation set), CochlScene (Test, Val). Archives are local files,
folders or URLs; each is extracted once under <root>/<SERIES>/_extracted/."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from almeval.errors import DataError

from .common import (
    Collected,
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

ZENODO = "https://zenodo.org/records/{record}/files/{name}?download=1"
VOCALSOUND_LABELS = {  # AudioSet ids of VocalSound's six classes (its class_labels_indices_vs.csv)
    "/m/01j3sz": "Laughter",
    "/m/07plz5l": "Sigh",
    "/m/01b_21": "Cough",
    "/m/0dl9sf8": "Throat clearing",
    "/m/01hsr_": "Sneeze",
    "/m/07ppn3j": "Sniff",
}
NONSPEECH_LABELS = ("Breath", "Cough", "Cry", "Laugh", "Scream", "Sneeze", "Yawn")
TUT_LABELS = (
    "beach",
    "bus",
    "cafe/restaurant",
    "car",
    "city_center",
    "forest_path",
    "grocery_store",
    "home",
    "library",
    "metro_station",
    "office",
    "park",
    "residential_area",
    "train",
    "tram",
)
COCHL_LABELS = (
    "Bus",
    "Cafe",
    "Car",
    "CrowdedIndoor",
    "Elevator",
    "Kitchen",
    "Park",
    "ResidentialArea",
    "Restaurant",
    "Restroom",
    "Street",
    "Subway",
    "SubwayStation",
)
ASK = "Listen to the audio and choose the {what} it contains. Answer with the option's letter."


def prepare_vocalsound(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """vs_release_16k.zip (audio) + the repo's datafiles/te.json ({"data": [{"wav", "labels"}]})."""
    base = series_dir(root, "VocalSound")
    how = "pass --source audio=vs_release_16k.zip (Dropbox link in github.com/YuanGongND/vocalsound)"
    audio = index_files(materialize(required_source(sources, "audio", how), base, "audio"))
    te = required_source(sources, "meta", "pass --source meta=PATH to the vocalsound repo (or its datafiles/te.json)")
    te_path = source_file(te, base, "meta", "te.json", "test split list")
    question = options_question(ASK.format(what="vocal sound"), VOCALSOUND_LABELS.values())
    out = Collected("VocalSound")
    for i, item in enumerate(json.loads(te_path.read_text(encoding="utf-8"))["data"]):
        name = Path(item["wav"]).name
        label = VOCALSOUND_LABELS.get(item.get("labels", ""))
        if name not in audio or label is None:
            out.skip(f"{te_path}[{i}]", "audio file missing" if label else f"unknown label {item.get('labels')!r}")
            continue
        kept = place(audio[name], base, f"audio/{name}")
        out.rows.append(
            row(base, kept, Path(name).stem, question=question, answer=label, subset="voice_classification")
        )
    return write(base, [out])


def prepare_nonspeech7k(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Zenodo 6967442: test.zip + "metadata of test set.csv" (Filename, Classname, …)."""
    base = series_dir(root, "Nonspeech7k")
    audio_src = source_of(sources, "audio", ZENODO.format(record=6967442, name="test.zip"))
    audio = index_files(materialize(audio_src, base, "audio"))
    meta_src = source_of(sources, "meta", ZENODO.format(record=6967442, name="metadata%20of%20test%20set.csv"))
    table = source_file(meta_src, base, "meta", "*test*.csv", "metadata CSV of the test set")
    question = options_question(ASK.format(what="sound"), NONSPEECH_LABELS)
    out = Collected("Nonspeech7k")
    with table.open(encoding="utf-8-sig", newline="") as fh:
        for i, line in enumerate(csv.DictReader(fh)):
            name, label = line.get("Filename") or "", (line.get("Classname") or "").strip()
            if name not in audio or not label:
                out.skip(f"{table}:{i + 2}", "audio file missing" if label else "no class name")
                continue
            kept = place(audio[name], base, f"audio/{name}")
            out.rows.append(row(base, kept, Path(name).stem, question=question, answer=label, subset="test"))
    return write(base, [out])


def prepare_tut2017(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Zenodo 1040168: TUT-acoustic-scenes-2017-evaluation.audio.{1..4}.zip + .meta.zip (meta.txt:
    `audio/<n>.wav<TAB><scene>`)."""
    base = series_dir(root, "TUT2017")
    stem = "TUT-acoustic-scenes-2017-evaluation"
    audio: dict[str, Path] = {}
    for part in range(1, 5):
        part_src = source_of(sources, f"audio{part}", ZENODO.format(record=1040168, name=f"{stem}.audio.{part}.zip"))
        audio.update(index_files(materialize(part_src, base, f"audio{part}")))
    meta_src = source_of(sources, "meta", ZENODO.format(record=1040168, name=f"{stem}.meta.zip"))
    meta = source_file(meta_src, base, "meta", "meta.txt", "meta.txt")
    question = options_question(ASK.format(what="acoustic scene"), TUT_LABELS)
    out = Collected("TUT2017")
    for lineno, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.strip().split("\t")
        if len(fields) < 2:
            continue
        name = Path(fields[0]).name
        if name not in audio:
            out.skip(f"{meta}:{lineno}", "audio file missing (is every audio part given?)")
            continue
        kept = place(audio[name], base, f"audio/{name}")
        out.rows.append(
            row(
                base, kept, Path(name).stem, question=question, answer=fields[1], subset="acoustic_scene_classification"
            )
        )
    return write(base, [out])


def prepare_cochlscene(root: Path, sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """CochlScene/{Test,Val}/<Class>/<file>.wav; the answer is the class folder's name."""
    base = series_dir(root, "CochlScene")
    how = (
        "pass --source cochlscene=PATH: the folder, or one zip merged from Zenodo 7080122's split parts "
        "(zip -s 0 CochlScene.zip --out CochlScene-merged.zip)"
    )
    folder = materialize(required_source(sources, "cochlscene", how), base, "cochlscene")
    question = options_question(ASK.format(what="acoustic scene"), COCHL_LABELS)
    out = Collected("CochlScene")
    for split in ("Test", "Val"):
        for wav in sorted(folder.rglob(f"{split}/*/*.wav")):
            label = wav.parent.name
            if label not in COCHL_LABELS:
                out.skip(str(wav), f"unknown class folder {label!r}")
                continue
            kept = place(wav, base, f"{split}/{label}/{wav.name}")
            out.rows.append(row(base, kept, f"{split}/{wav.stem}", question=question, answer=label, subset=split))
    if not out.rows:
        raise DataError(str(folder), "no CochlScene/Test or Val audio found", how)
    return write(base, [out])
