"""`artclf labels import`: parse the arguments, call ``train.label.importer.import_into``, print counts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import cli_errors, config_path

app = typer.Typer(help="Bring labels made elsewhere into labels.jsonl.", no_args_is_help=True)


@app.command("import")
def import_cli(
    file: Path = typer.Argument(..., help="A Label Studio JSON export, or JSONL lines {id, topics, tone}."),
    labels: Path = typer.Option(Path("seeds/labels.jsonl"), "--labels", help="The labels file to merge into."),
    annotator: Optional[str] = typer.Option(None, "--annotator", help="Who labeled (default: the export's annotator, else your user name)."),
    pool: Optional[Path] = typer.Option(None, "--pool", help="The articles the ids must name (default: the config's data.source)."),
    pool_format: Optional[str] = typer.Option(None, "--pool-format", help="seeds, folders, jsonl, csv or parquet (default: from the path)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Config giving the label set (default: configs/default.toml)."),
) -> None:
    """Merge labels into labels.jsonl atomically, with provenance; a changed label replaces the old
    one, which is kept in labels.history.jsonl."""
    with cli_errors():
        from train.label.importer import import_into

        result = import_into(file, labels, annotator, config_path(config), pool, pool_format)
        typer.echo(f"{labels}: {len(result.added)} added, {len(result.replaced)} replaced, {len(result.unchanged)} unchanged"
                   + (f", {result.unannotated} task(s) without an annotation skipped" if result.unannotated else "")
                   + (f"; replaced labels kept in {result.history}" if result.history else ""))
