"""`artclf predict`: parse the arguments, classify through ``train.serve.stream``, print JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

import typer
from typer.core import TyperCommand

from train.cli._util import CONFIG_HELP, PUBLIC_KEY_HELP, TRUST_PICKLE_HELP, cli_errors, models_dir_for

# Exit status of `predict - --on-error skip` when some lines were answered with an error object.
EXIT_SKIPPED = 2


class PredictCommand(TyperCommand):
    """Notes how many positionals came after ``--``: those are texts, whatever they look like."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        ctx.meta["artclf.forced_texts"] = len(args) - args.index("--") - 1 if "--" in args else 0
        return super().parse_args(ctx, args)


def predict_cli(
    ctx: typer.Context,
    args: Optional[list[str]] = typer.Argument(
        None, help="[MODEL] then texts; '-' reads JSONL records from stdin. The first word is the model only when it "
                   "names one; put -- before texts (or pass -m) to never read it as a model."),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="An article file to classify (repeatable)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model reference (default: latest)."),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    explain: bool = typer.Option(False, "--explain", help="Add the n-grams that pushed each predicted label most."),
    top: int = typer.Option(5, "--top", min=1, help="How many n-grams per label with --explain."),
    on_error: str = typer.Option(
        "stop", "--on-error", help="A bad stdin line: stop (after answering every earlier line) or skip "
                                   '(answer it with {"line": N, "error": ...}, go on, exit 2).'),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of --file files (e.g. latin-1, cp1252)."),
    version_policy: str = typer.Option("warn", "--version-policy", help="Library version mismatch: warn, strict (refuse) or ignore."),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help=TRUST_PICKLE_HELP),
    public_key: Optional[Path] = typer.Option(None, "--public-key", help=PUBLIC_KEY_HELP),
    min_confidence: Optional[float] = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0,
        help='Withhold decisions less probable than this: such a topic is listed under "uncertain" and the tone '
             'becomes "uncertain" instead of a guess (see the risk-coverage table of `artclf evaluate`).'),
) -> None:
    """Print one JSON line per article: topics, topic_scores, tone, tone_scores (and explanation)."""
    with cli_errors():
        if on_error not in ("stop", "skip"):
            raise typer.BadParameter("must be stop or skip", param_hint="--on-error")
        models_dir = models_dir_for(models_dir, config)
        from artclf.errors import ArtclfError
        from train.serve.stream import DELAY, BadRecord, file_text, predict_stream, split_model_arg, stdin_records
        from train.serve.loading import load_serving_model as load_model

        forced = ctx.meta.get("artclf.forced_texts", 0)
        ref, texts = split_model_arg(args or [], models_dir, model, forced)
        loaded = load_model(ref, models_dir, version_policy=version_policy, trust_pickle=trust_pickle, public_key=public_key)
        items: list[tuple[Any, str]] = [(None, t) for t in texts if t != "-"]
        items += [(p.stem, file_text(p, encoding)) for p in file or []]
        if not items and "-" not in texts:
            raise ArtclfError("nothing to classify; pass texts, --file PATH, or '-' to read JSONL from stdin")
        stream: Iterable[tuple[Any, str] | BadRecord] = items
        if "-" in texts:
            records = stdin_records(getattr(sys.stdin, "buffer", sys.stdin))
            stream = [*items, *records] if items else records
        skipped = 0
        try:
            for result in predict_stream(loaded, stream, top if explain else 0, on_error,
                                         delay=DELAY if "-" in texts else None, min_confidence=min_confidence):
                sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
                skipped += "error" in result and "line" in result
                if "-" in texts:
                    sys.stdout.flush()
        finally:
            sys.stdout.flush()
        if skipped:
            typer.echo(f"warning: {skipped} stdin line(s) skipped; each was answered with an error object", err=True)
            raise typer.Exit(EXIT_SKIPPED)
