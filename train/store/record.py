"""What a saved version records about its training: the one builder of a manifest's content.

The workflow, the benchmarks and ``compare`` all describe fitted models through
:func:`describe_fit`, so fields such as ``shared_vectorizer`` are computed one way everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artclf.manifest import Manifest
from train.config import Config
from train.fit.fit import FittedModels
from train.store.provenance import git_commit, library_versions, now_utc

__all__ = ["TOPIC_SCORES", "describe_fit"]

TOPIC_SCORES = ("calibrated probabilities: a topic is predicted when its score is >= its threshold "
                "(calibration.topic[label].threshold; thresholds[label].probability)")
TOPIC_SCORES_UNCALIBRATED = "threshold-adjusted: a topic is predicted when its score is >= 0.5"
TOPIC_SCORES_MULTICLASS = "class probabilities summing to 1: the topic with the highest score is predicted"


def describe_fit(
    config: Config,
    fitted: FittedModels,
    *,
    config_path: Path | None = None,
    dataset: dict[str, Any] | None = None,
    n_train: int | None = None,
    provenance: bool = True,
) -> Manifest:
    """The manifest content of a fit (metrics and canaries are added once they are known).

    ``provenance=False`` leaves out library versions and the git commit, for models that live
    only in memory (``compare`` folds).
    """
    manifest: Manifest = {
        "config_name": config.name,
        "config": config.to_dict(),
        "labels": {"topics": list(config.labels.topics), "tone": list(config.labels.tone)},
        "topic_mode": config.topic.mode,
        "thresholds": fitted.thresholds,
        "shared_vectorizer": fitted.shares_vectorizer,
        "topic_scores": (TOPIC_SCORES_MULTICLASS if config.topic.mode == "multiclass" else
                         TOPIC_SCORES_UNCALIBRATED if fitted.calibration.get("method", config.calibration.method) == "none"
                         else TOPIC_SCORES),
        "calibration": fitted.calibration,
    }
    if provenance:
        manifest.update({
            "created": now_utc(),
            "config_path": str(config_path) if config_path else None,
            "config_fingerprint": config.fingerprint(),
            "library_versions": library_versions(),
            "git": git_commit(),
        })
    if dataset is not None:
        manifest["dataset"] = dataset
    training: dict[str, Any] = {"timings": fitted.timings}
    if n_train is not None:
        training = {"n_train": n_train, **training}
    manifest["training"] = training
    return manifest
