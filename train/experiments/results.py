"""The result of a comparison: every config's fold scores, and their statistics against the first
config (the corrected resampled t-test of Nadeau & Bengio 2003, which widens the naive paired
t-test's variance for the overlap between cross-validation training sets)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["ALPHA", "COSTS", "HEADLINE", "Comparison", "ConfigResult", "Fold", "corrected_t_test", "differing_keys", "summarize", "task_columns"]

ALPHA = 0.05
# Headline metrics per task and whether higher is better.
HEADLINE: dict[str, dict[str, bool]] = {
    "topic": {"micro_f1": True, "macro_f1": True, "samples_f1": True, "hamming_loss": False, "subset_accuracy": True,
              "ece": False, "brier": False},
    "tone": {"accuracy": True, "macro_f1": True, "ece": False, "brier": False},
}
# Cost columns: reported with mean ± std, never tested (they measure the machine and its load).
COSTS: dict[str, bool] = {"train_s": False, "articles_per_s": True, "model_bytes": False}


@dataclass
class Fold:
    repeat: int
    fold: int
    train: list[int]
    test: list[int]


@dataclass
class ConfigResult:
    """One config's scores on every fold."""

    name: str
    source: str
    fingerprint: str
    config: dict[str, Any]
    folds: list[dict[str, Any]]
    cached: bool = False


@dataclass
class Comparison:
    configs: list[ConfigResult]
    dataset: dict[str, Any]
    folds: int
    repeats: int
    seed: int
    tasks: dict[str, list[str]]
    run_id: str | None = None
    computed: list[str] = field(default_factory=list)

    @property
    def differing(self) -> dict[str, list[Any]]:
        return differing_keys([c.config for c in self.configs])

    def summary(self) -> dict[str, Any]:
        return summarize(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "configs": [{"name": c.name, "source": c.source, "fingerprint": c.fingerprint, "cached": c.cached} for c in self.configs],
            "differing_keys": self.differing,
            "test": {"name": "corrected resampled t-test (Nadeau & Bengio 2003)", "alpha": ALPHA, "baseline": self.configs[0].name},
            "results": self.summary(),
        }


def differing_keys(configs: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """``section.key`` -> value per config, for the keys whose values are not all equal."""
    out: dict[str, list[Any]] = {}
    if len(configs) < 2:
        return out
    for section in configs[0]:
        for key in configs[0][section]:
            values = [c.get(section, {}).get(key) for c in configs]
            if any(v != values[0] for v in values[1:]):
                out[f"{section}.{key}"] = values
    return out


def corrected_t_test(a: Sequence[float], b: Sequence[float], test_fraction: float) -> tuple[float, float]:
    """Mean difference b - a over paired folds and its two-sided p-value.

    Nadeau & Bengio's correction: Var(mean d) ~ (1/J + n_test/n_train) * var(d), J = folds x
    repeats, because cross-validation training sets overlap and the naive 1/J understates it.
    """
    from scipy import stats

    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    j = len(d)
    mean = float(d.mean())
    if j < 2:
        return mean, float("nan")
    var = float(d.var(ddof=1))
    if var == 0.0:
        # Identical on every fold: no evidence of a difference; a constant shift is as sure as it gets.
        return mean, 1.0 if mean == 0.0 else 0.0
    t = mean / math.sqrt((1.0 / j + test_fraction) * var)
    return mean, float(2 * stats.t.sf(abs(t), df=j - 1))


def _series(result: ConfigResult, task: str, metric: str) -> list[float]:
    values = []
    for fold in result.folds:
        if metric in COSTS:
            values.append(float(fold["costs"][task][metric]))
        elif metric.startswith("f1:"):
            values.append(float(fold["metrics"][task]["per_label"][metric[3:]]["f1"]))
        else:
            # Runs recorded before a metric existed (ECE, Brier) read as NaN rather than failing.
            values.append(float(fold["metrics"][task].get(metric, float("nan"))))
    return values


def task_columns(task: str, labels: Sequence[str]) -> dict[str, bool]:
    """Tested quality columns (headline metrics, then per-label F1) -> higher is better."""
    return {**HEADLINE[task], **{f"f1:{label}": True for label in labels}}


def summarize(comparison: Comparison) -> dict[str, Any]:
    """Per task and config: mean/std per column, best marks, and tests against the first config."""
    out: dict[str, Any] = {}
    base = comparison.configs[0]
    n_train = np.mean([f["n_train"] for f in base.folds])
    n_test = np.mean([f["n_test"] for f in base.folds])
    test_fraction = float(n_test / n_train)
    for task, labels in comparison.tasks.items():
        if not labels:
            continue
        quality = task_columns(task, labels)
        columns = {**quality, **COSTS}
        rows: dict[str, Any] = {}
        for result in comparison.configs:
            row: dict[str, Any] = {}
            for column in columns:
                values = _series(result, task, column)
                row[column] = {
                    "mean": round(float(np.mean(values)), 4),
                    "std": round(float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, 4),
                    "folds": values,
                }
            rows[result.name] = row
        for column, higher in columns.items():
            means = {r.name: rows[r.name][column]["mean"] for r in comparison.configs}
            best = max(means.values()) if higher else min(means.values())
            for name, mean in means.items():
                # Ties as shown count: 3 decimals for scores, within 1% for times and sizes.
                tie = abs(mean - best) <= (0.01 * abs(best) if column in COSTS else 0.0005)
                rows[name][column]["best"] = len(means) > 1 and tie
        for result in comparison.configs[1:]:
            for column, higher in quality.items():
                delta, p = corrected_t_test(_series(base, task, column), _series(result, task, column), test_fraction)
                significant = bool(p < ALPHA)
                verdict = "same"
                if significant:
                    verdict = "better" if (delta > 0) == higher else "worse"
                rows[result.name][column]["vs_baseline"] = {
                    "delta": round(delta, 4),
                    "p": None if math.isnan(p) else round(p, 4),
                    "significant": significant,
                    "verdict": verdict,
                }
        out[task] = rows
    return out
