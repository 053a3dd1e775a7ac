"""`artclf queue`: parse the arguments, call ``train.label.queue.write_queue``, print or save the queue."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from train.cli._util import cli_errors, config_path


def queue_cli(
    pool: Path = typer.Argument(..., help="Unlabeled articles: a folder of .txt, label sub-folders, or .jsonl/.csv/.parquet."),
    n: int = typer.Option(20, "--n", min=1, help="How many articles to queue."),
    strategy: str = typer.Option("uncertainty", "--strategy", help="uncertainty, margin, entropy, diversity, hybrid, disagreement or random."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model reference (default: latest; random needs none)."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl, or label-studio (tasks with the model's pre-annotations)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write here (default: stdout)."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Skip the articles this labels.jsonl already labels."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config for [columns], [labels] and data.rules (default: configs/default.toml)."),
    pool_format: Optional[str] = typer.Option(None, "--pool-format", help="seeds, folders, jsonl, csv or parquet (default: from the path)."),
    seed: int = typer.Option(13, "--seed", help="Seed of the random and diversity strategies."),
) -> None:
    """Pick the next articles to label from an unlabeled pool."""
    with cli_errors():
        from train.label.queue import write_queue

        result, text = write_queue(pool, out, fmt, n=n, strategy=strategy, model_ref=model, models_dir=models_dir,
                                   labels_path=labels, config_path=config_path(config), pool_format=pool_format, seed=seed)
        if out is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            extra = f" (labeling interface: {out.with_name(out.stem + '.label_config.xml')})" if fmt == "label-studio" else ""
            typer.echo(f"queued {len(result.items)} of {result.pool_size - result.already_labeled} unlabeled article(s) "
                       f"by {result.strategy} (model {result.model_version or 'none'}) -> {out}{extra}")
