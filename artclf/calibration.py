"""Calibration maps: a model's scores -> probabilities, as the manifest and the portable format
store them (FORMAT.md, "Calibration"). numpy only; the training side fits them
(``train.fit.calibrate``), every runtime applies them with these functions.

A topic label's map takes its *folded* decision value (the tuned threshold already subtracted,
so the plain pipeline predicts the label exactly when the value is > 0) to a probability:

* ``{"kind": "platt", "a": A, "b": B}``: ``1 / (1 + exp(-(A * d + B)))`` (A > 0);
* ``{"kind": "isotonic", "x": [...], "y": [...]}``: piecewise-linear through the points
  ``(x[i], y[i])`` (x increasing, y non-decreasing), constant beyond the ends (``numpy.interp``).

Each label's map carries its ``threshold`` on the probability scale, the map's value at 0: the
label is predicted when its probability is >= the threshold, which is the plain pipeline's
decision. A model saved without calibration has the identity ``platt`` map (A = 1, B = 0) and
threshold 0.5, which is what scores meant before.

The tone map is ``{"kind": "temperature", "scale": s}``: class probabilities ``p`` become
``p ** s / sum(p ** s)`` (softmax of ``s`` times the logits), which never changes the most
probable class, so the tone is the plain pipeline's.
"""

from __future__ import annotations

import operator
from itertools import repeat
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["IDENTITY", "CalibrationError", "binary_probability", "check_binary", "check_tone", "temper"]

IDENTITY: dict[str, Any] = {"kind": "platt", "a": 1.0, "b": 0.0, "threshold": 0.5}
# Bounds on a stored map, so a hostile file cannot make a reader allocate without limit.
MAX_POINTS = 100_000


class CalibrationError(ValueError):
    """A calibration map that is not one this runtime can apply."""


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and bool(np.isfinite(x))


def check_binary(spec: Any, where: str) -> dict[str, Any]:
    """A topic label's map, checked: known kind, finite numbers, monotone, a threshold in [0, 1]."""
    if not isinstance(spec, Mapping):
        raise CalibrationError(f"{where}: calibration must be an object")
    kind = spec.get("kind")
    if kind == "platt":
        if not (_finite(spec.get("a")) and _finite(spec.get("b")) and spec["a"] > 0):
            raise CalibrationError(f"{where}: platt calibration needs finite a > 0 and b")
    elif kind == "isotonic":
        x, y = spec.get("x"), spec.get("y")
        if not (isinstance(x, list) and isinstance(y, list) and 1 <= len(x) == len(y) <= MAX_POINTS
                and all(_finite(v) for v in x) and all(_finite(v) for v in y)):
            raise CalibrationError(f"{where}: isotonic calibration needs lists x and y of equal length (1..{MAX_POINTS}) of finite numbers")
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if np.any(np.diff(xs) <= 0) or np.any(np.diff(ys) < 0) or ys.min() < 0 or ys.max() > 1:
            raise CalibrationError(f"{where}: isotonic calibration needs increasing x and non-decreasing y in [0, 1]")
    else:
        raise CalibrationError(f"{where}: unknown calibration kind {kind!r} (platt or isotonic)")
    threshold = spec.get("threshold")
    if not (_finite(threshold) and 0.0 <= threshold <= 1.0):
        raise CalibrationError(f"{where}: calibration threshold must be a number in [0, 1]")
    return dict(spec)


def check_tone(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping) or spec.get("kind") != "temperature" or not _finite(spec.get("scale")) or spec["scale"] <= 0:
        raise CalibrationError(f"{where}: tone calibration must be {{\"kind\": \"temperature\", \"scale\": s > 0}}")
    return dict(spec)


def binary_probability(d: np.ndarray, spec: Mapping[str, Any]) -> np.ndarray:
    """Probabilities from folded decision values ``d`` under one label's map (float64)."""
    d = np.asarray(d, dtype=np.float64)
    if spec["kind"] == "platt":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-(float(spec["a"]) * d + float(spec["b"]))))
    return np.interp(d, np.asarray(spec["x"], dtype=np.float64), np.asarray(spec["y"], dtype=np.float64))


def temper(p: np.ndarray, spec: Mapping[str, Any] | None) -> np.ndarray:
    """Class probabilities (rows) under the tone map: ``p ** s`` renormalised per row."""
    if spec is None or float(spec["scale"]) == 1.0:
        return p
    with np.errstate(divide="ignore"):
        logp = np.log(np.asarray(p, dtype=np.float64)) * float(spec["scale"])
    logp -= logp.max(axis=1, keepdims=True)
    z = np.exp(logp)
    return z / z.sum(axis=1, keepdims=True)


def topic_maps(calibration: Mapping[str, Any] | None, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Each label's map from a manifest's ``calibration`` record (identity where none is stored)."""
    stored = (calibration or {}).get("topic") or {}
    return [dict(stored[label]) if label in stored else dict(IDENTITY) for label in labels]


# -- texts with too little evidence ----------------------------------------------------------------
#
# A text whose words branch holds fewer than ``min_terms`` distinct known words that are not stop
# words (one or two words, only stop words, only unknown words) is scored with maps fitted on
# such texts (one- and two-word views of held-out training articles' titles): an honest, low
# probability instead of what the full-text map makes of a two-word vector's extreme values. Its
# labels are then the runtime's, not the plain pipeline's (as with an empty text), and it never
# gets every topic at once. The record, under ``calibration.evidence``:
# {"min_terms": 3, "stop_words": [...], "topic": {label: map}, "tone": map or absent}.


def evidence_terms(terms: Sequence[str], vocabulary: Any, stop_words: Any) -> int:
    """How many distinct single-word terms of a text count as evidence: known to the model
    (``vocabulary`` None: hashed features, every term is) and not stop words."""
    # Set operations and C-level filters: no Python work per term (this runs on every text).
    distinct = set(terms).difference(stop_words)  # iterates the text's terms, not the stop list
    distinct.discard("")
    if vocabulary is not None:
        distinct = set(filter(vocabulary.__contains__, distinct))
    return len(distinct) - sum(map(operator.contains, distinct, repeat(" ")))


def check_evidence(spec: Any, labels: Sequence[str], where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise CalibrationError(f"{where}: evidence must be an object")
    min_terms = spec.get("min_terms")
    if not isinstance(min_terms, int) or isinstance(min_terms, bool) or not 1 <= min_terms <= 100:
        raise CalibrationError(f"{where}: evidence min_terms must be an integer in 1..100")
    stop = spec.get("stop_words")
    if not isinstance(stop, list) or not all(isinstance(w, str) for w in stop) or len(stop) > 10_000:
        raise CalibrationError(f"{where}: evidence stop_words must be a list of strings")
    topic = spec.get("topic") or {}
    if not isinstance(topic, Mapping) or set(topic) - set(labels):
        raise CalibrationError(f"{where}: evidence topic maps must be keyed by the model's labels")
    out = {"min_terms": min_terms, "stop_words": list(stop),
           "topic": {label: check_binary(m, f"{where} {label}") for label, m in topic.items()}}
    if spec.get("tone") is not None:
        out["tone"] = check_tone(spec["tone"], f"{where} tone")
    return out


def never_every_label(predicted: list[bool], probabilities: Sequence[float], thresholds: Sequence[float]) -> list[bool]:
    """A text with too little evidence never gets every topic: with two or more labels all
    predicted, the one with the smallest margin over its threshold (the first on ties) is dropped."""
    if len(predicted) >= 2 and all(predicted):
        margins = [p - t for p, t in zip(probabilities, thresholds)]
        out = list(predicted)
        out[margins.index(min(margins))] = False
        return out
    return predicted
