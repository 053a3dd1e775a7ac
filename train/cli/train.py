"""`artclf train`: build the dataset if needed, fit both tasks, evaluate, save a new version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from train.cli._util import SET_HELP, cli_errors, config_path


@dataclass
class TrainResult:
    version: str
    path: Path
    metrics: dict[str, Any]
    manifest: dict[str, Any]


def train(config: Path | None = None, overrides: list[str] | None = None) -> TrainResult:
    """Train one experiment end to end and return the saved version with its metrics."""
    from train.config import load_config
    from train.data.dataset import build_dataset, load_splits
    from train.fit.fit import fit_models
    from train.evaluate.metrics import evaluate_predictions
    from train.model.model import ArticleModel
    from train.store.registry import canary_scores, git_commit, library_versions, now_utc, save_version

    cfg = load_config(config, overrides)
    built = build_dataset(cfg, force=False)
    splits = load_splits(built.path)
    train_rows = splits["train"]
    fitted = fit_models([r.text for r in train_rows], [r.topics for r in train_rows], [r.tone for r in train_rows], cfg)

    manifest: dict[str, Any] = {
        "created": now_utc(),
        "config_name": cfg.name,
        "config_path": str(config) if config else None,
        "config_fingerprint": cfg.fingerprint(),
        "config": cfg.to_dict(),
        "labels": {"topics": list(cfg.labels.topics), "tone": list(cfg.labels.tone)},
        "thresholds": fitted.thresholds,
        "shared_vectorizer": True,
        "topic_scores": "threshold-adjusted: a topic is predicted when its score is >= 0.5",
        "dataset": {"fingerprint": built.fingerprint, "path": str(built.path), "counts": built.counts},
        "library_versions": library_versions(),
        "git": git_commit(),
        "training": {"n_train": len(train_rows), "timings": fitted.timings},
    }
    model = ArticleModel(fitted.topic, fitted.tone, manifest)
    metrics = {}
    for name in ("validation", "test"):
        rows = splits.get(name, [])
        if rows:
            metrics[name] = evaluate_predictions(rows, model.predict([r.text for r in rows]), cfg.labels.topics, cfg.labels.tone)
    manifest["metrics"] = metrics
    manifest["canaries"] = canary_scores(model)
    estimators = {name: est for name, est in (("topic", fitted.topic), ("tone", fitted.tone)) if est is not None}
    path = save_version(cfg.train.models_dir, estimators, manifest)
    return TrainResult(path.name, path, metrics, manifest)


def train_cli(
    config: Optional[Path] = typer.Argument(None, help="Experiment config (default: configs/default.toml)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Train the topic and tone models, evaluate them, and save a new model version."""
    with cli_errors():
        from train.cli.evaluate import format_metrics

        result = train(config_path(config), set_)
        typer.echo(f"saved {result.version} -> {result.path}")
        for split, metrics in result.metrics.items():
            typer.echo(f"\n== {split} split ==")
            typer.echo(format_metrics(metrics))
