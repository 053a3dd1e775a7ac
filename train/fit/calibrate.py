"""Calibration fitted on out-of-fold scores: per topic label Platt or isotonic (chosen by
cross-validated log-loss over the same folds), tone by temperature scaling; scikit-learn's own
pieces do the fitting (``_SigmoidCalibration``, ``IsotonicRegression``, ``_TemperatureScaling``,
what ``CalibratedClassifierCV`` uses). The maps are stored as plain numbers
(``artclf.calibration``), so every runtime applies them without scikit-learn.

The topic threshold then lives on the probability scale: it is tuned on the calibrated
out-of-fold probabilities (best F1, or the lowest cut reaching ``topic.precision_target``), turned
back into a decision value (the map is monotone), and that value is folded into the classifier's
intercept as before, so a plain joblib/skops pipeline predicts the same labels.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from artclf.calibration import binary_probability

# Isotonic probabilities are kept inside [EPS, 1 - EPS]: a 0 or 1 from a few training points
# would be a certainty no held-out text earned (and an infinite log-loss when wrong).
EPS = 1e-3
KINDS = ("platt", "isotonic")


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def fit_map(d: np.ndarray, y: np.ndarray, kind: str) -> dict[str, Any]:
    """One label's map on raw decision values ``d`` (no threshold folded yet)."""
    d = np.asarray(d, dtype=float)
    y = np.asarray(y, dtype=float)
    if kind == "platt":
        from sklearn.calibration import _SigmoidCalibration

        fitted = _SigmoidCalibration().fit(d, y)
        # scikit-learn's form is 1 / (1 + exp(a d + b)); ours 1 / (1 + exp(-(A d + B))).
        a, b = -float(fitted.a_), -float(fitted.b_)
        if not a > 0:
            # Scores that do not rank the label (a tiny or constant fold): a flat map would lose
            # the decision; keep the ranking with the smallest slope that still orders.
            a = 1e-3
        return {"kind": "platt", "a": a, "b": b}
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        fitted = IsotonicRegression(y_min=EPS, y_max=1 - EPS, increasing=True, out_of_bounds="clip").fit(d, y)
        x, v = np.asarray(fitted.X_thresholds_, dtype=float), np.asarray(fitted.y_thresholds_, dtype=float)
        return {"kind": "isotonic", "x": x.tolist(), "y": np.clip(v, EPS, 1 - EPS).tolist()}
    raise ValueError(f"unknown calibration kind {kind!r}")


def choose_map(d: np.ndarray, y: np.ndarray, folds: np.ndarray, method: str) -> tuple[dict[str, Any], dict[str, float]]:
    """The map for one label and the cross-validated log-loss of each candidate.

    ``auto`` fits Platt and isotonic on all folds but one, scores the held-out fold, and keeps the
    kind with the lower mean log-loss (isotonic overfits small or unbalanced labels; Platt cannot
    bend). Either kind is then refitted on every out-of-fold score."""
    candidates = KINDS if method == "auto" else (method,)
    losses: dict[str, float] = {}
    if len(candidates) > 1:
        for kind in candidates:
            p = np.zeros(len(d))
            for fold in np.unique(folds):
                held = folds == fold
                rest_y = y[~held]
                if rest_y.min() == rest_y.max():
                    p[held] = rest_y.mean()
                    continue
                p[held] = binary_probability(d[held], fit_map(d[~held], rest_y, kind))
            losses[kind] = round(_log_loss(p, y), 5)
        kind = min(candidates, key=lambda k: (losses[k], k != "platt"))
    else:
        kind = candidates[0]
    return fit_map(d, y, kind), losses


def best_threshold(scores: np.ndarray, y: np.ndarray, center: float = 0.0) -> tuple[float, float]:
    """The decision threshold that maximises F1 on (scores, y), and that F1.

    Among equally good thresholds the one nearest ``center`` (the model's own boundary: 0 for
    decision values, 0.5 for probabilities) wins, which keeps thresholds from drifting to the
    extremes on small data.
    """
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return 0.0, float("nan")
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (positives + k)
    # Cutting after position k is only possible where the next score is strictly lower.
    valid = np.append(s[:-1] > s[1:], True)
    f1 = np.where(valid, f1, -1.0)
    cut_after = np.append(s[1:], s[-1] - 1.0)
    candidates = (s + cut_after) / 2
    best = f1.max()
    ties = np.flatnonzero(np.isclose(f1, best, rtol=0, atol=1e-12))
    choice = ties[np.argmin(np.abs(candidates[ties] - center))]
    return float(candidates[choice]), float(best)


def decision_at(spec: dict[str, Any], probability: float) -> float:
    """The smallest raw decision value whose calibrated probability is >= ``probability``."""
    if spec["kind"] == "platt":
        q = min(max(probability, 1e-12), 1 - 1e-12)
        return (math.log(q / (1 - q)) - spec["b"]) / spec["a"]
    x, y = np.asarray(spec["x"]), np.asarray(spec["y"])
    if probability <= y[0]:
        return float(x[0]) - 1.0
    k = int(np.argmax(y >= probability)) if (y >= probability).any() else len(y) - 1
    if y[k] < probability:
        return float(x[-1]) + 1.0
    if k == 0 or y[k] == y[k - 1]:
        return float(x[k])
    return float(x[k - 1] + (probability - y[k - 1]) * (x[k] - x[k - 1]) / (y[k] - y[k - 1]))


# How far below its threshold an isotonic map is pulled just left of 0 (see ``folded``).
TIE_GAP = 1e-9


def folded(spec: dict[str, Any], decision: float) -> dict[str, Any]:
    """The map on folded decision values (``decision`` subtracted from the intercept), with its
    threshold: the probability it gives at 0, computed as every runtime computes it.

    "probability >= threshold" must be the plain pipeline's "decision > 0". A Platt map is
    strictly increasing, so it is. An isotonic map may be flat across 0 (a plateau: the same
    probability for decision values on both sides, as for a rare label that keeps the
    classifier's own cut): there every value left of 0 is pulled to ``TIE_GAP`` below the
    threshold, through a knot at 0, so no text the pipeline rejects reaches the threshold."""
    if spec["kind"] == "platt":
        out = {"kind": "platt", "a": spec["a"], "b": spec["b"] + spec["a"] * decision}
        out["threshold"] = float(binary_probability(np.zeros(1), out)[0])
        return out
    x = np.asarray(spec["x"], dtype=float) - decision
    y = np.asarray(spec["y"], dtype=float)
    t = float(np.interp(0.0, x, y))
    left, right = x < 0, x > 0
    below = min(t - TIE_GAP, float(y[left].max()) if left.any() else t - TIE_GAP)
    xs = list(x[left]) or [min(float(x.min()) if len(x) else 0.0, 0.0) - 1.0]
    ys = list(np.minimum(y[left], below)) or [max(below, 0.0)]
    xs += [0.0] + list(x[right])
    ys += [t] + list(np.maximum(y[right], t))
    out = {"kind": "isotonic", "x": [float(v) for v in xs], "y": [float(v) for v in ys]}
    out["threshold"] = float(binary_probability(np.zeros(1), out)[0])
    return out


def probability_cut(p: np.ndarray, y: np.ndarray, precision_target: float = 0.0) -> tuple[float, float, dict[str, Any]]:
    """(cut on probabilities, its F1, details): the best-F1 cut (ties: the one nearest 0.5), or with
    ``precision_target`` > 0 the lowest cut whose precision reaches it (most recall at that
    precision; if none does, the cut with the highest precision)."""
    if precision_target <= 0:
        cut, f1 = best_threshold(p, y, center=0.5)
        return cut, f1, {}
    order = np.argsort(-p, kind="stable")
    s, t = p[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(s) + 1)
    precision = tp / k
    valid = np.append(s[:-1] > s[1:], True)
    cuts = (s + np.append(s[1:], s[-1] - 1.0)) / 2
    positives = max(float(y.sum()), 1.0)
    ok = np.flatnonzero(valid & (precision >= precision_target))
    met = ok.size > 0
    i = int(ok.max()) if met else int(np.flatnonzero(valid)[np.argmax(np.where(valid, precision, -1)[valid])])
    f1 = 2 * tp[i] / (positives + k[i])
    return float(cuts[i]), float(f1), {"precision_target": precision_target, "oof_precision": round(float(precision[i]), 4),
                                      "oof_recall": round(float(tp[i] / positives), 4), "precision_target_met": bool(met)}


def fit_temperature(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Inverse temperature ``s`` minimising the log-loss of ``p ** s / sum(p ** s)`` (``y``: class
    indices), scikit-learn's ``_TemperatureScaling`` on the log-probabilities."""
    from sklearn.calibration import _TemperatureScaling

    logits = np.log(np.clip(np.asarray(probabilities, dtype=float), 1e-300, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = _TemperatureScaling().fit(logits, np.asarray(y, dtype=float))
    s = float(fitted.beta_)
    return s if math.isfinite(s) and s > 0 else 1.0


def tone_log_loss(probabilities: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(np.asarray(probabilities)[np.arange(len(y)), np.asarray(y, dtype=int)], 1e-6, 1.0)
    return float(-np.mean(np.log(p)))


def class_indices(values: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index[v] for v in values], dtype=int)
