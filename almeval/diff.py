"""`almeval diff A B`: did B do better than A on the same items? Per benchmark and recipe, the change of
the overall number with a paired bootstrap 95% interval of the difference (items resampled together, so
the interval reflects the change, not two independent noises), McNemar's exact test for right/wrong
recipes, and the items whose value changed.

Per-item values come from the store's item_scores (rule and judge recipes alike), over the items both
models have and the manifest in force holds. A rate is Σ numerators / Σ denominators, as in the report:
WER/CER as Σ edits / Σ reference tokens, accuracy as Σ 100·correct / n, a judge's score as its mean.
"""

from __future__ import annotations

from functools import partial
from math import comb
from typing import Any

import numpy as np

from .errors import ConfigError
from .stats import columns_ci
from .store import Store

SHOWN_CHANGES = 20  # per benchmark and recipe in markdown; JSON has them all


def _pair(values: dict[str, Any]) -> tuple[float, float] | None:
    """An item's (numerator, denominator) for its recipe's rate; None when it has no value (unjudged)."""
    if "edits" in values:  # ASR: dropped items (kimi) are out of the rate
        return None if values.get("dropped") else (float(values["edits"]), float(values["ref_len"]))
    if "value" in values:  # a judge recipe: the verdict on its reported scale
        return None if values["value"] is None else (float(values["value"]), 1.0)
    for hit in ("correct", "refused"):
        if hit in values:
            return 100.0 * float(values[hit]), 1.0
    return None


def _mcnemar(a: list[float], b: list[float]) -> tuple[int, int, float] | None:
    """(A right and B wrong, A wrong and B right, exact two-sided p) for 0/100 values, else None."""
    if not set(a) | set(b) <= {0.0, 100.0}:
        return None
    only_a = sum(x > y for x, y in zip(a, b, strict=True))
    only_b = sum(y > x for x, y in zip(a, b, strict=True))
    n, k = only_a + only_b, min(only_a, only_b)
    p = 1.0 if n == 0 else min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)
    return only_a, only_b, round(p, 4)


def _rate_change(r: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Resampled columns (num A, den A, num B, den B) → scale × (rate B − rate A) per resample."""
    den_a, den_b = r[:, 1, :].sum(axis=1), r[:, 3, :].sum(axis=1)
    rate_a = np.where(den_a > 0, r[:, 0, :].sum(axis=1) / np.where(den_a > 0, den_a, 1), np.nan)
    rate_b = np.where(den_b > 0, r[:, 2, :].sum(axis=1) / np.where(den_b > 0, den_b, 1), np.nan)
    return scale * (rate_b - rate_a)


def compare(store: Store, a_text: str, b_text: str, data: tuple[str, ...] = ()) -> dict[str, Any]:
    a, b = store.model(a_text), store.model(b_text)
    names = store.display_names()
    rows_a = {(s.dataset, s.recipe): s for s in store.scores(a.key) if s.subset == ""}
    rows_b = {(s.dataset, s.recipe): s for s in store.scores(b.key) if s.subset == ""}
    wanted = {d.lower() for d in data}
    out = []
    for dataset, recipe in sorted(set(rows_a) & set(rows_b)):
        if wanted and dataset.lower() not in wanted:
            continue
        va, vb = rows_a[dataset, recipe].values, rows_b[dataset, recipe].values
        metric = va["metric"]
        entry: dict[str, Any] = {
            "benchmark": dataset,
            "recipe": recipe,
            "metric": metric,
            "a": va.get(metric),
            "b": vb.get(metric),
            "delta": None if va.get(metric) is None or vb.get(metric) is None else round(vb[metric] - va[metric], 2),
        }
        items_a, items_b = store.item_values(a.key, dataset, recipe), store.item_values(b.key, dataset, recipe)
        current = store.manifest(dataset)
        common = sorted(i for i in set(items_a) & set(items_b) if current is None or i in current)
        pairs: list[tuple[str, tuple[float, float], tuple[float, float]]] = []
        for i in common:
            pa, pb = _pair(items_a[i]), _pair(items_b[i])
            if pa is not None and pb is not None:
                pairs.append((i, pa, pb))
        entry["paired_items"] = len(pairs)
        if pairs:
            cols = np.array([[pa[0], pa[1], pb[0], pb[1]] for _, pa, pb in pairs]).T
            scale = 100.0 if "edits" in items_a[pairs[0][0]] else 1.0
            entry["ci95_delta"] = columns_ci(list(cols), partial(_rate_change, scale=scale))
            per_a = [pa[0] / pa[1] if pa[1] else 0.0 for _, pa, _ in pairs]
            per_b = [pb[0] / pb[1] if pb[1] else 0.0 for _, _, pb in pairs]
            test = _mcnemar(per_a, per_b)
            if test is not None:
                entry["mcnemar"] = {"a_only_right": test[0], "b_only_right": test[1], "p": test[2]}
            entry["changed"] = [
                {"index": i, "a": round(x, 4), "b": round(y, 4)}
                for (i, _, _), x, y in zip(pairs, per_a, per_b, strict=True)
                if x != y
            ]
        out.append(entry)
    if not out:
        raise ConfigError(f"{names.get(a.key, a.label)} and {names.get(b.key, b.label)} share no scored benchmark")
    return {
        "a": {"model": names.get(a.key, a.label), "model_key": a.key},
        "b": {"model": names.get(b.key, b.label), "model_key": b.key},
        "benchmarks": out,
    }


def markdown(result: dict[str, Any]) -> str:
    a, b = result["a"]["model"], result["b"]["model"]
    lines = [
        f"# almeval diff: {a} → {b}",
        "",
        "Δ = B − A on the items both have; 95% CI of Δ by paired bootstrap (1,000 resamples of the items, "
        "seed 0); McNemar's exact test where each item is right or wrong. For WER/CER lower is better.",
        "",
        "| benchmark | recipe | A | B | Δ | 95% CI of Δ | McNemar (A only / B only, p) | items | changed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in result["benchmarks"]:
        ci = e.get("ci95_delta")
        mc = e.get("mcnemar")
        lines.append(
            f"| {e['benchmark']} | {e['recipe']} | {_fmt(e['a'])} | {_fmt(e['b'])} | {_fmt(e['delta'])} "
            f"| {f'[{ci[0]:.2f}, {ci[1]:.2f}]' if ci else '–'} "
            f"| {_mcnemar_cell(mc)} "
            f"| {e['paired_items']} | {len(e.get('changed', []))} |"
        )
    for e in result["benchmarks"]:
        changed = e.get("changed") or []
        if changed:
            lines += [
                "",
                f"## {e['benchmark']} · {e['recipe']}: items that changed",
                "",
                "| item | A | B |",
                "|---|---|---|",
            ]
            lines += [f"| {c['index']} | {c['a']:g} | {c['b']:g} |" for c in changed[:SHOWN_CHANGES]]
            if len(changed) > SHOWN_CHANGES:
                lines.append(f"| … {len(changed) - SHOWN_CHANGES} more (`--format json` lists all) | | |")
    return "\n".join(lines) + "\n"


def _mcnemar_cell(mc: dict[str, Any] | None) -> str:
    return f"{mc['a_only_right']} / {mc['b_only_right']}, p={mc['p']}" if mc else "–"


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"
