"""The loaded model: both saved pipelines behind ``predict`` / ``predict_proba``.

Topic scores are threshold-adjusted: each label's tuned threshold is folded into its classifier,
so a label is predicted exactly when its score is >= 0.5 (the raw thresholds are in the manifest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class ArticleModel:
    """A saved model version: ``predict(texts)``, ``predict_proba(texts)``, ``classify(texts)``."""

    def __init__(self, topic: Any, tone: Any, manifest: dict[str, Any], path: Path | None = None) -> None:
        self.topic_pipeline = topic
        self.tone_pipeline = tone
        self.manifest = manifest
        self.path = path
        self.topic_labels: list[str] = list(manifest["labels"]["topics"])
        # Scores are reported in the configured label order, not the classifier's sorted classes_.
        classes = [str(c) for c in tone.classes_]
        configured = [t for t in manifest["labels"].get("tone", []) if t in classes]
        self.tone_labels: list[str] = configured + [c for c in classes if c not in configured]
        self._tone_columns = [classes.index(t) for t in self.tone_labels]

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", ""))

    def _scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        texts = list(texts)
        if self.manifest.get("shared_vectorizer"):
            # Both pipelines were fitted with one vectorizer: transform once, not twice.
            X = self.topic_pipeline[:-1].transform(texts)
            topic_clf, tone_clf = self.topic_pipeline[-1], self.tone_pipeline[-1]
            topic_in, tone_in = X, X
        else:
            topic_clf, tone_clf = self.topic_pipeline, self.tone_pipeline
            topic_in, tone_in = texts, texts
        if hasattr(topic_clf, "predict_proba") and all(hasattr(e, "predict_proba") for e in _estimators(topic_clf)):
            topic = np.asarray(topic_clf.predict_proba(topic_in), dtype=float)
        else:
            topic = _sigmoid(np.asarray(topic_clf.decision_function(topic_in), dtype=float))
        if topic.ndim == 1:
            topic = topic[:, None]
        if hasattr(tone_clf, "predict_proba"):
            tone = np.asarray(tone_clf.predict_proba(tone_in), dtype=float)
        else:
            decision = np.asarray(tone_clf.decision_function(tone_in), dtype=float)
            tone = _softmax(decision if decision.ndim == 2 else np.column_stack([-decision, decision]))
        return topic, tone[:, self._tone_columns]

    def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Labels and scores per text: {"topics", "topic_scores", "tone", "tone_scores"}."""
        topic, tone = self._scores(texts)
        out = []
        for t_row, s_row in zip(topic, tone):
            out.append(
                {
                    "topics": [label for label, p in zip(self.topic_labels, t_row) if p >= 0.5],
                    "topic_scores": {label: round(float(p), 4) for label, p in zip(self.topic_labels, t_row)},
                    "tone": self.tone_labels[int(np.argmax(s_row))],
                    "tone_scores": {label: round(float(p), 4) for label, p in zip(self.tone_labels, s_row)},
                }
            )
        return out

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topics": [...], "tone": ...} per text."""
        return [{"topics": r["topics"], "tone": r["tone"]} for r in self.classify(texts)]

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topic_scores": {label: p}, "tone_scores": {label: p}} per text."""
        return [{"topic_scores": r["topic_scores"], "tone_scores": r["tone_scores"]} for r in self.classify(texts)]

    def __repr__(self) -> str:
        return f"ArticleModel(version={self.version!r}, topics={self.topic_labels}, tones={self.tone_labels})"


def _estimators(clf: Any) -> list[Any]:
    return list(getattr(clf, "estimators_", [clf]))
