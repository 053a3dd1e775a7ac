"""The shape of an answer, shared by both runtimes (``artclf.Model`` and the training side's
``ArticleModel``): which keys ``predict`` and ``predict_proba`` keep, and the explicit answer for
an empty text."""

from __future__ import annotations

from itertools import repeat
from typing import Any, Callable, Sequence

from artclf.text import is_blank

__all__ = ["PREDICT_KEYS", "answers_from_scores", "PROBA_KEYS", "UNCERTAIN", "abstain", "answer_with_empties", "check_min_confidence", "empty_result", "pick"]

PREDICT_KEYS = ("topics", "topic", "tone", "uncertain", "low_evidence", "empty")
# What a label or the tone becomes when the model is not confident enough to decide it.
UNCERTAIN = "uncertain"
PROBA_KEYS = ("topic_scores", "tone_scores", "low_evidence", "empty")


def empty_result(has_topic: bool, has_tone: bool) -> dict[str, Any]:
    """The answer for an empty or whitespace-only text (:func:`artclf.text.is_blank`): no labels,
    no scores and ``"empty": True``, never a guess from the model's priors."""
    out: dict[str, Any] = {}
    if has_topic:
        out |= {"topics": [], "topic_scores": {}}
    if has_tone:
        out |= {"tone": None, "tone_scores": {}}
    return out | {"empty": True}


def answer_with_empties(texts: Sequence[str], answer: Callable[[list[str]], list[dict[str, Any]]],
                        empty: dict[str, Any]) -> list[dict[str, Any]]:
    """``answer(non-blank texts)`` per text, and a copy of ``empty`` for blank ones, in order."""
    texts = list(texts)
    blank = [is_blank(t) for t in texts]
    if not any(blank):
        return answer(texts)
    answers = iter(answer([t for t, b in zip(texts, blank) if not b]) if not all(blank) else [])
    return [dict(empty) if b else next(answers) for b in blank]


def pick(results: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in keys if k in r} for r in results]


def check_min_confidence(min_confidence: float | None) -> float | None:
    from artclf.errors import ArtclfError

    if min_confidence is None:
        return None
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) or not 0.0 <= min_confidence <= 1.0:
        raise ArtclfError(f"min_confidence must be a number in [0, 1], got {min_confidence!r}")
    return float(min_confidence)


def abstain(result: dict[str, Any], min_confidence: float | None) -> dict[str, Any]:
    """``result`` with the decisions its scores do not support at ``min_confidence`` withheld.

    A topic label's confidence is its probability when it is predicted, one minus it when it is
    not; a label below ``min_confidence`` leaves ``topics`` (if it was there) and is listed in
    ``uncertain`` instead: the model says neither yes nor no. The tone (and a multiclass
    ``topic``) becomes ``"uncertain"`` when its probability is below ``min_confidence``. Empty
    results and ``min_confidence=None`` pass unchanged; ``uncertain`` is present (maybe empty)
    whenever a cut is given and the model has topics."""
    if min_confidence is None or result.get("empty"):
        return result
    out = dict(result)
    scores = result.get("topic_scores")
    if scores is not None:
        if "topic" in result:  # multiclass: one topic, its probability is its confidence
            top = result["topic"]
            if scores.get(top, 0.0) < min_confidence:
                out["topic"], out["topics"], out["uncertain"] = UNCERTAIN, [], [top]
            else:
                out["uncertain"] = []
        else:
            predicted = set(result.get("topics", []))
            unsure = [label for label, p in scores.items()
                      if (p if label in predicted else 1.0 - p) < min_confidence]
            out["topics"] = [label for label in result.get("topics", []) if label not in unsure]
            out["uncertain"] = unsure
    tone = result.get("tone")
    if tone is not None and result.get("tone_scores", {}).get(tone, 0.0) < min_confidence:
        out["tone"] = UNCERTAIN
    return out


def answers_from_scores(
    topic: Any, tone: Any, *, topic_labels: Sequence[str], tone_labels: Sequence[str],
    topic_thresholds: Sequence[float], multiclass: bool, n: int, low: Any = None,
) -> list[dict[str, Any]]:
    """Per text, labels and rounded scores from score arrays: the one answer shape both runtimes
    give. A multiclass topic head gives "topic" and a one-element "topics"; a multi-label head
    predicts each label at or above its threshold, and a low-evidence text (``low``) never gets
    every label at once."""
    import numpy as np

    from artclf.calibration import never_every_label

    out: list[dict[str, Any]] = [{} for _ in range(n)]
    # Python floats once per matrix (tolist) and round() through map: no numpy call per score.
    if topic is not None:
        for i, (row, scores) in enumerate(zip(out, np.asarray(topic, dtype=np.float64).tolist())):
            if multiclass:
                row["topic"] = topic_labels[scores.index(max(scores))]
                row["topics"] = [row["topic"]]
            else:
                on = [p >= t for p, t in zip(scores, topic_thresholds)]
                if low is not None and low[i]:
                    on = never_every_label(on, scores, topic_thresholds)
                row["topics"] = [label for label, keep in zip(topic_labels, on) if keep]
            row["topic_scores"] = dict(zip(topic_labels, map(round, scores, repeat(4))))
    if tone is not None:
        for row, scores in zip(out, np.asarray(tone, dtype=np.float64).tolist()):
            row["tone"] = tone_labels[scores.index(max(scores))]
            row["tone_scores"] = dict(zip(tone_labels, map(round, scores, repeat(4))))
    if low is not None:
        for row, flag in zip(out, low):
            if flag:
                row["low_evidence"] = True
    return out
