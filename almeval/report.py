"""Markdown report from the store: models × datasets, per-subset tables with n / failed / invalid beside
each metric, judge-panel agreement, and the provenance of every number (C10)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from .store import Store

UNITS = {"wer": " %", "cer": " %", "acc": " %", "score": ""}
LOWER_IS_BETTER = {"wer", "cer"}


def _fmt(value: Any) -> str:
    return "–" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


def _judge(recipe: str) -> str:
    return recipe.split(":", 1)[1] if ":" in recipe else ""


def _family(recipe_id: str) -> str:
    return recipe_id.split("@")[0]


def _variant(family: str) -> bool:
    """A recipe that comes as a default/kimi pair; single recipes (mcq-extract, refusal) show in both views."""
    return family.endswith(("-default", "-kimi"))


def _rows(store: Store, recipe: str) -> list[dict[str, Any]]:
    out = []
    for row in store.scores():
        family = _family(row["recipe"])
        if not _variant(family) or family.endswith(f"-{recipe}"):
            out.append({**row, "values": json.loads(row["values_json"]), "prov": json.loads(row["provenance"])})
    return out


def _column(row: dict[str, Any]) -> str:
    metric = row["values"]["metric"]
    judge = _judge(row["recipe"])
    demo = " — demonstration judge" if row["prov"].get("judge_note") else ""
    family = _family(row["recipe"])
    rule = "" if judge or _variant(family) else f", {family}"
    return f"{row['dataset']} ({metric.upper()}{UNITS[metric]}{rule}" + (f", judge {judge}{demo})" if judge else ")")


def _cell(row: dict[str, Any]) -> str:
    v = row["values"]
    notes = []
    if not row["complete"]:
        notes.append(f"partial {row['n']}/{row['dataset_size']}")
    for key in ("failed", "invalid", "errors", "unjudged"):
        if v.get(key):
            notes.append(f"{v[key]} {key}")
    return _fmt(v.get(v["metric"])) + _ci(v) + (f" ({', '.join(notes)})" if notes else "")


def _ci(v: dict[str, Any]) -> str:
    ci = v.get("ci95")
    return f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else ""


GROUPS = ("ASR", "Audio understanding", "Audio-to-text chat")


def task_group(dataset: str, task: str) -> str:
    """Kimi-Audio's table grouping: ASR; understanding (a text question about audio); chat (spoken questions)."""
    from .datasets import Catalog

    registry = Catalog().registry
    interactive = registry.get(dataset).interactive if dataset in registry else ""
    if task == "ASR":
        return "ASR"
    return "Audio-to-text chat" if interactive == "Audio-QA" or task == "OpenQA" else "Audio understanding"


def overview(rows: list[dict[str, Any]], tasks: dict[str, str]) -> list[str]:
    overall = [r for r in rows if r["subset"] == ""]
    lines: list[str] = []
    for group in GROUPS:
        mine = [r for r in overall if task_group(r["dataset"], tasks.get(r["dataset"], "")) == group]
        if not mine:
            continue
        columns = sorted({_column(r) for r in mine})
        by_model: dict[str, dict[str, str]] = defaultdict(dict)
        for r in mine:
            by_model[r["model"]][_column(r)] = _cell(r)
        lines += ["", f"### {group}", "", "| model | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        lines += [f"| {m} | " + " | ".join(by_model[m].get(c, "") for c in columns) + " |" for m in sorted(by_model)]
    return lines


def subsets(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[_column(r)].append(r)
    for column in sorted(groups):
        metric = groups[column][0]["values"]["metric"]
        lines += [
            "",
            f"### {column}",
            "",
            f"| model | subset | n | failed | invalid | errors | {metric.upper()}{UNITS[metric]} | 95% CI | recipe |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in sorted(groups[column], key=lambda r: (r["model"], r["subset"] != "", r["subset"])):
            v = r["values"]
            lines.append(
                f"| {r['model']} | {r['subset'] or '**all**'} | {v['n']} | {v['failed']} | {v['invalid']} "
                f"| {v.get('errors', 0)} | {_fmt(v.get(metric))} | {_ci(v).strip() or '–'} | {r['recipe']} |"
            )
        lines += _parts(groups[column])
    return lines


PARTS = {  # a recipe's component numbers, listed under its table (IFEval's four levels)
    "prompt_strict": "prompt-level strict",
    "prompt_loose": "prompt-level loose",
    "inst_strict": "instruction-level strict",
    "inst_loose": "instruction-level loose",
}


def _parts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in sorted(rows, key=lambda r: r["model"]):
        found = [f"{label} {_fmt(r['values'][k])}" for k, label in PARTS.items() if k in r["values"]]
        if found and r["subset"] == "":
            out.append(f"- {r['model']}: " + " · ".join(found) + " (the score is their mean)")
    return ["", *out] if out else []


def provenance(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | dataset | recipe | model under test | prompt digests | judge | run | versions |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["subset"] != "":
            continue
        p = r["prov"]
        adapter = ", ".join(f"{k}={v}" for k, v in (p.get("adapter") or {}).items() if v != "") or "–"
        digests = p.get("prompt_digests", "–")
        prompts = digests if isinstance(digests, str) else ", ".join(d[:12] for d in digests)
        judge = "–"
        if p.get("judge"):
            ident = p.get("judge_identity", {})
            where = ident.get("url") or f"local {ident.get('path_name', '')} (weights {ident.get('weights', '')[:12]})"
            note = f" **{p['judge_note']}**" if p.get("judge_note") else ""
            judge = (
                f"{p['judge']} → {', '.join(p.get('judge_models_returned') or ['?'])} @ {where}; "
                f"templates {', '.join(p.get('judge_templates', []))} "
                f"({', '.join(d[:12] for d in p.get('judge_template_digests', []))}){note}"
            )
        vers = ", ".join(f"{k} {v}" for k, v in (p.get("versions") or {}).items())
        lines.append(
            f"| {r['model']} | {r['dataset']} | {r['recipe']} | {adapter} | {prompts} | {judge} "
            f"| {p.get('run_id', '')} | {vers} |"
        )
    return lines


def agreements(store: Store) -> list[str]:
    rows = store.db.execute(
        "SELECT model, dataset, judges, items, agreement, kappa FROM agreements ORDER BY model, dataset, judges"
    ).fetchall()
    if not rows:
        return []
    lines = [
        "",
        "## Judge agreement",
        "",
        "| model | dataset | judges | items | agreement | Cohen's κ |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {m} | {d} | {j} | {n} | {100 * a:.1f} % | {_fmt(k)} |" for m, d, j, n, a, k in rows]
    return lines


def aggregates(rows: list[dict[str, Any]]) -> list[str]:
    """Computed aggregates per model, shown only where the model has at least one component."""
    from .aggregates import OPENAUDIOBENCH, VOICEBENCH

    per_model: dict[str, dict[str, float | None]] = defaultdict(dict)
    for r in rows:
        v = r["values"].get(r["values"]["metric"])
        if r["subset"] == "":
            per_model[r["model"]].setdefault(r["dataset"], v)
        if r["dataset"] == "OpenAudioBench" and r["subset"]:
            per_model[r["model"]].setdefault(r["subset"], v)
    lines = []
    for model, values in sorted(per_model.items()):
        for agg in (VOICEBENCH, OPENAUDIOBENCH):
            if not any(k in values for k in agg.weights):
                continue
            result = agg.compute(values)
            shown = _fmt(result) if result is not None else f"– (missing: {', '.join(agg.missing(values))})"
            lines.append(f"| {model} | {agg.name} | {shown} |")
    return ["", "## Aggregates", "", "| model | aggregate | value |", "|---|---|---|", *lines] if lines else []


def unscored(store: Store) -> list[str]:
    q = (
        "SELECT i.model, i.dataset, count(*) FROM items i LEFT JOIN scores s ON s.model = i.model "
        "AND s.dataset = i.dataset WHERE s.model IS NULL GROUP BY i.model, i.dataset"
    )
    return [
        f"- {m} / {d}: {n} predictions stored; scored by a judge: run `almeval judge --judge NAME`"
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
            "WER/CER: corpus-level error rate, lower is better. ACC: judged accuracy; SCORE: the judge's "
            "scale. [lo–hi]: seeded bootstrap 95% interval (1,000 resamples of the items). "
            '"partial" marks fewer items than the dataset has; failed / invalid / errors are counted '
            "in the denominator by the `default` recipe and dropped by `kimi`.",
            *overview(rows, dict(store.db.execute("SELECT dataset, task FROM coverage").fetchall())),
        ]
        lines += ["", "## Per subset", *subsets(rows)]
        lines += aggregates(rows)
        lines += agreements(store)
        lines += ["", "## Provenance", "", *provenance(rows)]
    pending = unscored(store)
    if pending:
        lines += ["", "## Not scored yet", "", *pending]
    return "\n".join(lines) + "\n"
