"""Fit an in-memory model (no saved version) on labeled texts: the label audit's evidence model and
the labeling session's background refits."""

from __future__ import annotations

from typing import Sequence

from train.config import Config
from train.fit.fit import fit_models
from train.model.model import ArticleModel


def fit_in_memory(texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], config: Config,
                  version: str = "in-memory") -> ArticleModel:
    """Both heads fitted as ``artclf train`` fits them, wrapped as a loaded model (not saved)."""
    fitted = fit_models(list(texts), [tuple(t) for t in topic_sets], list(tones), config)
    manifest = {
        "version": version,
        "labels": {"topics": list(config.labels.topics), "tone": list(config.labels.tone)},
        "shared_vectorizer": fitted.shares_vectorizer,
        "thresholds": fitted.thresholds,
    }
    return ArticleModel(fitted.topic, fitted.tone, manifest)
