"""`artclf compare`: score configs on the same repeated CV folds and say which differences are real."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from train.cli._util import cli_errors


def compare_cli(
    targets: list[str] = typer.Argument(
        ..., help="Experiment configs (the first is the baseline), or run ids with --runs.", show_default=False
    ),
    runs: bool = typer.Option(False, "--runs", help="Treat the arguments as run ids (see `artclf runs list`); no retraining."),
    folds: int = typer.Option(5, "--folds", "-k", help="Cross-validation folds."),
    repeats: int = typer.Option(1, "--repeats", "-r", help="Repeats of K-fold CV, each with a new fold assignment."),
    n_jobs: int = typer.Option(1, "--n-jobs", "-j", help="Parallel fits (joblib; -1 = all cores)."),
    seed: Optional[int] = typer.Option(None, help="Fold assignment seed (default: the configs' split.seed)."),
    json_: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    report: Optional[Path] = typer.Option(None, help="Write a Markdown report here and a PNG chart beside it."),
    backend: str = typer.Option("loky", help="loky (this machine) or dask (a cluster; needs --scheduler)."),
    scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    runs_dir: Path = typer.Option(Path("runs"), help="Where runs and the result cache live."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Refit every config even when cached."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override a key in every config, e.g. --set features.min_df=3 (repeatable)."),
    set_for: Optional[list[str]] = typer.Option(
        None, "--set-for", help="Override a key in one config: --set-for NAME::key=value; NAME is its file stem, path or 1-based position (repeatable)."),
) -> None:
    """Compare experiment configs on identical cross-validation folds, with significance tests."""
    with cli_errors():
        from train.experiments.compare import compare
        from train.experiments.runs import load_runs
        from train.experiments.report import format_text, write_report

        if runs:
            result = load_runs(targets, runs_dir)
        else:
            result = compare(
                targets, folds=folds, repeats=repeats, n_jobs=n_jobs, seed=seed, runs_dir=runs_dir,
                backend=backend, scheduler=scheduler, progress=sys.stderr.isatty(), use_cache=not no_cache,
                overrides=set_ or [], per_config=[_split_set_for(text) for text in set_for or []],
            )
        written = write_report(result, report) if report else None
        if json_:
            typer.echo(json.dumps(result.to_dict()))
        else:
            typer.echo(format_text(result))
            if written:
                typer.echo(f"\nreport: {written[0]}  chart: {written[1]}")


def _split_set_for(text: str) -> tuple[str, str]:
    from artclf.errors import ArtclfError

    name, sep, override = text.partition("::")
    if not sep or not name or not override:
        raise ArtclfError(f"--set-for {text}: expected NAME::section.key=value, e.g. --set-for linear_svc::topic.C=4")
    return name, override
