"""`artclf train`: parse the arguments, call ``train.workflow.train``, print the result."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import SET_HELP, ProgressPrinter, cli_errors, config_path, format_metrics


def train_cli(
    config: Optional[Path] = typer.Argument(None, help="Experiment config (default: configs/default.toml)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
) -> None:
    """Train the topic and tone models, evaluate them, and save a new model version."""
    with cli_errors():
        from train.workflow import train

        printer = ProgressPrinter()
        try:
            result = train(config_path(config), set_, progress=printer)
        finally:
            printer.close()
        typer.echo(f"saved {result.version} -> {result.path}")
        for split, metrics in result.metrics.items():
            typer.echo(f"\n== {split} split ==")
            typer.echo(format_metrics(metrics))
