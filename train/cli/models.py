"""`artclf models list|show`: the saved versions and what each one is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from train.cli._util import cli_errors, table

app = typer.Typer(help="List and inspect saved model versions.", no_args_is_help=True)


def list_models(models_dir: Path = Path("models")) -> list[dict[str, Any]]:
    """One summary per saved version, oldest first."""
    from train.errors import ArtclfError
    from train.registry import list_versions, read_manifest

    out = []
    for path in list_versions(models_dir):
        try:
            m = read_manifest(path)
        except ArtclfError as exc:
            out.append({"version": path.name, "error": str(exc)})
            continue
        test = m.get("metrics", {}).get("test", {})
        out.append(
            {
                "version": m.get("version", path.name),
                "created": m.get("created"),
                "config": m.get("config_name"),
                "dataset": (m.get("dataset", {}).get("fingerprint") or "")[:12],
                "topic_micro_f1": test.get("topic", {}).get("micro_f1"),
                "tone_accuracy": test.get("tone", {}).get("accuracy"),
                "bytes": sum(f.get("bytes", 0) for f in m.get("files", {}).values()),
            }
        )
    return out


def show_model(ref: str, models_dir: Path = Path("models")) -> dict[str, Any]:
    from train.registry import read_manifest, resolve_ref

    path = resolve_ref(ref, models_dir)
    return {"path": str(path), **read_manifest(path)}


@app.command("list")
def list_cli(
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
    json_: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List saved versions with their headline test metrics."""
    with cli_errors():
        rows = list_models(models_dir)
        if json_:
            typer.echo(json.dumps(rows))
            return
        if not rows:
            typer.echo(f"no model versions in {models_dir}; run `artclf train`")
            return
        typer.echo(
            table(
                [
                    [r["version"], r.get("created", "?"), r.get("config", "?"), r.get("dataset", ""),
                     r.get("topic_micro_f1", r.get("error", "")), r.get("tone_accuracy", ""), r.get("bytes", "")]
                    for r in rows
                ],
                ["version", "created", "config", "dataset", "topic micro-F1", "tone acc", "bytes"],
            )
        )


@app.command("show")
def show_cli(
    ref: str = typer.Argument(..., help="latest, a version like v3, or a model folder."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
) -> None:
    """Print a version's manifest: config, labels, thresholds, metrics, provenance."""
    with cli_errors():
        typer.echo(json.dumps(show_model(ref, models_dir), indent=2))
