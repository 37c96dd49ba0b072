"""`almeval report --format html`: one self-contained HTML file (no CDN, nothing fetched: styles, script,
plots and — for small runs — the audio and images inlined) that a browser opens offline.

- leaderboard per report group (models × benchmarks, value, 95% CI, n / failed / invalid / errors /
  unjudged), sortable by any column;
- plots drawn by matplotlib as inline SVG: per benchmark, each model's headline value with its CI as
  error bars; WER per subset for ASR; the distribution of judge scores; judge agreement for panels;
  also written as SVG files beside the report (linked from report.md by `almeval report`'s caller);
- per-item drill-down for each (model, benchmark): question, reference, prediction, each rule recipe's
  per-item values, every judge sample (template, reply, parsed verdict), status; an `<audio>` player
  and the images; filters (wrong / invalid / error / unjudged / failed) and text search, 50 rows a page;
- run history and the provenance of every score;
- with `--diff A B`, `almeval diff`'s comparison: per benchmark Δ with its paired bootstrap CI and
  McNemar's test, and the items whose value changed.

Size rule for media: distinct audio and image files up to EMBED_LIMIT bytes in total are embedded as
data URIs; above it they are linked by paths relative to the report (the report then works where
those files are). Everything from a model, a judge or a dataset travels as JSON inside a
`<script type="application/json">` block (with `<`, `>` and `&` escaped) and is put on the page with
`textContent` only: a prediction containing `<script>` is shown as text, never run.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .datasets.catalog import GROUPS
from .errors import AlmevalError
from .report import _groups, _rows, _unit, run_history, task_group
from .store import Store
from .values import RecipeId

EMBED_LIMIT = 32 * 1024 * 1024  # bytes of distinct media files embedded; above it, files are linked
PROMPT_LIMIT = 2000  # judge samples whose rendered prompt is embedded (a few KB each); above it, none are
PAGE = 50  # item rows per drill-down page
TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"


def render_html(
    store: Store,
    out: Path,
    recipe: str = "default",
    plots_dir: Path | None = None,
    diff: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Write the report to `out` (and its plots as SVG files into `plots_dir`, if given), with a section
    comparing two models (`diff`: labels or key prefixes, as `almeval diff` takes them); returns counts."""
    import jinja2

    started = time.perf_counter()
    rows = _rows(store, recipe)
    tasks = store.dataset_tasks()
    plots = _plots(rows, store)
    if plots_dir is not None:
        plots_dir.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(plots):
            (plots_dir / f"plot-{i + 1}.svg").write_text(p["svg"], encoding="utf-8")
    sets, media_paths = _item_sets(store, rows)
    media = _media(media_paths, out.parent)
    data = {
        "leaderboard": _leaderboard(rows, tasks),
        "sets": sets,
        "media": media,
        "runs": run_history(store),
        "provenance": _provenance(rows),
        "page": PAGE,
        "diff": _diff(store, diff) if diff else None,
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)), autoescape=True)
    html = env.get_template(TEMPLATE.name).render(
        title="almeval report",
        generated=time.strftime("%Y-%m-%d %H:%M:%S"),
        store=str(store.path),
        plots=plots,
        data=_script_json(data),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return {
        "path": str(out),
        "bytes": out.stat().st_size,
        "items": sum(len(s["items"]) for s in sets),
        "plots": len(plots),
        "media_embedded": sum(1 for m in media.values() if m.startswith("data:")),
        "seconds": round(time.perf_counter() - started, 3),
    }


def plot_files(store: Store, folder: Path, recipe: str = "default", relative_to: Path | None = None) -> str:
    """The report's plots as SVG files in `folder`; returns a markdown section linking them ("" if none)."""
    plots = _plots(_rows(store, recipe), store)
    if not plots:
        return ""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["", "## Plots", ""]
    for i, p in enumerate(plots):
        path = folder / f"plot-{i + 1}.svg"
        path.write_text(p["svg"], encoding="utf-8")
        link = os.path.relpath(path, relative_to) if relative_to else str(path)
        lines.append(f"![{p['title']}]({link})")
    return "\n".join(lines) + "\n"


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` left to end it or open a tag."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _headline(row: Mapping[str, Any]) -> tuple[str, float | None]:
    v = row["values"]
    metric = v["metric"]
    value = v.get(metric)
    return metric, value if isinstance(value, (int, float)) else None


def _leaderboard(rows: list[dict[str, Any]], tasks: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per report group: one row per model, one column per (benchmark, recipe) overall score."""
    declared = _groups()
    overall = [r for r in rows if r["subset"] == ""]
    out = []
    for group in GROUPS:
        mine = [r for r in overall if task_group(r["dataset"], tasks.get(r["dataset"], ""), declared) == group]
        if not mine:
            continue
        columns = sorted({(r["dataset"], r["recipe"]) for r in mine})
        models = sorted({r["model"] for r in mine})
        table = []
        cell_of = {(x["model"], x["dataset"], x["recipe"]): x for x in mine}
        for model in models:
            cells: list[dict[str, Any] | None] = []
            for dataset, recipe in columns:
                r = cell_of.get((model, dataset, recipe))
                if r is None:
                    cells.append(None)
                    continue
                v = r["values"]
                metric, value = _headline(r)
                cells.append(
                    {
                        "value": value,
                        "ci": v.get("ci95"),
                        "n": v.get("n", r["n"]),
                        "counts": {k: int(v.get(k) or 0) for k in ("failed", "invalid", "errors", "unjudged")},
                        "partial": not r["complete"],
                    }
                )
            table.append({"model": model, "cells": cells})
        heads = []
        for dataset, recipe in columns:
            r = next(x for x in mine if x["dataset"] == dataset and x["recipe"] == recipe)
            metric, _ = _headline(r)
            family = RecipeId.parse(recipe)
            by = f"judge {family.judge}" if family.judge else family.family
            heads.append({"dataset": dataset, "recipe": recipe, "metric": f"{metric.upper()}{_unit(metric)}, {by}"})
        out.append({"group": group, "columns": heads, "rows": table})
    return out


def _plots(rows: list[dict[str, Any]], store: Store) -> list[dict[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
    out = []
    overall = [r for r in rows if r["subset"] == "" and _headline(r)[1] is not None]
    by_bench: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in overall:
        by_bench[(r["dataset"], r["recipe"])].append(r)
    if by_bench:
        keys = sorted(by_bench)
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 1.2 + 0.45 * sum(len(v) for v in by_bench.values())))
        for ax, key in zip(list(axes) if len(keys) > 1 else [axes], keys, strict=True):
            rs = sorted(by_bench[key], key=lambda r: r["model"])
            values = [_headline(r)[1] or 0.0 for r in rs]
            lo = [v - (r["values"].get("ci95") or [v, v])[0] for v, r in zip(values, rs, strict=True)]
            hi = [(r["values"].get("ci95") or [v, v])[1] - v for v, r in zip(values, rs, strict=True)]
            ax.barh([r["model"] for r in rs], values, xerr=[lo, hi], color="#4c72b0", capsize=3)
            metric = _headline(rs[0])[0]
            ax.set_title(f"{key[0]} — {metric.upper()}{_unit(metric)} ({key[1]})", fontsize=9, loc="left")
            ax.tick_params(labelsize=8)
        fig.tight_layout()
        out.append({"title": "Scores per benchmark (95% CI)", "svg": _svg(fig)})
        plt.close(fig)
    wer = [r for r in rows if r["subset"] != "" and _headline(r)[0] in ("wer", "cer") and _headline(r)[1] is not None]
    if wer:
        fig, ax = plt.subplots(figsize=(7, 1 + 0.3 * len(wer)))
        labels = [f"{r['model']} · {r['dataset']}/{r['subset']}" for r in wer]
        ax.barh(labels, [_headline(r)[1] or 0.0 for r in wer], color="#dd8452")
        ax.set_title("Error rate per subset (%)", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        fig.tight_layout()
        out.append({"title": "WER / CER per subset", "svg": _svg(fig)})
        plt.close(fig)
    judged = _judge_values(store, rows)
    if judged:
        fig, ax = plt.subplots(figsize=(7, 2.6))
        for label, values in sorted(judged.items()):
            ax.hist(values, bins=20, alpha=0.6, label=label)
        ax.set_title("Distribution of per-item judge values", fontsize=9, loc="left")
        ax.legend(fontsize=7)
        fig.tight_layout()
        out.append({"title": "Judge scores", "svg": _svg(fig)})
        plt.close(fig)
    pairs = store.agreement_rows()
    if pairs:
        fig, ax = plt.subplots(figsize=(7, 1 + 0.3 * len(pairs)))
        ax.barh([f"{m} · {d} · {j}" for m, d, j, *_ in pairs], [a * 100 for *_, a, _k in pairs], color="#55a868")
        ax.set_title("Judge panel agreement (% of items)", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        fig.tight_layout()
        out.append({"title": "Judge agreement", "svg": _svg(fig)})
        plt.close(fig)
    return out


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]  # no XML prolog inside HTML


def _judge_values(store: Store, rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["subset"] != "" or not r["recipe"].startswith("judge-default@"):
            continue
        for v in store.item_values(r["model_key"], r["dataset"], r["recipe"]).values():
            if isinstance(v.get("value"), (int, float)):
                out[r["recipe"].split(":", 1)[1]].append(float(v["value"]))
    return out


def _item_sets(store: Store, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Per (model, benchmark): its items with prediction, per-recipe values and judge samples."""
    scopes: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r["subset"] == "":
            scope = scopes.setdefault((r["model_key"], r["dataset"]), {"model": r["model"], "recipes": []})
            scope["recipes"].append(r["recipe"])
    sets: list[dict[str, Any]] = []
    media_paths: dict[str, str] = {}
    render = _prompt_renderer(store, scopes, rows)
    for n, ((key, dataset), scope) in enumerate(sorted(scopes.items(), key=lambda kv: (kv[1]["model"], kv[0][1]))):
        values = {rid: store.item_values(key, dataset, rid) for rid in scope["recipes"]}
        judges = sorted({rid.split(":", 1)[1] for rid in scope["recipes"] if ":" in rid})
        replies = {j: store.verdict_rows(key, dataset, j) for j in judges}
        items = []
        for row in store.stored_items(key, dataset):
            idx = row["idx"]
            media = []
            for m in json.loads(row.get("media") or "[]"):
                media_paths.setdefault(m["sha256"], m["path"])
                media.append({"kind": m["kind"], "sha": m["sha256"], "mime": m.get("mime", "")})
            per = {rid: values[rid][idx] for rid in scope["recipes"] if idx in values[rid]}
            samples = [
                {
                    "judge": j,
                    "template": r["template"],
                    "sample": r["sample_no"],
                    "status": r["status"],
                    "reply": r["reply"] or "",
                    "repair": r["repair"] or "",
                    "prompt": render(r["template"], row, r.get("prediction") or row["text"] or ""),
                }
                for j in judges
                for r in sorted(replies[j].get(idx, []), key=lambda r: (r["template"], r["sample_no"]))
            ]
            items.append(
                {
                    "idx": idx,
                    "subset": row["subset"],
                    "question": row["question"],
                    "transcript": row.get("audio_content") or "",
                    "answer": row["answer"],
                    "prediction": row["text"] or "",
                    "status": row["pstatus"],
                    "latency_s": round(float(row.get("latency_s") or 0.0), 3),
                    "made_in": row.get("prun") or "",  # the run that made this prediction (cached since, if older)
                    "values": per,
                    "judge": samples,
                    "media": media,
                    "flags": _flags(row["pstatus"], per, bool(judges)),
                }
            )
        sets.append({"id": n, "model": scope["model"], "dataset": dataset, "recipes": scope["recipes"], "items": items})
    return sets, media_paths


def _prompt_renderer(store: Store, scopes: Mapping[Any, Any], rows: list[dict[str, Any]]) -> Any:
    """(template id, stored item row, prediction) → the judge messages as sent, rebuilt from the template
    (almeval's, the config's extra folders are not read here, and openai/evals' model-graded ones from the
    registries); "" when the report holds more than PROMPT_LIMIT judge samples or the template is unknown."""
    judged = sum(1 for r in rows if r["subset"] == "" and ":" in r["recipe"])
    if not judged:
        return lambda *_: ""
    from .datasets import oai
    from .judges.oai import oai_templates
    from .judges.templates import load_templates
    from .judging import stored_sample

    templates = dict(load_templates())
    graded = {d for _, d in scopes if d.startswith(oai.PREFIX)}
    with contextlib.suppress(AlmevalError):  # that run's registries may not be given here: no prompt then
        templates.update(oai_templates([info for d in sorted(graded) for info in oai.select(d)]))
    budget = {"left": PROMPT_LIMIT}

    def render(template_id: str, row: Mapping[str, Any], prediction: str) -> str:
        template = templates.get(template_id)
        if template is None or budget["left"] <= 0:
            return ""
        budget["left"] -= 1
        try:
            messages = template.messages(stored_sample(row["dataset"], row), prediction)
        except (AlmevalError, KeyError, IndexError, ValueError):  # not fillable from the stored fields
            return ""
        return "\n\n".join(f"[{m['role']}]\n{_text(m['content'])}" for m in messages)

    return render


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


def _flags(status: str, values: Mapping[str, Mapping[str, Any]], judged: bool) -> list[str]:
    """What the drill-down filters on: failed, wrong, invalid, error, unjudged."""
    flags = set()
    if status != "ok":
        flags.add("failed")
    for rid, v in values.items():
        family = RecipeId.parse(rid).family
        if v.get("invalid") or v.get("status") == "invalid":
            flags.add("invalid")
        if v.get("status") == "error":
            flags.add("error")
        if v.get("correct") == 0 or v.get("edits", 0) > 0 or (family.startswith("judge") and v.get("value") == 0):
            flags.add("wrong")
        if "score_micro" in v and v["score_micro"] < 1_000_000:
            flags.add("wrong")
    if judged and not any(RecipeId.parse(r).family.startswith("judge") for r in values) and status == "ok":
        flags.add("unjudged")
    return sorted(flags)


def _media(paths: Mapping[str, str], base: Path) -> dict[str, str]:
    """sha256 → a data URI (all files together within EMBED_LIMIT) or a path relative to the report."""
    sizes = {sha: (os.path.getsize(p) if os.path.isfile(p) else 0) for sha, p in paths.items()}
    if sum(sizes.values()) <= EMBED_LIMIT:
        out = {}
        for sha, path in paths.items():
            if sizes[sha]:
                data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
                out[sha] = f"data:{_mime(path)};base64,{data}"
        return out
    return {sha: os.path.relpath(p, base.resolve()) for sha, p in paths.items() if sizes[sha]}


def _mime(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    audio = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "m4a": "audio/mp4"}
    if suffix in audio:
        return audio[suffix]
    return f"image/{'jpeg' if suffix == 'jpg' else suffix or 'png'}"


def _diff(store: Store, models: tuple[str, str]) -> dict[str, Any]:
    from .diff import compare

    return compare(store, *models)


def _provenance(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "model": r["model"],
            "dataset": r["dataset"],
            "recipe": r["recipe"],
            "run": r["run_id"],
            "provenance": r["prov"],
        }
        for r in rows
        if r["subset"] == ""
    ]
