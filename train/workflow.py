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


def train(config: Path | None = None, overrides: list[str] | None = None, progress: ProgressCallback | None = None) -> TrainResult:
    """Train one experiment end to end and return the saved version with its metrics.

    ``progress`` is called with a :class:`train.progress.Progress` event at each stage (and every
    batch in stream mode); the library itself prints nothing.
    """
    from train.config import load_config
    from train.data.dataset import build_dataset, load_splits
    from train.fit.fit import fit_models
    from train.fit.stream import fit_stream, training_mode
    from train.model.model import ArticleModel
    from train.store.canaries import canary_scores
    from train.store.record import describe_fit
    from train.store.versions import check_writable, save_version

    cfg = load_config(config, overrides)
    check_writable(cfg.train.models_dir)
    emit(progress, "dataset", message=f"checking {cfg.data.dataset_dir} (rebuilt when its inputs changed)")
    built = build_dataset(cfg, force=False)
    mode = training_mode(cfg, built.counts["train"]["n"])
    emit(progress, "fit", message=f"{mode} mode, {built.counts['train']['n']:,} training articles")
    if mode == "stream":
        fitted, n_train = fit_stream(built.path, cfg, progress)
    else:
        train_rows = load_splits(built.path, ["train"])["train"]
        n_train = len(train_rows)
        fitted = fit_models([r.text for r in train_rows], [r.topics for r in train_rows], [r.tone for r in train_rows], cfg)
        del train_rows
    dataset = {"fingerprint": built.fingerprint, "path": str(built.path), "counts": built.counts}
    manifest = describe_fit(cfg, fitted, config_path=config, dataset=dataset, n_train=n_train)
    manifest["training"]["mode"] = mode
    model = ArticleModel(fitted.topic, fitted.tone, manifest)
    metrics = {}
    for name in ("validation", "test"):
        if built.counts.get(name, {}).get("n"):
            metrics[name] = evaluate_split(model, built.path, name, cfg.labels.topics, cfg.labels.tone, progress)
    manifest["metrics"] = metrics
    manifest["canaries"] = canary_scores(model)
    estimators = {name: est for name, est in (("topic", fitted.topic), ("tone", fitted.tone)) if est is not None}
    emit(progress, "save", message=str(cfg.train.models_dir))
    path = save_version(cfg.train.models_dir, estimators, manifest)
    return TrainResult(path.name, path, metrics, manifest)


def evaluate_split(model: Any, path: Path, name: str, topics: Any, tones: Any, progress: ProgressCallback | None = None,
                   batch_size: int = 4096) -> dict[str, Any]:
    """Metrics of ``model`` on one split of a saved dataset, read and predicted in batches."""
    from train.data.dataset import Record, iter_records
    from train.evaluate.metrics import evaluate_predictions

    truth: list[Record] = []
    predictions: list[dict[str, Any]] = []
    for batch in iter_records(path, name, batch_size):
        predictions += model.predict([r.text for r in batch])
        # Only the labels are kept: the texts of a large split would not fit beside the model.
        truth += [Record(id=r.id, text="", topics=r.topics, tone=r.tone) for r in batch]
        emit(progress, f"evaluate {name}", len(truth), 0, message=f"{len(truth):,} articles")
    return evaluate_predictions(truth, predictions, topics, tones)
