"""`artclf runs list`: the comparisons recorded by `artclf compare`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from train.cli._util import cli_errors, table

app = typer.Typer(help="List recorded comparison runs (compare them again with `artclf compare --runs ID ...`).", no_args_is_help=True)


@app.command("list")
def list_cli(
    runs_dir: Path = typer.Option(Path("runs"), help="Where runs live."),
    json_: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List recorded runs, oldest first."""
    with cli_errors():
        from train.experiments.runs import list_runs

        rows = list_runs(runs_dir)
        if json_:
            typer.echo(json.dumps(rows))
            return
        if not rows:
            typer.echo(f"no runs in {runs_dir}; run `artclf compare CONFIG ...`")
            return
        typer.echo(
            table(
                [
                    [r["id"], r.get("created", ""), ", ".join(r.get("configs", [])) or r.get("error", ""),
                     r.get("dataset", ""), r.get("n_articles", ""), f"{r['folds']}x{r['repeats']}" if "folds" in r else ""]
                    for r in rows
                ],
                ["id", "created", "configs", "dataset", "articles", "folds x repeats"],
            )
        )
