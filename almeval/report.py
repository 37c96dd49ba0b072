"""Markdown report from the store: models × datasets, per-subset tables with n / failed / invalid
beside each metric, and the provenance of every number (C10)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from .store import Store


def _fmt(value: Any) -> str:
    return "–" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


def _rows(store: Store, recipe: str) -> list[dict[str, Any]]:
    out = []
    for row in store.scores():
        if row["recipe"].split("@")[0].endswith(f"-{recipe}"):
            out.append({**row, "values": json.loads(row["values_json"]), "prov": json.loads(row["provenance"])})
    return out


def _cell(row: dict[str, Any]) -> str:
    v = row["values"]
    text = _fmt(v.get(v["metric"]))
    notes = []
    if not row["complete"]:
        notes.append(f"partial {row['n']}/{row['dataset_size']}")
    if v.get("failed"):
        notes.append(f"{v['failed']} failed")
    return text + (f" ({', '.join(notes)})" if notes else "")


def overview(rows: list[dict[str, Any]]) -> list[str]:
    overall = [r for r in rows if r["subset"] == ""]
    datasets = sorted({r["dataset"] for r in overall})
    metric = {r["dataset"]: r["values"]["metric"].upper() for r in overall}
    lines = [
        "| model | " + " | ".join(f"{d} ({metric[d]} %)" for d in datasets) + " |",
        "|---|" + "---|" * len(datasets),
    ]
    by_model: dict[str, dict[str, str]] = defaultdict(dict)
    for r in overall:
        by_model[r["model"]][r["dataset"]] = _cell(r)
    for model in sorted(by_model):
        lines.append(f"| {model} | " + " | ".join(by_model[model].get(d, "") for d in datasets) + " |")
    return lines


def subsets(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_dataset[r["dataset"]].append(r)
    for dataset in sorted(by_dataset):
        group = by_dataset[dataset]
        metric = group[0]["values"]["metric"]
        lines += [
            "",
            f"### {dataset}",
            "",
            f"| model | subset | n | failed | invalid | {metric.upper()} % | recipe |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in sorted(group, key=lambda r: (r["model"], r["subset"] != "", r["subset"])):
            v = r["values"]
            lines.append(
                f"| {r['model']} | {r['subset'] or '**all**'} | {v['n']} | {v['failed']} | {v['invalid']} "
                f"| {_fmt(v.get(metric))} | {r['recipe']} |"
            )
    return lines


def provenance(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | dataset | recipe | adapter | prompt digests | run | versions |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["subset"] != "":
            continue
        p = r["prov"]
        adapter = ", ".join(f"{k}={v}" for k, v in p["adapter"].items() if v != "")
        prompts = (
            p["prompt_digests"]
            if isinstance(p["prompt_digests"], str)
            else ", ".join(d[:12] for d in p["prompt_digests"])
        )
        vers = ", ".join(f"{k} {v}" for k, v in p["versions"].items())
        lines.append(
            f"| {r['model']} | {r['dataset']} | {r['recipe']} | {adapter} | {prompts} | {p['run_id']} | {vers} |"
        )
    return lines


def unscored(store: Store) -> list[str]:
    q = (
        "SELECT i.model, i.dataset, count(*) FROM items i LEFT JOIN scores s ON s.model = i.model "
        "AND s.dataset = i.dataset WHERE s.model IS NULL GROUP BY i.model, i.dataset"
    )
    return [
        f"- {m} / {d}: {n} predictions stored; this dataset is scored by a judge (`almeval judge`)"
        for m, d, n in store.db.execute(q).fetchall()
    ]


def render(store: Store, recipe: str = "default") -> str:
    rows = _rows(store, recipe)
    lines = [
        "# almeval report",
        "",
        f"Store: `{store.path}` · generated {time.strftime('%Y-%m-%d %H:%M:%S')} · recipe: `{recipe}`",
        "",
    ]
    if not rows:
        lines.append("No scores yet: run `almeval eval --model … --data …` first.")
    else:
        lines += [
            "## Models × datasets",
            "",
            "Error rates in percent, corpus-level; lower is better. "
            '"partial" marks a run limited to fewer items than the dataset has.',
            "",
            *overview(rows),
        ]
        lines += ["", "## Per subset", *subsets(rows)]
        lines += ["", "## Provenance", "", *provenance(rows)]
    pending = unscored(store)
    if pending:
        lines += ["", "## Not scored yet", "", *pending]
    return "\n".join(lines) + "\n"
