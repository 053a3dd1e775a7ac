"""`artclf train`: parse the arguments, call ``train.workflow.train``, print the result."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import SET_HELP, ProgressPrinter, cli_errors, config_path, format_metrics


def train_cli(
    config: Optional[Path] = typer.Argument(None, help="Experiment config (default: configs/default.toml)."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help=SET_HELP),
    on_error: str = typer.Option("stop", "--on-error", help="On an unreadable article: stop, or skip it and list it."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result, no stages (for scripts)."),
) -> None:
    """Train the topic and tone models, evaluate them, and save a new model version.

    Stages (dataset rebuilt or reused and why, featurize, threshold folds, fit, evaluate, save) are
    printed to stderr as they run, with a progress bar on a terminal; the result goes to stdout."""
    with cli_errors():
        if on_error not in ("stop", "skip"):
            raise typer.BadParameter("must be stop or skip", param_hint="--on-error")
        from train.workflow import train

        printer = ProgressPrinter(quiet)
        try:
            result = train(config_path(config), set_, on_error=on_error, progress=printer)
        finally:
            printer.close()
        typer.echo(f"saved {result.version} -> {result.path}")
        for split, metrics in result.metrics.items():
            typer.echo(f"\n== {split} split ==")
            typer.echo(format_metrics(metrics))
