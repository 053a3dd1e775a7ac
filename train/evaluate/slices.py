"""Where a model is right and how sure it may be: per-slice figures with bootstrap confidence
intervals (``evaluate --by FIELD``), the risk-coverage table (what abstaining below a confidence
buys), and the most confident mistakes (``evaluate --errors N``)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from artclf.errors import ArtclfError

__all__ = ["COVERAGES", "SMALL_SLICE", "by_field", "confident_errors", "field_value", "length_bucket", "risk_coverage"]

COVERAGES = (1.0, 0.9, 0.8, 0.7)
# Slices smaller than this get a warning: their intervals are wide and their figures unstable.
SMALL_SLICE = 30
BOOTSTRAP = 1000
# Input length buckets in words (`--by length`): a headline, a headline and a lead, a short item,
# an article, a long article.
LENGTH_BUCKETS = ((2, "1-2 words"), (15, "3-15 words"), (60, "16-60 words"), (400, "61-400 words"), (math.inf, "401+ words"))


def length_bucket(text: str) -> str:
    words = len(text.split())
    return next(name for top, name in LENGTH_BUCKETS if words <= top)


def _builtin(record: Any, name: str) -> Any:
    if name == "length":
        return length_bucket(record.text)
    if name == "year":
        published = record.published or record.fields.get("year") or record.fields.get("published")
        return str(published)[:4] if published else None
    if name == "source" and "source" not in record.fields:
        return record.id.split("/")[0] if "/" in record.id else None
    if name in ("label_source", "topic_source", "tone_source"):
        return getattr(record, name)
    return record.fields.get(name)


def field_value(record: Any, name: str) -> str | None:
    value = _builtin(record, name)
    return None if value is None or value == "" else str(value)


def available_fields(records: Sequence[Any]) -> list[str]:
    names = {"length", "label_source", "topic_source", "tone_source"}
    names |= {k for r in records for k in r.fields}
    if any(field_value(r, "year") for r in records):
        names.add("year")
    if any(field_value(r, "source") for r in records):
        names.add("source")
    return sorted(names)


def _bootstrap(values: np.ndarray, statistic: Any, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile interval of ``statistic`` over resamples of the rows of ``values``."""
    n = len(values)
    draws = rng.integers(0, n, size=(BOOTSTRAP, n))
    stats = np.array([statistic(values[d]) for d in draws])
    return float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))


def _micro_f1(counts: np.ndarray) -> float:
    tp, fp, fn = counts[:, 0].sum(), counts[:, 1].sum(), counts[:, 2].sum()
    return float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 1.0


def by_field(records: Sequence[Any], results: Sequence[dict[str, Any]], name: str, topic_labels: Sequence[str],
             tone_labels: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Per value of field ``name``: n, topic micro-F1 and tone accuracy with bootstrap 95% CIs, and
    a warning for slices under :data:`SMALL_SLICE` examples. Records without the field are one
    slice, ``(none)``; a field no record has is an error naming the fields there are."""
    values = [field_value(r, name) for r in records]
    if all(v is None for v in values):
        raise ArtclfError(f"--by {name}: no record has that field; fields in this data: {', '.join(available_fields(records))}")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(values):
        groups[v if v is not None else "(none)"].append(i)
    rng = np.random.default_rng(seed)
    slices = {}
    for value in sorted(groups, key=lambda v: (_bucket_order(name, v), v)):
        idx = groups[value]
        entry: dict[str, Any] = {"n": len(idx)}
        if topic_labels:
            counts = np.array([[len(set(results[i]["topics"]) & set(records[i].topics)),
                                len(set(results[i]["topics"]) - set(records[i].topics)),
                                len(set(records[i].topics) - set(results[i]["topics"]))] for i in idx], dtype=float)
            lo, hi = _bootstrap(counts, _micro_f1, rng)
            entry["topic_micro_f1"] = {"value": round(_micro_f1(counts), 4), "ci95": [round(lo, 4), round(hi, 4)]}
        if tone_labels:
            correct = np.array([results[i]["tone"] == records[i].tone for i in idx], dtype=float)
            lo, hi = _bootstrap(correct, np.mean, rng)
            entry["tone_accuracy"] = {"value": round(float(correct.mean()), 4), "ci95": [round(lo, 4), round(hi, 4)]}
        if len(idx) < SMALL_SLICE:
            entry["warning"] = f"only {len(idx)} examples (under {SMALL_SLICE}): the interval is wide, read it with care"
        slices[value] = entry
    return {"field": name, "bootstrap": BOOTSTRAP, "slices": slices}


def _bucket_order(name: str, value: str) -> int:
    if name == "length":
        names = [n for _, n in LENGTH_BUCKETS]
        return names.index(value) if value in names else len(names)
    return 0


def _topic_decisions(records: Sequence[Any], results: Sequence[dict[str, Any]], raw: Sequence[dict[str, Any]],
                     labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confidence, predicted, true) per (record, label) decision."""
    conf, pred, true = [], [], []
    for record, result, scores in zip(records, results, raw):
        for label in labels:
            p = scores["topic_scores"][label]
            on = label in result["topics"]
            conf.append(p if on else 1.0 - p)
            pred.append(on)
            true.append(label in record.topics)
    return np.array(conf), np.array(pred, dtype=bool), np.array(true, dtype=bool)


def risk_coverage(records: Sequence[Any], results: Sequence[dict[str, Any]], raw: Sequence[dict[str, Any]],
                  topic_labels: Sequence[str], tone_labels: Sequence[str], coverages: Sequence[float] = COVERAGES) -> dict[str, Any]:
    """What ``--min-confidence`` buys: keeping only the most confident decisions (a share
    ``coverage`` of them), the precision of the topics still predicted, the accuracy of the topic
    decisions (yes and no) and of the tones, and the confidence cut that keeps that share."""
    out: dict[str, Any] = {}
    if topic_labels and results and "topic" not in results[0]:
        conf, pred, true = _topic_decisions(records, results, raw, topic_labels)
        order = np.argsort(-conf, kind="stable")
        rows = []
        for c in coverages:
            keep = order[:max(1, int(math.ceil(c * len(order))))]
            positives = pred[keep]
            rows.append({"coverage": c, "min_confidence": round(float(conf[keep].min()), 4),
                         "precision": round(float((true[keep] & positives).sum() / max(positives.sum(), 1)), 4),
                         "recall": round(float((true[keep] & positives).sum() / max(true.sum(), 1)), 4),
                         "accuracy": round(float((true[keep] == positives).mean()), 4), "decisions": int(len(keep))})
        out["topic"] = rows
    if tone_labels and results:
        conf = np.array([scores["tone_scores"][result["tone"]] for result, scores in zip(results, raw)])
        correct = np.array([result["tone"] == record.tone for record, result in zip(records, results)])
        order = np.argsort(-conf, kind="stable")
        rows = []
        for c in coverages:
            keep = order[:max(1, int(math.ceil(c * len(order))))]
            rows.append({"coverage": c, "min_confidence": round(float(conf[keep].min()), 4),
                         "accuracy": round(float(correct[keep].mean()), 4), "articles": int(len(keep))})
        out["tone"] = rows
    return out


def confident_errors(loaded: Any, records: Sequence[Any], results: Sequence[dict[str, Any]], raw: Sequence[dict[str, Any]],
                     n: int, top: int = 5) -> list[dict[str, Any]]:
    """The ``n`` mistakes the model was surest of (topic labels wrongly predicted or missed, wrong
    tones), each with the n-grams behind the wrong decision: for a wrong label or tone, the
    evidence that pushed it; for a missed label, the evidence for what was predicted instead."""
    topic_labels = list(loaded.topic_labels)
    mistakes = []
    for i, (record, result, scores) in enumerate(zip(records, results, raw)):
        for label in topic_labels if "topic" not in result else []:
            on, truth = label in result["topics"], label in record.topics
            if on != truth:
                p = scores["topic_scores"][label]
                mistakes.append((p if on else 1.0 - p, i, "topic", label,
                                 "false positive" if on else "missed"))
        if "tone" in result and result["tone"] != record.tone:
            mistakes.append((scores["tone_scores"][result["tone"]], i, "tone", result["tone"], f"true {record.tone}"))
    mistakes.sort(key=lambda m: (-m[0], m[1]))
    chosen = mistakes[:n]
    explained = loaded.explain_batch([records[i].text for _, i, *_ in chosen], top) if chosen else []
    out = []
    for (confidence, i, task, label, kind), why in zip(chosen, explained):
        explanation = why.get("explanation", {})
        if task == "tone":
            evidence = explanation.get("tone", {}).get(label, [])
        elif kind == "false positive":
            evidence = explanation.get("topics", {}).get(label, [])
        else:
            evidence = [g for grams in explanation.get("topics", {}).values() for g in grams][:top]
        out.append({"id": records[i].id, "task": task, "label": label, "kind": kind, "confidence": round(float(confidence), 4),
                    "true_topics": list(records[i].topics), "predicted_topics": list(results[i].get("topics", [])),
                    "evidence": [g["ngram"] for g in evidence], "text": records[i].text[:120].replace("\n", " ")})
    return out
