"""Markdown report from the store: models × datasets, per-subset tables with n / failed / invalid beside
each metric, judge-panel agreement, and the provenance of every number (C10)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .errors import UnknownNameError
from .store import Store
from .values import DatasetInfo, RecipeId

UNITS = {"wer": " %", "cer": " %", "acc": " %", "score": "", "f1": " %", "aAcc": " %", "anls": " %"}
LOWER_IS_BETTER = {"wer", "cer"}


def _unit(metric: str) -> str:
    return UNITS.get(metric, "")


def _fmt(value: Any) -> str:
    return "–" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))


VIEWS = ("default", "kimi", "voicebench", "all")
REFERENCE_TITLES = {"kimi": "Kimi-Audio-Evalkit", "voicebench": "VoiceBench"}
JUDGE_VARIANT = {"kimi": "kimi", "voicebench": "default"}  # the judge recipe that aggregates as each does


def _reproduces(row: dict[str, Any], rid: RecipeId) -> str:
    """The reference a number reproduces: a compat rule recipe's (`asr-kimi`, `mcq-voicebench`), or for a
    judge score the reference whose own request judged it (template `kimi:…`, `voicebench:…`); "" for
    almeval's own recipes (`judge-kimi` over almeval's templates is almeval's, not a reproduction)."""
    if rid.judge:  # its request, aggregated as it aggregates (Kimi drops invalid replies; VoiceBench has none)
        template = str(row["values"].get("template", ""))
        ref = template.partition(":")[0] if ":" in template else ""
        return REFERENCE_TITLES.get(ref, "") if JUDGE_VARIANT.get(ref) == rid.variant else ""
    return REFERENCE_TITLES.get(rid.variant, "")


def _rows(store: Store, recipe: str) -> list[dict[str, Any]]:
    """Score rows of the chosen recipe view; `model` is the display name (label, or label@key8 where two
    model keys share a label) and `model_key` the key that stored it."""
    if recipe not in VIEWS:
        raise UnknownNameError("report recipe view", recipe, VIEWS)
    names = store.display_names()
    out = []
    for s in store.scores():
        rid = RecipeId.parse(s.recipe)  # single recipes (mcq-extract, refusal) show in every view
        if recipe == "all" or rid.variant in ("", recipe):
            out.append(
                {
                    "model": names.get(s.model, s.model),
                    "model_key": s.model,
                    "dataset": s.dataset,
                    "subset": s.subset,
                    "recipe": s.recipe,
                    "n": s.n,
                    "dataset_size": s.size,
                    "complete": s.complete,
                    "run_id": s.run_id,
                    "values": dict(s.values),
                    "prov": dict(s.provenance),
                    "rid": rid,
                }
            )
    return out


def _column(row: dict[str, Any]) -> str:
    metric = row["values"]["metric"]
    rid: RecipeId = row["rid"]
    judge = rid.judge
    demo = " — demonstration judge" if row["prov"].get("judge_note") else ""
    rule = "" if judge or rid.variant else f", {rid.family}"
    reproduces = _reproduces(row, rid)
    rule += f", reproduces {reproduces}" if reproduces else ""
    return f"{row['dataset']} ({metric.upper()}{_unit(metric)}{rule}" + (f", judge {judge}{demo})" if judge else ")")


def _cell(row: dict[str, Any]) -> str:
    v = row["values"]
    notes = []
    if not row["complete"]:
        n, size = row["n"], row["dataset_size"]
        notes.append(f"partial {n}/{size}" if n < size else "partial")
    for key in ("failed", "invalid", "errors", "unjudged"):
        if v.get(key):
            notes.append(f"{v[key]} {key}")
    if v.get("not_comparable"):
        notes.append(f"NOT COMPARABLE: {v['not_comparable']}")
    value = _fmt(v.get(v["metric"]))
    if v.get(v["metric"]) is None and v.get("counts"):  # a classification whose choices have no scores
        value = f"choices {_counts(v['counts'])}"
    return value + _ci(v) + (f" ({', '.join(notes)})" if notes else "")


def _ci(v: dict[str, Any]) -> str:
    ci = v.get("ci95")
    return f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else ""


def _groups() -> dict[str, str]:
    """Benchmark → its report table, as declared in the catalog."""
    from .datasets import all_series
    from .datasets.catalog import group_of

    return {b.name: group_of(b) for series, _ in all_series() for b in series.benchmarks}


def task_group(dataset: str, task: str, groups: Mapping[str, str]) -> str:
    """A benchmark's declared table; a manifest given by path goes by its task."""
    from .datasets.catalog import group_of

    return groups.get(dataset) or group_of(DatasetInfo(name=dataset, task=task))


def overview(rows: list[dict[str, Any]], tasks: dict[str, str]) -> list[str]:
    from .datasets.catalog import GROUPS

    overall = [r for r in rows if r["subset"] == ""]
    declared = _groups()
    lines: list[str] = []
    for group in GROUPS:
        mine = [r for r in overall if task_group(r["dataset"], tasks.get(r["dataset"], ""), declared) == group]
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
            f"| model | subset | n | failed | invalid | errors | {metric.upper()}{_unit(metric)} | 95% CI | recipe |",
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
    for r in sorted((r for r in rows if r["subset"] == ""), key=lambda r: r["model"]):
        v = r["values"]
        found = [f"{label} {_fmt(v[k])}" for k, label in PARTS.items() if k in v]
        if found:
            out.append(f"- {r['model']}: " + " · ".join(found) + " (the score is their mean)")
        extra = [f"choices {_counts(v['counts'])}"] if v.get("counts") else []
        extra += [f"metascore {_fmt(v['metascore'])}% of {v['metascore_n']}"] if v.get("metascore") is not None else []
        extra += [f"f1_score {_fmt(v['f1_score'])}"] if v.get("f1_score") is not None else []
        extra += [f"{label} {_fmt(v[k])}" for k, label in EXTRAS.items() if v.get(k) is not None]
        if v.get("l2"):
            extra.append("l2-category " + ", ".join(f"{k} {_fmt(a)}" for k, a in v["l2"].items()))
        if extra:
            out.append(f"- {r['model']}: " + " · ".join(extra))
    return ["", *out] if out else []


EXTRAS = {  # other numbers a recipe reports beside its headline metric (image benchmarks)
    "perception": "perception",
    "reasoning": "reasoning",
    "precision": "precision",
    "recall": "recall",
    "fAcc": "fAcc",
    "qAcc": "qAcc",
    "questions": "questions (circular)",
    "score_norm": "score / 10",
}


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in counts.items())


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
    names = store.display_names()
    rows = store.agreement_rows()
    if not rows:
        return []
    lines = [
        "",
        "## Judge agreement",
        "",
        "| model | dataset | judges | items | agreement | Cohen's κ |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {names.get(m, m)} | {d} | {j} | {n} | {100 * a:.1f} % | {_fmt(k)} |" for m, d, j, n, a, k in rows]
    return lines


def aggregates(rows: list[dict[str, Any]]) -> list[str]:
    """Computed aggregates per model, shown only where the model has at least one component."""
    lines = []
    for a in aggregate_values(rows):
        shown = _fmt(a["value"]) if a["value"] is not None else f"– (missing: {', '.join(a['missing'])})"
        lines.append(f"| {a['model']} | {a['aggregate']} | {shown} |")
    return ["", "## Aggregates", "", "| model | aggregate | value |", "|---|---|---|", *lines] if lines else []


def aggregate_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model and suite (declared with its series): the value (None while a component is missing),
    and the missing components. Each component is read from the recipe family the suite names."""
    from .datasets import all_series

    out = []
    models = sorted({r["model"] for r in rows})
    for suite in (x for series, _ in all_series() for x in series.suites):
        for model in models:
            values: dict[str, float | None] = {}
            for r in rows:
                part = r["dataset"] if suite.over == "benchmarks" else r["subset"]
                if r["model"] != model or part not in suite.weights or part in values:
                    continue
                if (suite.over == "subsets" and r["dataset"] != suite.of) or (
                    suite.over == "benchmarks" and r["subset"]
                ):
                    continue
                if r["rid"].family == suite.recipes[part]:  # the exact recipe the suite names, nothing by order
                    values[part] = r["values"].get(r["values"]["metric"])
            if values:
                value, missing = suite.compute(values), suite.missing(values)
                out.append({"model": model, "aggregate": suite.name, "value": value, "missing": missing})
    return out


def unscored(store: Store) -> list[str]:
    names = store.display_names()
    return [
        f"- {names.get(m, m)} / {d}: {n} predictions stored; scored by a judge: run `almeval judge --judge NAME`"
        for m, d, n in store.unscored()
    ]


def about(rows: list[dict[str, Any]]) -> list[str]:
    """What each reported benchmark is and why its numbers are what they are, from its declaration."""
    from .datasets import all_series

    described = {b.name: b.description for series, _ in all_series() for b in series.benchmarks if b.description}
    shown = sorted({r["dataset"] for r in rows} & set(described))
    if not shown:
        return []
    return ["", "## About these benchmarks", "", *(f"- **{name}**: {described[name]}" for name in shown)]


def outside_manifest(store: Store) -> list[str]:
    names = store.display_names()
    return [
        f"- {names.get(m, m)} / {d}: {n} stored item(s) are no longer in the manifest in force; they are kept "
        "in the store and not scored"
        for m, d, n in store.outside_manifest()
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
            *overview(rows, store.dataset_tasks()),
        ]
        lines += about(rows)
        lines += ["", "## Per subset", *subsets(rows)]
        lines += aggregates(_rows(store, "all"))  # a suite names each component's exact recipe: any view
        lines += agreements(store)
        lines += ["", "## Provenance", "", *provenance(rows)]
    pending = unscored(store)
    if pending:
        lines += ["", "## Not scored yet", "", *pending]
    dropped = outside_manifest(store)
    if dropped:
        lines += ["", "## Dropped from the manifest", "", *dropped]
    return "\n".join(lines) + "\n"


REPORT_FORMAT = 1  # bump when a field of `as_json` changes meaning or goes away (adding fields keeps it)


def as_json(store: Store, recipe: str = "default") -> dict[str, Any]:
    """The report as one JSON document (`almeval report --format json`); the README lists every field."""
    rows = _rows(store, recipe)
    names = store.display_names()
    labels = {m.key: m.label for m in store.models()}
    scores = []
    for r in rows:
        v = r["values"]
        metric = v["metric"]
        ci = v.get("ci95")
        scores.append(
            {
                "model": r["model"],
                "model_label": labels.get(r["model_key"], r["model"]),
                "model_key": r["model_key"],
                "benchmark": r["dataset"],
                "subset": r["subset"],
                "recipe": r["recipe"],
                "metric": metric,
                "value": v.get(metric),
                "ci95": list(ci) if ci else None,
                "n": v.get("n", r["n"]),
                "size": r["dataset_size"],
                "complete": bool(r["complete"]),
                "counts": {k: int(v.get(k) or 0) for k in ("failed", "invalid", "errors", "unjudged", "dropped")},
                "parts": {k: v[k] for k in PARTS if k in v},
                "provenance": r["prov"],
                "run_id": r["run_id"],
            }
        )
    return {
        "format": REPORT_FORMAT,
        "store": str(store.path),
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "recipe_view": recipe,
        "scores": scores,
        "aggregates": aggregate_values(_rows(store, "all")),
        "agreements": [
            {
                "model": names.get(m, m),
                "model_key": m,
                "benchmark": d,
                "judges": j,
                "items": n,
                "agreement": a,
                "kappa": k,
            }
            for m, d, j, n, a, k in store.agreement_rows()
        ],
        "not_scored": [
            {"model": names.get(m, m), "model_key": m, "benchmark": d, "stored": n} for m, d, n in store.unscored()
        ],
        "not_in_manifest": [
            {"model": names.get(m, m), "model_key": m, "benchmark": d, "stored": n}
            for m, d, n in store.outside_manifest()
        ],
    }


def run_history(store: Store) -> list[dict[str, Any]]:
    """The runs, oldest first: id, model (display name), datasets, status, start time, counts from the run
    summary, judge cost and wall time (`almeval runs`, the HTML report)."""
    import json
    import time

    names = store.display_names()
    rows = []
    for r in store.runs():
        summary = json.loads(r["summary"] or "{}")
        rows.append(
            {
                "run": r["run_id"],
                "model": names.get(r["model"], r["model"]),
                "datasets": json.loads(r["datasets"] or "[]"),
                "status": r["status"],
                "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started"])),
                "items": summary.get("items", ""),
                "inferred": summary.get("inferred", ""),
                "failed": summary.get("failed", ""),
                "judged": summary.get("judged", ""),
                "judge_cost_usd": summary.get("judge_cost_usd", ""),
                "wall_s": summary.get("wall_s", round(r["finished"] - r["started"], 2) if r["finished"] else ""),
            }
        )
    return rows
