"""The training workflow as library calls: ``train()`` builds the dataset when it is stale, fits
both heads, evaluates them, and saves a new version. The CLI, the benchmarks and the real-news
report call these functions; nothing here prints or imports the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artclf.manifest import Manifest

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict[str, Any]
    manifest: Manifest


def train(config: Path | None = None, overrides: list[str] | None = None) -> TrainResult:
    """Train one experiment end to end and return the saved version with its metrics."""
    from train.config import load_config
    from train.data.dataset import build_dataset, load_splits
    from train.evaluate.metrics import evaluate_predictions
    from train.fit.fit import fit_models
    from train.model.model import ArticleModel
    from artclf.canaries import CANARY_TEXTS, canary_scores
    from train.store.portable import portable_version_files
    from train.store.record import describe_fit
    from train.store.versions import check_writable, save_version

    cfg = load_config(config, overrides)
    check_writable(cfg.train.models_dir)
    built = build_dataset(cfg, force=False)
    splits = load_splits(built.path)
    train_rows = splits["train"]
    fitted = fit_models([r.text for r in train_rows], [r.topics for r in train_rows], [r.tone for r in train_rows], cfg)
    dataset = {"fingerprint": built.fingerprint, "path": str(built.path), "counts": built.counts}
    manifest = describe_fit(cfg, fitted, config_path=config, dataset=dataset, n_train=len(train_rows))
    model = ArticleModel(fitted.topic, fitted.tone, manifest)
    metrics = {}
    for name in ("validation", "test"):
        rows = splits.get(name, [])
        if rows:
            metrics[name] = evaluate_predictions(rows, model.predict([r.text for r in rows]), cfg.labels.topics, cfg.labels.tone)
    manifest["metrics"] = metrics
    manifest["canaries"] = canary_scores(model)
    parity_texts = list(CANARY_TEXTS) + [r.text for name in ("validation", "test") for r in splits.get(name, [])]
    portable_files, manifest["portable"] = portable_version_files(
        fitted.topic, fitted.tone, cfg.labels.topics, cfg.labels.tone, parity_texts)
    estimators = {name: est for name, est in (("topic", fitted.topic), ("tone", fitted.tone)) if est is not None}
    path = save_version(cfg.train.models_dir, estimators, manifest, portable_files)
    return TrainResult(path.name, path, metrics, manifest)
