"""Seeded bootstrap confidence intervals for corpus-level rates and item means."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

RESAMPLES = 1000
SEED = 0
CELLS = 500_000  # resample-by-item cells per chunk (bounds memory for 100k-item datasets)
_INTERVALS: dict[tuple[str, int, float, int, int], list[float] | None] = {}  # ratio_ci's results in this process


def _chunks(n: int, resamples: int) -> list[int]:
    step = max(1, CELLS // max(n, 1))
    return [min(step, resamples - i) for i in range(0, resamples, step)]


def ratio_ci(
    numerators: Sequence[float],
    denominators: Sequence[float],
    scale: float = 100.0,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[float] | None:
    """95% percentile interval of scale * Σnum / Σden over items resampled with replacement."""
    if len(numerators) == 0 or float(np.sum(denominators)) == 0:
        return None
    num, den = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    key = (hashlib.sha256(num.tobytes() + den.tobytes()).hexdigest(), len(num), scale, resamples, seed)
    if key not in _INTERVALS:  # a report computes the same interval several times (a dataset of one
        # subset, recipes that differ only in what they drop): resampled once per process
        if len(_INTERVALS) >= 256:
            _INTERVALS.clear()

        def ratio(r: np.ndarray) -> np.ndarray:
            d = r[:, 1, :].sum(axis=1)
            return np.where(d > 0, scale * r[:, 0, :].sum(axis=1) / np.where(d > 0, d, 1), np.nan)

        def mean(r: np.ndarray) -> np.ndarray:
            return scale * r[:, 0, :].sum(axis=1) / float(r.shape[2])

        if bool(np.all(den == 1.0)):  # a mean: every resample's denominator is n, so only the values are
            # drawn — in chunks sized for two columns, so the draws and the interval are the same to the bit
            _INTERVALS[key] = columns_ci(num[None, :], mean, resamples, seed, chunk_columns=2)
        else:
            _INTERVALS[key] = columns_ci(np.stack([num, den]), ratio, resamples, seed)
    found = _INTERVALS[key]
    return None if found is None else list(found)


def mean_ci(values: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> list[float] | None:
    """95% percentile interval of the mean of `values` resampled with replacement."""
    return ratio_ci(values, [1.0] * len(values), scale=1.0, resamples=resamples, seed=seed)


def columns_ci(
    columns: Sequence[Sequence[float]] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    chunk_columns: int | None = None,
) -> list[float] | None:
    """95% percentile interval of `statistic` over items resampled with replacement. `columns` holds k
    per-item columns of length n; `statistic` maps a (size, k, n) array of resampled columns to (size,).
    Resamples are drawn in chunks sized for `chunk_columns` columns (default k)."""
    data = np.asarray(columns, dtype=float)
    n = data.shape[1] if data.ndim == 2 else 0
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    stats = []
    for size in _chunks(n * (chunk_columns or len(data)), resamples):
        idx = rng.integers(0, n, size=(size, n))
        stats.append(statistic(data[:, idx].transpose(1, 0, 2)))
    lo, hi = np.nanpercentile(np.concatenate(stats), [2.5, 97.5])
    return [round(float(lo), 2), round(float(hi), 2)]


def reuse_or_compute(
    previous: Mapping[Any, Mapping[str, Any]], key: Any, inputs: Any, compute: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """An aggregate (with its bootstrap) is recomputed only when its per-item inputs changed: a cached
    rerun reuses the stored numbers instead of resampling again."""
    digest = hashlib.sha256(json.dumps(inputs, separators=(",", ":")).encode()).hexdigest()
    old = previous.get(key)
    if old is not None and old.get("inputs_digest") == digest:
        return dict(old)
    return {**compute(), "inputs_digest": digest}
