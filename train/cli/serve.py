"""`artclf serve`: parse the arguments, hand them to ``train.serve.server.run``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from train.cli._util import CONFIG_HELP, PUBLIC_KEY_HELP, cli_errors, models_dir_for


def serve_cli(
    model: str = typer.Argument("latest", help="Model reference: latest, vN, an alias (followed as it moves) or a folder."),
    models_dir: Optional[Path] = typer.Option(None, help="Where model versions live (default: models, or the --config's train.models_dir)."),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP),
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default; anything else wants --api-key-file)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes, each with its own model copy (one per core at most)."),
    api_key_file: Optional[Path] = typer.Option(
        None, help="A file whose first line is the bearer token every endpoint except /healthz and /readyz requires "
                   "(or set ARTCLF_API_KEY)."),
    public_key: Optional[Path] = typer.Option(None, "--public-key", help=PUBLIC_KEY_HELP),
    max_body_bytes: int = typer.Option(1_048_576, help="Largest request body in bytes (413 above)."),
    max_text_chars: int = typer.Option(100_000, help="Longest title or text in characters (413 above)."),
    max_batch: int = typer.Option(256, help="Most articles in one request (413 above)."),
    max_concurrency: int = typer.Option(64, help="Scoring requests in progress per worker; more get 503 + Retry-After."),
    poll_interval: float = typer.Option(2.0, help="Seconds between checks of an alias or `latest` for a new version."),
    version_policy: str = typer.Option("warn", "--version-policy", help="numpy version mismatch: warn, strict (refuse) or ignore."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="One JSON line per request on stderr."),
    server: str = typer.Option("granian", "--server", help="The ASGI server: granian (default) or uvicorn."),
) -> None:
    """Serve the model over HTTP: POST /v1/predict and /v1/explain, GET /v1/model, /healthz, /readyz, /metrics."""
    with cli_errors():
        from train.serve.http import ServeSettings
        from train.serve.server import run

        run(ServeSettings(
            model=model, models_dir=str(models_dir_for(models_dir, config)), host=host, port=port, workers=workers,
            api_key_file=str(api_key_file) if api_key_file else None, public_key=str(public_key) if public_key else None,
            version_policy=version_policy, max_body_bytes=max_body_bytes, max_text_chars=max_text_chars,
            max_batch=max_batch, max_concurrency=max_concurrency, poll_interval=poll_interval, access_log=access_log,
        ), server)
