"""The shape of an answer, shared by both runtimes (``artclf.Model`` and the training side's
``ArticleModel``): which keys ``predict`` and ``predict_proba`` keep, and the explicit answer for
an empty text."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from artclf.text import is_blank

__all__ = ["PREDICT_KEYS", "PROBA_KEYS", "UNCERTAIN", "abstain", "answer_with_empties", "check_min_confidence", "empty_result", "pick"]

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
