"""``artclf serve`` on uvicorn: one worker runs the app in this process; ``--workers N`` runs N
uvicorn worker processes sharing the socket, each with its own model and watcher.

Why uvicorn (with httptools and uvloop) and Starlette: measured on this 2-core machine with the
default model (BENCHMARKS.md "Serving over HTTP"), they answered single-article requests at about
the same rate as granian running the same Starlette app, use less memory per worker, and uvicorn's
``SIGTERM`` handling drains in-flight requests before the process exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from train.serve.http import SETTINGS_ENV, ServeSettings, create_app

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


def run(settings: ServeSettings) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in progress (up to ``drain_seconds``)."""
    import uvicorn

    settings.check()
    options = _uvicorn_options(settings)
    if settings.host not in LOOPBACK:
        from train.serve.http import API_KEY_ENV

        if not settings.api_key_file and not os.environ.get(API_KEY_ENV):
            _say("warning", message=f"listening on {settings.host} without an API key: anyone who can reach the port "
                                    "can use it; pass --api-key-file or set ARTCLF_API_KEY")
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
    # Fail here, once, with one line, rather than in N workers: the model must load and verify.
    create_app(settings).state.holder.stop()
    os.environ[SETTINGS_ENV] = settings.to_env()
    _say("listening", host=settings.host, port=settings.port, workers=settings.workers)
    uvicorn.run("train.serve.http:app_from_env", factory=True, workers=settings.workers, **options)
