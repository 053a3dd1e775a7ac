"""`artclf predict`: parse the arguments, classify through ``train.serve.stream``, print JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

import typer

from train.cli._util import CONFIG_HELP, cli_errors, models_dir_for


def predict_cli(
    args: Optional[list[str]] = typer.Argument(None, help="[MODEL] then texts; '-' reads JSONL records from stdin."),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="An article file to classify (repeatable)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model reference (default: latest)."),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    explain: bool = typer.Option(False, "--explain", help="Add the n-grams that pushed each predicted label most."),
    top: int = typer.Option(5, "--top", min=1, help="How many n-grams per label with --explain."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of --file files (e.g. latin-1, cp1252)."),
    version_policy: str = typer.Option("warn", "--version-policy", help="Library version mismatch: warn, strict (refuse) or ignore."),
) -> None:
    """Print one JSON line per article: topics, topic_scores, tone, tone_scores (and explanation)."""
    with cli_errors():
        models_dir = models_dir_for(models_dir, config)
        from artclf.errors import ArtclfError
        from train.serve.stream import file_text, looks_like_model, predict_stream, stdin_records
        from train.store.load import load_model

        args = list(args or [])
        if model is None and args and looks_like_model(args[0], models_dir):
            model = args.pop(0)
        loaded = load_model(model or "latest", models_dir, version_policy=version_policy)
        items: list[tuple[Any, str]] = [(None, t) for t in args if t != "-"]
        items += [(p.stem, file_text(p, encoding)) for p in file or []]
        if not items and "-" not in args:
            raise ArtclfError("nothing to classify; pass texts, --file PATH, or '-' to read JSONL from stdin")
        stream: Iterable[tuple[Any, str]] = items
        if "-" in args:
            stream = [*items, *stdin_records(sys.stdin)] if items else stdin_records(sys.stdin)
        for result in predict_stream(loaded, stream, top if explain else 0):
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
