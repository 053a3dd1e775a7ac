"""The shape of an answer, shared by both runtimes (``artclf.Model`` and the training side's
``ArticleModel``): which keys ``predict`` and ``predict_proba`` keep, and the explicit answer for
an empty text."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from artclf.text import is_blank

__all__ = ["PREDICT_KEYS", "PROBA_KEYS", "answer_with_empties", "empty_result", "pick"]

PREDICT_KEYS = ("topics", "topic", "tone", "empty")
PROBA_KEYS = ("topic_scores", "tone_scores", "empty")


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
