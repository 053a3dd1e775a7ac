"""`artclf predict`: parse the arguments, classify through ``train.serve.stream``, print JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

import typer

from train.cli._util import PUBLIC_KEY_HELP, TRUST_PICKLE_HELP, cli_errors


def predict_cli(
    args: Optional[list[str]] = typer.Argument(None, help="[MODEL] then texts; '-' reads JSONL records from stdin."),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="An article file to classify (repeatable)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model reference (default: latest)."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
    explain: bool = typer.Option(False, "--explain", help="Add the n-grams that pushed each predicted label most."),
    top: int = typer.Option(5, "--top", min=1, help="How many n-grams per label with --explain."),
    version_policy: str = typer.Option("warn", "--version-policy", help="Library version mismatch: warn, strict (refuse) or ignore."),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help=TRUST_PICKLE_HELP),
    public_key: Optional[Path] = typer.Option(None, "--public-key", help=PUBLIC_KEY_HELP),
) -> None:
    """Print one JSON line per article: topics, topic_scores, tone, tone_scores (and explanation)."""
    with cli_errors():
        from artclf.errors import ArtclfError
        from train.serve.stream import file_text, looks_like_model, predict_stream, stdin_records
        from train.store.load import load_model

        args = list(args or [])
        if model is None and args and looks_like_model(args[0], models_dir):
            model = args.pop(0)
        loaded = load_model(model or "latest", models_dir, version_policy=version_policy,
                            trust_pickle=trust_pickle, public_key=public_key)
        items: list[tuple[Any, str]] = [(None, t) for t in args if t != "-"]
        items += [(p.stem, file_text(p)) for p in file or []]
        if not items and "-" not in args:
            raise ArtclfError("nothing to classify; pass texts, --file PATH, or '-' to read JSONL from stdin")
        stream: Iterable[tuple[Any, str]] = items
        if "-" in args:
            stream = [*items, *stdin_records(sys.stdin)] if items else stdin_records(sys.stdin)
        for result in predict_stream(loaded, stream, top if explain else 0):
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
