"""``artclf serve`` on granian (default) or uvicorn (``--server uvicorn``).

granian runs ``--workers`` worker processes (each with its own model and watcher) under a
supervisor that drains them on ``SIGTERM`` and replaces them on ``SIGHUP``. With uvicorn, one
worker runs the app in this process and ``--workers N`` runs N uvicorn workers. Either way the
model is loaded and verified here first, so a version that cannot be served is one error line
before any port opens.

Why granian by default: on this 2-core machine, the same Starlette app answered single-article
requests at a higher rate and with a lower p99 on granian than on uvicorn with httptools and
uvloop (BENCHMARKS.md "Serving over HTTP", alternating runs), at a smaller worker RSS.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from train.serve.http import MULTIPROC_ENV, SETTINGS_ENV, ServeSettings, create_app

__all__ = ["run"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _uvicorn_options(settings: ServeSettings) -> dict[str, Any]:
    import importlib.util

    options: dict[str, Any] = dict(
        host=settings.host, port=settings.port, log_level="warning", access_log=False, lifespan="on",
        timeout_graceful_shutdown=settings.drain_seconds, server_header=False, proxy_headers=False,
    )
    if importlib.util.find_spec("httptools"):
        options["http"] = "httptools"
    if importlib.util.find_spec("uvloop"):
        options["loop"] = "uvloop"
    return options


def _say(event: str, **fields: Any) -> None:
    t = time.time()
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
    sys.stderr.write(json.dumps({"ts": ts, "event": event, "pid": os.getpid(), **fields}) + "\n")
    sys.stderr.flush()


@contextmanager
def shared_metrics(workers: int) -> Iterator[str | None]:
    """With several workers, a temporary folder this server owns for prometheus_client's
    multiprocess mode (so ``/metrics`` from any worker aggregates all of them), removed on exit.
    One worker keeps its metrics in memory; a ``PROMETHEUS_MULTIPROC_DIR`` from the caller's
    environment is never used (stale files from another run would be counted)."""
    previous = os.environ.pop(MULTIPROC_ENV, None)
    folder = tempfile.mkdtemp(prefix="artclf-metrics-") if workers > 1 else None
    if folder:
        os.environ[MULTIPROC_ENV] = folder  # before any worker starts, and before prometheus_client is imported
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        if previous is not None:
            os.environ[MULTIPROC_ENV] = previous
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _verify(settings: ServeSettings, folder: str | None) -> None:
    """Load and verify the model here, once, so a version that cannot be served is one error line
    before any port opens; then free it (the workers load their own) and leave the metrics folder
    empty for them."""
    import gc

    create_app(settings).state.holder.stop()
    gc.collect()
    if folder:
        for path in Path(folder).iterdir():
            path.unlink()


def run(settings: ServeSettings, server: str = "granian") -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in progress (up to ``drain_seconds``)."""
    from artclf.errors import ArtclfError

    settings.check()
    if server not in ("granian", "uvicorn"):
        raise ArtclfError(f"--server must be granian or uvicorn, got {server!r}")
    if settings.host not in LOOPBACK:
        from train.serve.http import API_KEY_ENV

        if not settings.api_key_file and not os.environ.get(API_KEY_ENV):
            _say("warning", message=f"listening on {settings.host} without an API key: anyone who can reach the port "
                                    "can use it; pass --api-key-file or set ARTCLF_API_KEY")
    with shared_metrics(settings.workers) as folder:
        if server == "granian":
            _run_granian(settings, folder)
        else:
            _run_uvicorn(settings, folder)


def _run_uvicorn(settings: ServeSettings, folder: str | None) -> None:
    import uvicorn

    options = _uvicorn_options(settings)
    if settings.workers == 1:
        app = create_app(settings)  # loads and verifies the model before the port opens

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:
                app.state.draining = True  # /readyz says 503 while in-flight requests finish
                _say("draining", signal=int(sig))
                super().handle_exit(sig, frame)

        _say("listening", host=settings.host, port=settings.port, workers=1, model=app.state.holder.current.version)
        Server(uvicorn.Config(app, **options)).run()
        return
    _verify(settings, folder)
    os.environ[SETTINGS_ENV] = settings.to_env()
    _say("listening", host=settings.host, port=settings.port, workers=settings.workers)
    uvicorn.run("train.serve.http:app_from_env", factory=True, workers=settings.workers, **options)


def _run_granian(settings: ServeSettings, folder: str | None) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    _verify(settings, folder)
    os.environ[SETTINGS_ENV] = settings.to_env()
    _say("listening", host=settings.host, port=settings.port, workers=settings.workers, server="granian")
    Granian("train.serve.http:app_from_env", address=settings.host, port=settings.port, interface=Interfaces.ASGI,
            workers=settings.workers, factory=True, log_level=LogLevels.warning, websockets=False,
            workers_kill_timeout=max(1, int(settings.drain_seconds)), respawn_failed_workers=True).serve()
