"""The training workflow as library calls: ``train()`` builds the dataset when it is stale, fits
both heads, evaluates them, and saves a new version. The CLI, the benchmarks and the real-news
report call these functions; nothing here prints or imports the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artclf.manifest import Manifest
from train.progress import ProgressCallback, emit

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict[str, Any]
    manifest: Manifest


def train(
    config: Path | None = None,
    overrides: list[str] | None = None,
    *,
    on_error: str = "stop",
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train one experiment end to end and return the saved version with its metrics.

    ``on_error`` ("stop" or "skip") is what an unreadable article does, as in ``build_dataset``.
    ``progress`` is called with a :class:`train.progress.Progress` event at each stage (dataset,
    featurize, thresholds with fold counts, fit, evaluate, save; every batch in stream mode); the
    library itself prints nothing.
    """
    from train.config import load_config
    from train.data.dataset import build_dataset, load_splits
    from train.fit.fit import fit_models
    from train.fit.stream import fit_stream, training_mode
    from train.model.model import ArticleModel
    from artclf.canaries import CANARY_TEXTS, canary_scores
    from train.store.portable import portable_version_files
    from train.store.record import describe_fit
    from train.store.versions import check_writable, save_version

    from artclf.errors import ArtclfError

    if on_error not in ("stop", "skip"):
        raise ArtclfError(f"on_error must be stop or skip, got {on_error!r}")
    cfg = load_config(config, overrides)
    # Before any work: a read-only models folder is reported in a second, not after the fit.
    check_writable(cfg.train.models_dir)
    emit(progress, "dataset", message=f"checking {cfg.data.dataset_dir}")
    built = build_dataset(cfg, on_error=on_error, force=False)
    emit(progress, "dataset", message=f"{'rebuilt' if built.rebuilt else 'reused'} {built.path}: {built.reason}")
    for problem in built.skipped:
        emit(progress, "dataset", message=f"skipped: {problem}")
    mode = training_mode(cfg, built.counts["train"]["n"])
    emit(progress, "fit", message=f"{mode} mode, {built.counts['train']['n']:,} training articles")
    if mode == "stream":
        fitted, n_train = fit_stream(built.path, cfg, progress)
    else:
        train_rows = load_splits(built.path, ["train"])["train"]
        n_train = len(train_rows)
        fitted = fit_models([r.text for r in train_rows], [r.topics for r in train_rows], [r.tone for r in train_rows],
                            cfg, progress)
        del train_rows
    dataset = {"fingerprint": built.fingerprint, "path": str(built.path), "counts": built.counts}
    manifest = describe_fit(cfg, fitted, config_path=config, dataset=dataset, n_train=n_train)
    manifest["training"]["mode"] = mode
    model = ArticleModel(fitted.topic, fitted.tone, manifest)
    metrics = {}
    for name in ("validation", "test"):
        if built.counts.get(name, {}).get("n"):
            metrics[name] = evaluate_split(model, built.path, name, cfg.labels.topics, cfg.labels.tone, progress,
                                           topic_mode=cfg.topic.mode)
    manifest["metrics"] = metrics
    manifest["canaries"] = canary_scores(model)
    parity_texts = list(CANARY_TEXTS) + parity_sample(built.path, built.counts)
    portable_files, manifest["portable"] = portable_version_files(
        fitted.topic, fitted.tone, cfg.labels.topics, cfg.labels.tone, parity_texts, cfg.topic.mode, fitted.calibration)
    estimators = {name: est for name, est in (("topic", fitted.topic), ("tone", fitted.tone)) if est is not None}
    emit(progress, "save", message=f"new version in {cfg.train.models_dir}")
    path = save_version(cfg.train.models_dir, estimators, manifest, portable_files)
    return TrainResult(path.name, path, metrics, manifest)


def parity_sample(path: Path, counts: dict[str, Any], limit: int = 5000) -> list[str]:
    """Texts of the evaluation splits for the portable format's parity gate: all of them up to
    ``limit`` (every split of the seed corpus), a bounded first part of a large dataset."""
    from train.data.dataset import iter_records

    texts: list[str] = []
    for name in ("validation", "test"):
        if not counts.get(name, {}).get("n"):
            continue
        for batch in iter_records(path, name, 1024):
            texts += [r.text for r in batch][: limit - len(texts)]
            if len(texts) >= limit:
                return texts
    return texts


def evaluate_split(model: Any, path: Path, name: str, topics: Any, tones: Any, progress: ProgressCallback | None = None,
                   batch_size: int = 4096, topic_mode: str = "multilabel") -> dict[str, Any]:
    """Metrics of ``model`` on one split of a saved dataset, read and predicted in batches."""
    from train.data.dataset import Record, iter_records
    from train.evaluate.metrics import calibration_metrics, evaluate_predictions

    truth: list[Record] = []
    predictions: list[dict[str, Any]] = []
    scores: list[dict[str, dict[str, float]]] = []
    for batch in iter_records(path, name, batch_size):
        texts = [r.text for r in batch]
        predictions += model.predict(texts)
        # Unrounded scores for the calibration metrics (ECE, Brier, log-loss).
        scores += model.raw_scores(texts)
        # Only the labels are kept: the texts of a large split would not fit beside the model.
        truth += [Record(id=r.id, text="", topics=r.topics, tone=r.tone) for r in batch]
        emit(progress, f"evaluate {name}", len(truth), 0, message=f"{len(truth):,} articles")
    metrics = evaluate_predictions(truth, predictions, topics, tones, topic_mode)
    metrics["calibration"] = calibration_metrics(truth, scores, topics, tones, topic_mode)
    return metrics
