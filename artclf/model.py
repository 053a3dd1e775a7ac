"""The loaded model apps use: a portable model plus the manifest that describes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from artclf._portable import PortableModel
from artclf.manifest import Manifest

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

    def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Labels and scores per text: {"topics", "topic_scores", "tone", "tone_scores"}."""
        return self._portable.classify(list(texts))

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topics": [...], "tone": ...} per text."""
        return self._portable.predict(list(texts))

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topic_scores": {label: p}, "tone_scores": {label: p}} per text."""
        return self._portable.predict_proba(list(texts))

    def explain(self, text: str, top: int = 5) -> dict[str, Any]:
        """classify() for one text plus "explanation": the ``top`` n-grams behind each predicted label."""
        return self._portable.explain_batch([text], top)[0]

    def explain_batch(self, texts: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
        return self._portable.explain_batch(list(texts), top)

    def raw_scores(self, texts: Sequence[str]) -> list[dict[str, dict[str, float]]]:
        """Unrounded scores per text, as the load-time canary check compares them."""
        return self._portable.raw_scores(list(texts))

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, topics={self.topic_labels}, tones={self.tone_labels})"
