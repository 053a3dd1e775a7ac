"""`artclf label`: parse the arguments, run ``train.label.tui.run_label_session``, print a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import cli_errors, config_path


def label_cli(
    pool: Path = typer.Argument(..., help="Unlabeled articles: a folder of .txt, label sub-folders, or .jsonl/.csv/.parquet."),
    labels: Path = typer.Option(Path("labels.jsonl"), "--labels", help="Where labels are appended (created if missing)."),
    model: Optional[str] = typer.Option("latest", "--model", "-m", help="Model that orders the queue and shows evidence ('' for none)."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
    refit_every: int = typer.Option(20, "--refit-every", min=0, help="Refit the model in the background every K labels (0: never)."),
    annotator: Optional[str] = typer.Option(None, "--annotator", help="Recorded with each label (default: your user name)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config: label set, [columns], base training labels for refits."),
    pool_format: Optional[str] = typer.Option(None, "--pool-format", help="seeds, folders, jsonl, csv or parquet (default: from the path)."),
) -> None:
    """Label articles in the terminal: topic keys toggle, a tone key saves; skip, undo, quit and resume."""
    with cli_errors():
        from train.label.tui import run_label_session

        session = run_label_session(pool, labels, model or None, models_dir, refit_every, config_path(config),
                                    annotator, pool_format)
        typer.echo(f"{session.labeled_this_session} label(s) saved to {labels}; "
                   f"{len(session.remaining())} article(s) left; resume with the same command")
