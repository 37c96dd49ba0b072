"""Image benchmarks from VLMEvalKit TSV files: `--data vlm:PATH.tsv` or `--data vlm:NAME` (NAME.tsv under
$LMUData, default ~/LMUData, as VLMEvalKit looks them up). A `#mcq` / `#yn` / `#vqa` / `#caption` suffix gives the type
of a file whose name almeval does not know.

The benchmark's type and recipe follow from the file's stem, as in VLMEvalKit (KINDS). Columns as
VLMEvalKit defines them: `index`, `image` (base64, a list of them, or the index of another row whose
image it shares), or `image_path`; `question`, `hint`, option columns `A`, `B`, …, `answer`, `category`,
`l2-category`, `split`. The file is streamed row by row; each image is decoded once, checked with
Pillow, named by the sha256 of its bytes and kept under the cache dir (`images/`), so the image bytes,
not a path, enter every content key. Every problem is an error naming the file, the row and its index,
found when the TSV is read, before any model runs.
"""

from __future__ import annotations

import ast
import base64
import binascii
import csv
import hashlib
import io
import json
import os
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from almeval.errors import ConfigError, DataError, MissingExtraError
from almeval.values import DatasetInfo, Image, Sample

PREFIX = "vlm:"
SERIES = "VLMEvalKit"
GROUP = "Image benchmarks (VLMEvalKit)"
TYPES = {
    "mcq": "vlm-mcq",
    "yn": "vlm-yn",
    "vqa": "vlm-vqa",
    "caption": "vlm-caption",
}  # a type given with `#type` → its recipe
# stem prefix → (type, recipe), longest prefix first; the metrics VLMEvalKit reports for each
KINDS: tuple[tuple[str, str, str], ...] = (
    ("HallusionBench", "yn", "vlm-hallusion"),
    ("SEEDBench_IMG", "mcq", "vlm-mcq"),
    ("ScienceQA", "mcq", "vlm-mcq"),
    ("OCRBench", "vqa", "vlm-ocrbench"),
    ("TextVQA", "vqa", "vlm-vqa"),
    ("ChartQA", "vqa", "vlm-relaxed"),
    ("MMBench", "mcq", "vlm-mcq"),
    ("CCBench", "mcq", "vlm-mcq"),
    ("InfoVQA", "vqa", "vlm-anls"),
    ("DocVQA", "vqa", "vlm-anls"),
    ("OCRVQA", "vqa", "vlm-exact"),
    ("MMStar", "mcq", "vlm-mcq"),
    ("MMMU", "mcq", "vlm-mcq"),
    ("AI2D", "mcq", "vlm-mcq"),
    ("POPE", "yn", "vlm-pope"),
    ("MME", "yn", "vlm-mme"),
    ("COCO", "caption", "vlm-caption"),
)
# md5 of the files VLMEvalKit publishes (its dataset classes' tables): a file that differs is reported
MD5 = {
    "MMBench_DEV_EN": "b6caf1133a01c6bb705cf753bb527ed8",
    "MMBench_TEST_EN": "6939fadb0ce626fefc0bdc9c64efc528",
    "MMBench_DEV_CN": "08b8fc3324a5ed74155350f57be69fbd",
    "MMBench_DEV_EN_V11": "30c05be8f2f347a50be25aa067248184",
    "SEEDBench_IMG": "68017231464752261a2526d6ca3a10c0",
    "ScienceQA_VAL": "96320d05e142e585e7204e72affd29f3",
    "ScienceQA_TEST": "e42e9e00f9c59a80d8a5db35bc32b71f",
    "CCBench": "f5dde47f24dc5a6fb6e595b409b466ac",
    "AI2D_TEST": "0f593e0d1c7df9a3d69bf1f947e71975",
    "MMStar": "e1ecd2140806c1b1bbf54b43372efb9e",
    "MMMU_DEV_VAL": "585e8ad75e73f75dcad265dfd0417d64",
    "MME": "b36b43c3f09801f5d368627fb92187c3",
    "HallusionBench": "0c23ac0dc9ef46832d7a24504f2a0c7c",
    "POPE": "c12f5acb142f2ef1f85a26ba2fbe41d5",
    "OCRVQA_TEST": "ca46a6d74b403e9d6c0b670f6fc00db9",
    "OCRVQA_TESTCORE": "c5239fe77db8bdc1f2ad8e55e0d1fe97",
    "TextVQA_VAL": "b233b31f551bbf4056f2f955da3a92cd",
    "DocVQA_VAL": "d5ee77e1926ff10690d469c56b73eabf",
    "InfoVQA_VAL": "2342e9c225222f0ef4dec545ebb126fe",
    "ChartQA_TEST": "c902e0aa9be5582a7aad6dcf52734b42",
    "OCRBench": "e953d98a987cc6e26ef717b61260b778",
    "COCO_VAL": "72a5079dead060269ac222c5aa5128af",
}
LETTERS = "ABCDEFGHIJ"
MISSING = ("", "nan", "NaN", "None")  # how an empty cell reads (pandas writes NaN)
# almeval's own instructions appended to a question (not VLMEvalKit's wording)
MCQ_NOTE = "Reply with the letter of the correct option."
VQA_NOTE = "Reply with a single word or a short phrase."
CAPTION_QUESTION = "Describe this image in one sentence."  # a captioning TSV has no question
_RUN: dict[str, Any] = {"verify": False}
_WARNED: set[str] = set()


def verify_data(strict: bool) -> None:
    """--verify-data: a file whose md5 differs from the published one is an error, not a warning."""
    _RUN["verify"] = strict


def select(selector: str) -> list[DatasetInfo]:
    """`vlm:PATH.tsv[#type]` or `vlm:NAME[#type]` → one benchmark named `vlm:<stem>`."""
    target, _, given = selector[len(PREFIX) :].partition("#")
    path = Path(target).expanduser()
    if not target.endswith(".tsv"):
        path = Path(os.environ.get("LMUData") or "~/LMUData").expanduser() / f"{target}.tsv"  # noqa: SIM112 (its name)
    if not path.is_file():
        raise ConfigError(f"{selector}: no TSV at {path} (give a path, or put NAME.tsv under $LMUData)")
    stem = path.stem
    kind, recipe = _kind(stem, given.lower(), selector)
    return [
        DatasetInfo(
            name=f"{PREFIX}{stem}",
            task=f"Image-{kind}",
            interactive="Image",
            audio_type="None",
            series=SERIES,
            manifest=f"{PREFIX}{path.resolve()}",
            description=f"VLMEvalKit TSV {path.name} ({kind})",
            rules=(recipe,),
            judge="vlm-choice" if kind == "mcq" else None,  # with --judge: what exact matching cannot read
            group=GROUP,
        )
    ]


def _kind(stem: str, given: str, selector: str) -> tuple[str, str]:
    if given:
        if given not in TYPES:
            raise ConfigError(f"{selector}: unknown type {given!r}; give one of {', '.join(TYPES)}")
        return given, TYPES[given]
    for prefix, kind, recipe in KINDS:
        if stem.startswith(prefix):
            return kind, recipe
    known = ", ".join(p for p, _, _ in KINDS)
    raise ConfigError(
        f"{selector}: almeval does not know the benchmark {stem!r} (known: {known}); "
        f"give its type: vlm:PATH.tsv#mcq, #yn, #vqa or #caption"
    )


def provenance(info: DatasetInfo) -> dict[str, Any]:
    """The file's md5 against the published one, where one is declared: verified / unverified."""
    path = Path(info.manifest[len(PREFIX) :])
    want = MD5.get(path.stem)
    if want is None:
        return {"tsv": str(path), "md5": "none published"}
    got = _md5(path)
    if got == want:
        return {"tsv": str(path), "md5": got, "data": "verified"}
    message = f"{path}: md5 {got} differs from the published {want} for {path.stem}"
    if _RUN["verify"]:
        raise DataError(str(path), message, "download the published file, or run without --verify-data")
    if message not in _WARNED:  # once per file and run
        _WARNED.add(message)
        print(f"warning: {message}; its scores are marked unverified", file=sys.stderr)
    return {"tsv": str(path), "md5": got, "data": "unverified"}


def _md5(path: Path) -> str:
    st = path.stat()
    return _md5_of(str(path), st.st_size, st.st_mtime_ns)


@cache
def _md5_of(path: str, size: int, mtime_ns: int) -> str:
    """Once per file version per process (a TSV can be gigabytes)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(info: DatasetInfo, limit: int | None, images_dir: Path) -> tuple[list[Sample], tuple[str, ...]]:
    """The TSV's rows as image Samples (every row is read and checked; images decoded for the first
    `limit`), and every index it holds."""
    path = Path(info.manifest[len(PREFIX) :])
    kind = info.task[len("Image-") :]
    samples: list[Sample] = []
    indices: list[str] = []
    shared: dict[str, tuple[Image, ...]] = {}  # index → its decoded images, for rows that refer to them
    for rowno, row in _rows(path, kind):
        index = row["index"]
        where = f"{path}:{rowno} (index {index})"
        if index in shared or index in indices:
            raise DataError(where, "index given twice", "make every index unique")
        indices.append(index)
        if limit is not None and len(samples) >= limit:
            continue
        images = _images(row, path, where, shared, images_dir)
        shared[index] = images
        samples.append(_sample(info, kind, row, index, images, where, rowno))
    if not indices:
        raise DataError(str(path), "the TSV has no rows", "add rows (index, image, question, …)")
    return samples, tuple(indices)


def _rows(path: Path, kind: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The TSV's rows (row number, cells); a captioning file needs no question column."""
    csv.field_size_limit(sys.maxsize)  # a cell holds a whole base64 image
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")  # quoted cells as pandas writes them
        columns = reader.fieldnames or []
        need = [c for c in ("index", "question") if c not in columns and not (c == "question" and kind == "caption")]
        if "image" not in columns and "image_path" not in columns:
            need.append("image (or image_path)")
        if need:
            raise DataError(f"{path}:1", f"missing column(s): {', '.join(need)}", "use VLMEvalKit's TSV columns")
        for rowno, row in enumerate(reader, start=2):
            if None in row:
                raise DataError(f"{path}:{rowno}", "more cells than columns", "fix the tabs on that row")
            yield rowno, {k: (v or "").strip() for k, v in row.items()}


def _missing(value: str | None) -> bool:
    return value is None or value.strip() in MISSING


def _images(
    row: dict[str, str], path: Path, where: str, shared: dict[str, tuple[Image, ...]], images_dir: Path
) -> tuple[Image, ...]:
    cell = row.get("image", "")
    if _missing(cell):
        paths = _listed(row.get("image_path", ""))
        if not paths:
            raise DataError(where, "neither an image nor an image_path", "add the image (base64) or its path")
        return tuple(_image_file(path.parent / p, where) for p in paths)
    if len(cell) <= 64 and not cell.startswith("["):  # the index of another row whose image(s) it shares
        if cell not in shared:
            raise DataError(where, f"image refers to index {cell!r}, which no earlier row has", "fix the reference")
        return shared[cell]
    return tuple(_image_bytes(_decoded(b64, where), where, images_dir) for b64 in _listed(cell))


def _listed(cell: str) -> list[str]:
    """A cell holding one value or a list of them (written as a Python or JSON list)."""
    if _missing(cell):
        return []
    if cell.startswith("[") and cell.endswith("]"):
        try:
            value = ast.literal_eval(cell)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, list):
            return [str(v) for v in value]
    return [cell]


def _decoded(b64: str, where: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(where, "the image is not valid base64", "re-export the TSV (VLMEvalKit's encode)") from None


def _pil() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise MissingExtraError("image benchmarks", "pip install 'almeval[vlm]'") from None
    return PILImage


def _checked(data: bytes, where: str) -> tuple[str, int, int]:
    """(format, width, height) of image bytes Pillow can read."""
    try:
        with _pil().open(io.BytesIO(data)) as img:
            img.verify()
            return str(img.format or "PNG"), int(img.width), int(img.height)
    except Exception as exc:  # Pillow raises many kinds for bad bytes
        raise DataError(where, f"the image cannot be decoded ({type(exc).__name__})", "fix that row's image") from None


def _image_bytes(data: bytes, where: str, images_dir: Path) -> Image:
    fmt, width, height = _checked(data, where)
    sha = hashlib.sha256(data).hexdigest()
    target = images_dir / sha[:2] / f"{sha}.{fmt.lower()}"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return Image(str(target), sha, width, height, f"image/{fmt.lower()}")


def _image_file(path: Path, where: str) -> Image:
    if not path.is_file():
        raise DataError(where, f"image file not found: {path}", "fix image_path (relative to the TSV)")
    data = path.read_bytes()
    fmt, width, height = _checked(data, where)
    return Image(str(path), hashlib.sha256(data).hexdigest(), width, height, f"image/{fmt.lower()}")


def _sample(
    info: DatasetInfo, kind: str, row: dict[str, str], index: str, images: tuple[Image, ...], where: str, rowno: int
) -> Sample:
    question, answer = row.get("question", ""), row.get("answer", "")
    if kind == "caption" and _missing(question):
        question = CAPTION_QUESTION
    if _missing(question):
        raise DataError(where, "the question is empty", "fill it in")
    meta: dict[str, Any] = {"images": [i.sha256 for i in images]}
    for column in ("category", "l2-category", "split", "image_path"):
        if not _missing(row.get(column)):
            meta[column] = row[column]
    if kind == "mcq":
        options = {c: row[c] for c in LETTERS if not _missing(row.get(c))}
        if not options:
            raise DataError(where, "a multiple-choice row without options", "add columns A, B, … or give #vqa")
        if _missing(answer):
            raise DataError(where, "options without an answer", "add the answer letter (a test split cannot be scored)")
        if answer not in options:
            raise DataError(where, f"answer {answer!r} is not one of the options {', '.join(options)}", "fix it")
        meta["options"] = options
        meta["group"] = int(index) % 1_000_000 if index.isdigit() else index  # MMBench's circular groups
        hint = "" if _missing(row.get("hint")) else f"Hint: {row['hint']}\n"
        listed = "\n".join(f"{k}. {v}" for k, v in options.items())
        prompt = f"{hint}Question: {question}\nOptions:\n{listed}\n{MCQ_NOTE}"
    elif kind == "yn":
        if answer not in ("Yes", "No"):
            raise DataError(where, f"answer {answer!r} is not Yes or No", "fix it")
        prompt = question
    else:
        if _missing(answer):
            raise DataError(where, "the answer is empty", "add the reference answer(s)")
        meta["answers"] = _answers(answer)
        prompt = question if kind == "caption" else f"{question}\n{VQA_NOTE}"
    return Sample(
        dataset=info.name,
        subset=meta.get("category", ""),
        index=index,
        audio=(),
        question=prompt,
        answer=answer,
        task=info.task,
        interactive="Image",
        audio_type="None",
        meta=meta,
        line=rowno,
        images=images,
    )


def _answers(cell: str) -> list[str]:
    """A VQA answer cell: one answer, or a list of them (VLMEvalKit writes Python lists)."""
    if cell.startswith("[") and cell.endswith("]"):
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(cell)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, list):
                return [str(v) for v in value]
    return [cell]
