"""The training workflow as library calls: ``train()`` builds the dataset when it is stale, fits
both heads, evaluates them, and saves a new version. The CLI, the benchmarks and the real-news
report call these functions; nothing here prints or imports the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from artclf.manifest import Manifest

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict[str, Any]
    manifest: Manifest


def _silent(stage: str, message: str, done: int | None = None, total: int | None = None) -> None:
    return None


def train(
    config: Path | None = None,
    overrides: list[str] | None = None,
    *,
    on_error: str = "stop",
    progress: Callable[..., None] | None = None,
) -> TrainResult:
    """Train one experiment end to end and return the saved version with its metrics.

    ``on_error`` ("stop" or "skip") is what an unreadable article does, as in ``build_dataset``.
    ``progress(stage, message, done=None, total=None)`` hears each stage as it starts (dataset,
    featurize, thresholds with fold counts, fit, evaluate, save); nothing here prints.
    """
    from train.config import load_config
    from train.data.dataset import build_dataset, load_splits
    from train.evaluate.metrics import evaluate_predictions
    from train.fit.fit import fit_models
    from train.model.model import ArticleModel
    from artclf.canaries import CANARY_TEXTS, canary_scores
    from train.store.portable import portable_version_files
    from train.store.record import describe_fit
    from train.store.versions import check_writable, save_version

    from artclf.errors import ArtclfError

    report = progress or _silent
    if on_error not in ("stop", "skip"):
        raise ArtclfError(f"on_error must be stop or skip, got {on_error!r}")
    cfg = load_config(config, overrides)
    # Before any work: a read-only models folder is reported in a second, not after the fit.
    check_writable(cfg.train.models_dir)
    report("dataset", f"checking {cfg.data.dataset_dir}")
    built = build_dataset(cfg, on_error=on_error, force=False)
    report("dataset", f"{'rebuilt' if built.rebuilt else 'reused'} {built.path}: {built.reason}")
    for problem in built.skipped:
        report("dataset", f"skipped: {problem}")
    splits = load_splits(built.path)
    train_rows = splits["train"]
    fitted = fit_models([r.text for r in train_rows], [r.topics for r in train_rows], [r.tone for r in train_rows], cfg, report)
    dataset = {"fingerprint": built.fingerprint, "path": str(built.path), "counts": built.counts}
    manifest = describe_fit(cfg, fitted, config_path=config, dataset=dataset, n_train=len(train_rows))
    model = ArticleModel(fitted.topic, fitted.tone, manifest)
    metrics = {}
    for name in ("validation", "test"):
        rows = splits.get(name, [])
        if rows:
            report("evaluate", f"{name} split ({len(rows)} articles)")
            metrics[name] = evaluate_predictions(rows, model.predict([r.text for r in rows]), cfg.labels.topics,
                                                 cfg.labels.tone, cfg.topic.mode)
    manifest["metrics"] = metrics
    manifest["canaries"] = canary_scores(model)
    parity_texts = list(CANARY_TEXTS) + [r.text for name in ("validation", "test") for r in splits.get(name, [])]
    portable_files, manifest["portable"] = portable_version_files(
        fitted.topic, fitted.tone, cfg.labels.topics, cfg.labels.tone, parity_texts, cfg.topic.mode)
    estimators = {name: est for name, est in (("topic", fitted.topic), ("tone", fitted.tone)) if est is not None}
    report("save", f"new version in {cfg.train.models_dir}")
    path = save_version(cfg.train.models_dir, estimators, manifest, portable_files)
    return TrainResult(path.name, path, metrics, manifest)
