"""The loaded model apps use: a portable model plus the manifest that describes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from artclf._portable import PortableModel
from artclf.manifest import Manifest
from artclf.outputs import PREDICT_KEYS, PROBA_KEYS, abstain, answer_with_empties, check_min_confidence, empty_result, pick

__all__ = ["Model"]


class Model:
    """A saved model version, scored by the numpy runtime: ``predict(texts)``,
    ``predict_proba(texts)``, ``classify(texts)``, ``explain(text)``; ``manifest``, ``version``,
    ``path``, ``topic_labels``, ``tone_labels`` describe it."""

    def __init__(self, portable: PortableModel, manifest: Manifest, path: Path | None = None) -> None:
        self._portable = portable
        self.manifest = manifest
        self.path = path
        self.topic_labels: list[str] = list(portable.topic_labels)
        self.tone_labels: list[str] = list(portable.tone_labels)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", ""))

    def empty_result(self) -> dict[str, Any]:
        """The answer for an empty or whitespace-only text (see ``artclf.outputs.empty_result``)."""
        return empty_result(bool(self.topic_labels), bool(self.tone_labels))

    def classify(self, texts: Sequence[str], min_confidence: float | None = None) -> list[dict[str, Any]]:
        """Labels and scores per text: {"topics", "topic_scores", "tone", "tone_scores"}; an empty
        or whitespace-only text gets ``empty_result()`` without being scored. With
        ``min_confidence`` a decision whose probability is below it is withheld: the label goes to
        "uncertain", the tone becomes "uncertain" (``artclf.outputs.abstain``)."""
        cut = check_min_confidence(min_confidence)
        results = answer_with_empties(texts, self._portable.classify, self.empty_result())
        return results if cut is None else [abstain(r, cut) for r in results]

    def predict(self, texts: Sequence[str], min_confidence: float | None = None) -> list[dict[str, Any]]:
        """{"topics": [...], "tone": ...} per text (plus "empty": True for an empty text, and
        "uncertain" with ``min_confidence``)."""
        return pick(self.classify(texts, min_confidence), PREDICT_KEYS)

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topic_scores": {label: p}, "tone_scores": {label: p}} per text (plus "empty": True)."""
        return pick(self.classify(texts), PROBA_KEYS)

    def explain(self, text: str, top: int = 5) -> dict[str, Any]:
        """classify() for one text plus "explanation": the ``top`` n-grams behind each predicted label."""
        return self.explain_batch([text], top)[0]

    def explain_batch(self, texts: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
        explained = answer_with_empties(texts, lambda t: self._portable.explain_batch(t, top), self.empty_result())
        return [r if "explanation" in r else r | {"explanation": {}} for r in explained]

    def raw_scores(self, texts: Sequence[str]) -> list[dict[str, dict[str, float]]]:
        """Unrounded scores per text, as the load-time canary check compares them."""
        return self._portable.raw_scores(list(texts))

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, topics={self.topic_labels}, tones={self.tone_labels})"
