"""Evaluate stage: the metrics reported for each task, as plain JSON-able dicts."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def _r(x: float) -> float:
    return round(float(x), 4)


def topic_metrics(
    true_sets: Sequence[Sequence[str]], pred_sets: Sequence[Sequence[str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Multi-label metrics: micro/macro/samples F1, Hamming loss, subset accuracy, per label."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    from train.data.labels import topic_matrix

    Y, P = topic_matrix(true_sets, labels), topic_matrix(pred_sets, labels)
    # One topic: scikit-learn reads a one-column matrix as a binary target and would score the
    # absent class; an all-zero second column keeps it a label matrix and changes no count.
    Ys, Ps = (np.hstack([Y, np.zeros_like(Y)]), np.hstack([P, np.zeros_like(P)])) if len(labels) == 1 else (Y, P)
    columns = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(Ys, Ps, average=None, labels=columns, zero_division=0)
    # samples-F1 counts an article with no true and no predicted topic as a perfect 1.0, which is
    # what "no topic" correctly predicted is.
    both_empty = (Y.sum(axis=1) == 0) & (P.sum(axis=1) == 0)
    inter = (Y & P).sum(axis=1)
    denom = Y.sum(axis=1) + P.sum(axis=1)
    samples = np.where(both_empty, 1.0, np.divide(2 * inter, denom, out=np.zeros(len(Y)), where=denom > 0))
    return {
        "micro_f1": _r(f1_score(Ys, Ps, average="micro", labels=columns, zero_division=0)),
        "macro_f1": _r(f1_score(Ys, Ps, average="macro", labels=columns, zero_division=0)),
        "samples_f1": _r(samples.mean()) if len(Y) else 0.0,
        "hamming_loss": _r(np.mean(Y != P)) if Y.size else 0.0,
        "subset_accuracy": _r(np.mean(np.all(Y == P, axis=1))) if len(Y) else 0.0,
        "per_label": {
            label: {"precision": _r(p[j]), "recall": _r(r[j]), "f1": _r(f[j]), "support": int(s[j])}
            for j, label in enumerate(labels)
        },
    }


def tone_metrics(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Multiclass metrics: accuracy, macro F1, per label, confusion matrix (rows = true)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(true, pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": _r(accuracy_score(true, pred)),
        "macro_f1": _r(f1_score(true, pred, labels=labels, average="macro", zero_division=0)),
        "per_label": {
            label: {"precision": _r(p[j]), "recall": _r(r[j]), "f1": _r(f[j]), "support": int(s[j])}
            for j, label in enumerate(labels)
        },
        "confusion_matrix": {"labels": labels, "matrix": confusion_matrix(true, pred, labels=labels).tolist()},
    }


def evaluate_predictions(
    records: Sequence[Any], predictions: Sequence[dict[str, Any]], topic_labels: Sequence[str], tone_labels: Sequence[str],
    topic_mode: str = "multilabel",
) -> dict[str, Any]:
    """Each task's metrics for records (with .topics, .tone) and model predictions; a task the
    model does not have (empty label list) is left out. In multiclass topic mode the topic gets
    the multi-label figures (micro-F1 then equals accuracy) plus accuracy and a confusion matrix."""
    out: dict[str, Any] = {"n": len(records)}
    if topic_labels:
        out["topic"] = topic_metrics([r.topics for r in records], [p["topics"] for p in predictions], topic_labels)
        if topic_mode == "multiclass":
            single = tone_metrics([r.topics[0] if r.topics else "" for r in records], [p["topics"][0] for p in predictions], topic_labels)
            out["topic"] = {"accuracy": single["accuracy"], **out["topic"], "confusion_matrix": single["confusion_matrix"]}
    if tone_labels:
        out["tone"] = tone_metrics([r.tone for r in records], [p["tone"] for p in predictions], tone_labels)
    return out


# -- calibration ---------------------------------------------------------------------------------

ECE_BINS = 10
_EPS = 1e-6


def expected_calibration_error(p: Sequence[float], y: Sequence[float], bins: int = ECE_BINS) -> float:
    """ECE: the mean |observed frequency - mean predicted probability| over ``bins`` equal-width
    probability bins, each weighted by its share of the examples (Naeini et al. 2015)."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if p.size == 0:
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / p.size)


def reliability_bins(p: Sequence[float], y: Sequence[float], bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per non-empty bin: mean predicted probability, observed frequency, count (the reliability diagram)."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    return [{"bin": b, "confidence": float(p[which == b].mean()), "frequency": float(y[which == b].mean()),
             "n": int((which == b).sum())} for b in range(bins) if (which == b).any()]


def binary_calibration(p: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """ECE, Brier score and log-loss of probabilities ``p`` for binary outcomes ``y``."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if p.size == 0:
        return {"ece": 0.0, "brier": 0.0, "log_loss": 0.0}
    q = np.clip(p, _EPS, 1 - _EPS)
    return {"ece": _r(expected_calibration_error(p, y)), "brier": _r(np.mean((p - y) ** 2)),
            "log_loss": _r(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))}


def calibration_metrics(
    records: Sequence[Any], scores: Sequence[dict[str, dict[str, float]]], topic_labels: Sequence[str],
    tone_labels: Sequence[str], topic_mode: str = "multilabel",
) -> dict[str, Any]:
    """How far scores are from probabilities, per task: ECE, Brier and log-loss per label and overall.

    Topics (multi-label): each label's score against "the article has this label"; overall pools
    every (article, label) pair. Tone (and multiclass topics): overall ECE is the top-label ECE
    (confidence = highest score, outcome = it is the true tone), Brier the multiclass Brier score
    (sum over classes, averaged over articles), log-loss of the true class; per label, one class
    against the rest. ``scores`` are unrounded ``raw_scores`` rows."""
    out: dict[str, Any] = {}
    if topic_labels and topic_mode == "multilabel":
        P = np.array([[row["topic_scores"][l] for l in topic_labels] for row in scores], dtype=float).reshape(len(scores), len(topic_labels))
        Y = np.array([[l in r.topics for l in topic_labels] for r in records], dtype=float).reshape(len(records), len(topic_labels))
        per_label = {l: binary_calibration(P[:, j], Y[:, j]) for j, l in enumerate(topic_labels)}
        overall = binary_calibration(P.ravel(), Y.ravel())
        out["topic"] = {**overall, "max_label_ece": max((m["ece"] for m in per_label.values()), default=0.0),
                        "per_label": per_label}
    elif topic_labels:
        out["topic"] = _multiclass_calibration([r.topics[0] if r.topics else "" for r in records],
                                               [row["topic_scores"] for row in scores], list(topic_labels))
    if tone_labels:
        out["tone"] = _multiclass_calibration([r.tone for r in records], [row["tone_scores"] for row in scores], list(tone_labels))
    return out


def _multiclass_calibration(true: Sequence[str], scores: Sequence[dict[str, float]], labels: list[str]) -> dict[str, Any]:
    P = np.array([[s.get(l, 0.0) for l in labels] for s in scores], dtype=float).reshape(len(scores), len(labels))
    Y = np.array([[t == l for l in labels] for t in true], dtype=float).reshape(len(true), len(labels))
    if not len(P):
        return {"ece": 0.0, "brier": 0.0, "log_loss": 0.0, "per_label": {}}
    confidence = P.max(axis=1)
    correct = Y[np.arange(len(P)), P.argmax(axis=1)]
    true_p = np.clip((P * Y).sum(axis=1), _EPS, 1.0)
    return {
        "ece": _r(expected_calibration_error(confidence, correct)),
        "brier": _r(np.mean(((P - Y) ** 2).sum(axis=1))),
        "log_loss": _r(-np.mean(np.log(true_p))),
        "per_label": {l: binary_calibration(P[:, j], Y[:, j]) for j, l in enumerate(labels)},
    }
