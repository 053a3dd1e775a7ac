"""`artclf evaluate`: parse the arguments, call ``train.evaluate.evaluate``, print the metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from train.cli._util import CONFIG_HELP, PUBLIC_KEY_HELP, TRUST_PICKLE_HELP, cli_errors, format_metrics, models_dir_for


def evaluate_cli(
    model: str = typer.Argument("latest", help="latest, a version like v3, or a model folder."),
    data: Optional[Path] = typer.Option(None, help="A saved dataset folder or a labeled .jsonl file."),
    split: str = typer.Option("test", help="Split of a dataset folder to score."),
    json_: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help=TRUST_PICKLE_HELP),
    public_key: Optional[Path] = typer.Option(None, "--public-key", help=PUBLIC_KEY_HELP),
    by: Optional[list[str]] = typer.Option(None, "--by", help="Report per value of a field (length, year, source, or any field "
                                                              "of the data), with bootstrap 95% intervals (repeatable)."),
    errors: int = typer.Option(0, "--errors", min=0, help="List the N most confident mistakes with their evidence n-grams."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Write reliability.png, confusion.png and precision_recall.png here."),
) -> None:
    """Evaluate a saved model (default: the latest) and print its metrics, calibration and risk-coverage table."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from train.evaluate.evaluate import evaluate

        result = evaluate(model, data, split, models_dir, trust_pickle=trust_pickle, public_key=public_key,
                          by=by or (), errors=errors, plots=plots)
        if json_:
            typer.echo(json.dumps(result))
        else:
            typer.echo(f"model {result['version']} ({result['model']})")
            typer.echo(format_metrics(result))
