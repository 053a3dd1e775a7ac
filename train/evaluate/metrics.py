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
