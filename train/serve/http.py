"""Serving stage, HTTP side: the ASGI app behind ``artclf serve`` (Starlette, on granian or uvicorn).

``create_app(ServeSettings(...))`` loads the model through the numpy runtime (``artclf.load_model``)
and returns the app; it runs in-process under any ASGI server (the tests drive it so), and
``train.serve.server.run`` runs it on granian or uvicorn. Every request passes one gate (pure ASGI, no
per-request framework middleware): a request id, the bearer check, the concurrency bound, the
access log line and the metrics. Bad requests are one JSON error object naming the field, never a
500; the model in use is read once per request (``holder.current``), so each answer is computed
wholly by one version and says which.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import signal
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import orjson

__all__ = ["API_KEY_ENV", "BadRequest", "ServeSettings", "create_app", "parse_articles", "read_api_key"]

API_KEY_ENV = "ARTCLF_API_KEY"
SETTINGS_ENV = "ARTCLF_SERVE_SETTINGS"
# Answers computed in the event loop when the request's texts are this short (a thread hop costs
# more than scoring them); longer ones go to a worker thread so the loop keeps accepting.
INLINE_CHARS = 20_000
SCORING = ("/v1/predict", "/v1/explain")
OPEN = ("/healthz", "/readyz")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class ServeSettings:
    """Everything ``artclf serve`` can set. The API key itself is never a field (so never logged
    or passed around): ``api_key_file`` names where it is, or ``ARTCLF_API_KEY`` holds it."""

    model: str = "latest"
    models_dir: str = "models"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_key_file: str | None = None
    public_key: str | None = None
    version_policy: str = "warn"
    max_body_bytes: int = 1_048_576
    max_text_chars: int = 100_000
    max_batch: int = 256
    max_concurrency: int = 64
    poll_interval: float = 2.0
    drain_seconds: float = 30.0
    access_log: bool = True

    def check(self) -> None:
        from artclf.errors import ArtclfError

        for name in ("max_body_bytes", "max_text_chars", "max_batch", "max_concurrency", "workers"):
            if getattr(self, name) < 1:
                raise ArtclfError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.poll_interval <= 3600:
            raise ArtclfError(f"--poll-interval must be between 0 and 3600 seconds, got {self.poll_interval}")
        if not 0 <= self.port <= 65535:
            raise ArtclfError(f"--port must be 0-65535, got {self.port}")

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ServeSettings":
        return cls(**json.loads(os.environ[SETTINGS_ENV]))


def read_api_key(settings: ServeSettings) -> bytes | None:
    """The bearer token the server requires: the file's first line, else ``ARTCLF_API_KEY``, else none."""
    from artclf.errors import ArtclfError

    if settings.api_key_file:
        try:
            raw = Path(settings.api_key_file).read_bytes()[:4096]
        except OSError as exc:
            raise ArtclfError(f"--api-key-file {settings.api_key_file}: cannot read it ({exc.strerror}); "
                              "check the path and its permissions") from None
        key = raw.split(b"\n", 1)[0].strip()
        if len(key) < 16:
            raise ArtclfError(f"--api-key-file {settings.api_key_file}: the key on its first line must be at least "
                              "16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return key
    env = os.environ.get(API_KEY_ENV, "").strip()
    if env:
        if len(env) < 16:
            raise ArtclfError(f"{API_KEY_ENV} must be at least 16 characters")
        return env.encode("utf-8")
    return None


class BadRequest(Exception):
    """A request the server refuses: HTTP status, a kind for metrics, the field at fault, a message."""

    def __init__(self, status: int, kind: str, field: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.field, self.message = status, kind, field, message
        self.headers = headers or {}

    def body(self) -> bytes:
        error: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.field:
            error["field"] = self.field
        return _dumps({"error": error})


def _dumps(payload: Any) -> bytes:
    try:
        return orjson.dumps(payload)
    except TypeError:  # an id integer over 64 bits (the stdlib parser accepts them): stdlib writes it
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _loads(raw: bytes) -> Any:
    """The decoded body. orjson parses valid JSON several times faster than the stdlib; anything it
    refuses (a BOM, NaN, integers over 64 bits, lone surrogate escapes, invalid UTF-8) goes through
    the stdlib path, so what is accepted and every error message are the stdlib's."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    from train.serve.stream import json_refusal

    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "not_utf8", "body", f"the body is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                                                  f"{exc.start}); send JSON encoded as UTF-8") from None
    try:
        return json.loads(decoded.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise BadRequest(400, "malformed_json", "body", f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(400, "malformed_json", "body", f"unreadable JSON ({json_refusal(exc)})") from None


def parse_articles(raw: bytes, max_batch: int, max_text_chars: int, explain: bool = False
                   ) -> tuple[list[tuple[Any, str]], bool, int]:
    """([(id, text)], is_batch, top) from a request body, or a :class:`BadRequest` naming the field."""
    from train.serve.openapi import MAX_TOP
    from train.serve.stream import RecordError, check_record

    obj = _loads(raw)
    if not isinstance(obj, dict):
        raise BadRequest(422, "invalid", "body", 'expected a JSON object: one article {"id"?, "title"?, "text"} '
                                                 'or a batch {"articles": [...]}')
    top = 5
    if explain and "top" in obj:
        top = obj["top"]
        if isinstance(top, float) and top.is_integer():
            top = int(top)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
            raise BadRequest(422, "invalid", "top", f"'top' must be an integer from 1 to {MAX_TOP}")
    batch = "articles" in obj
    records = obj["articles"] if batch else [obj]
    if batch and not isinstance(records, list):
        raise BadRequest(422, "invalid", "articles", "'articles' must be an array of article objects")
    if len(records) > max_batch:
        raise BadRequest(422, "too_many_articles", "articles",
                         f"{len(records)} articles in one request; the limit is {max_batch} (--max-batch): split the batch")
    items = []
    for i, record in enumerate(records):
        where = f"articles[{i}]" if batch else ""
        try:
            item = check_record(record)
        except RecordError as exc:
            field = ".".join(part for part in (where, exc.field) if part) or "body"
            raise BadRequest(422, "invalid", field, exc.message) from None
        for name in ("text", "title"):
            value = record.get(name)
            if isinstance(value, str) and len(value) > max_text_chars:
                field = ".".join(part for part in (where, name) if part)
                raise BadRequest(422, "text_too_long", field, f"'{name}' holds {len(value)} characters; the limit is "
                                                              f"{max_text_chars} (--max-text-chars)")
        items.append(item)
    return items, batch, top


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The folder prometheus_client's multiprocess mode shares between workers, when the server set one."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The Prometheus metrics of one app (its own registry, so several apps can live in one process).

    With ``--workers N`` the server sets ``PROMETHEUS_MULTIPROC_DIR`` (a temporary folder it owns):
    every worker then writes its values to files there and ``/metrics``, answered by whichever
    worker, aggregates all of them (counters and histograms summed; gauges as their
    ``multiprocess_mode`` says, over live workers)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, values

        disable_created_metrics()  # the `_created` series double the output and no dashboard reads them
        self.shared = multiprocess_dir()
        if self.shared and values.ValueClass is values.MutexValue:
            # prometheus_client picks its value store at import; it was imported before the
            # server set the folder (a test, an embedding app), so pick again.
            values.ValueClass = values.get_value_class()
        self.registry = registry = CollectorRegistry()
        self.requests = Counter("artclf_http_requests_total", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=registry)
        self.errors = Counter("artclf_http_errors_total", "Requests refused or failed, by kind", ["kind"], registry=registry)
        self.latency = Histogram("artclf_http_request_duration_seconds", "Time from request to answer",
                                 ["endpoint"], registry=registry,
                                 buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.batch = Histogram("artclf_batch_size", "Articles per scoring request", ["endpoint"], registry=registry,
                               buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
        self.articles = Counter("artclf_articles_total", "Articles scored", ["endpoint"], registry=registry)
        self.in_flight = Gauge("artclf_http_in_flight", "Scoring requests in progress", registry=registry,
                               multiprocess_mode="livesum")
        self.model = Gauge("artclf_model_info", "The model version being served (value 1)",
                           ["version", "reference"], registry=registry, multiprocess_mode="livemax")
        self.swaps = Counter("artclf_model_swaps_total", "Model versions swapped in while serving", registry=registry)
        self.refusals = Counter("artclf_model_refusals_total", "Model versions refused by their checks", registry=registry)
        self.refused = Gauge("artclf_model_refused_info", "The last refused version (value 1) while it is the "
                             "reference's target", ["version"], registry=registry, multiprocess_mode="livemax")
        self.checks = Gauge("artclf_model_checks", "Checks of the model reference since start (summed over workers)",
                            registry=registry, multiprocess_mode="livesum")
        self._render_registry = registry
        if self.shared:
            from prometheus_client import multiprocess

            self._render_registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self._render_registry, path=self.shared)
        # Label lookups cost more than the increments they lead to: each labelled child is
        # looked up once and kept (the label values are bounded: our routes, methods, statuses).
        self._children: dict[tuple[Any, ...], Any] = {}
        self._info: dict[Any, tuple[str, ...] | None] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = metric.labels(*labels)
            if len(self._children) < 4096:  # a client inventing methods cannot grow it without bound
                self._children[key] = found
        return found

    def set_info(self, gauge: Any, labels: tuple[str, ...] | None) -> None:
        """Make ``labels`` the one series of info gauge ``gauge`` at 1 (none when ``labels`` is None).
        Multiprocess mode cannot remove a series, so there the previous one is set to 0."""
        previous = self._info.get(id(gauge))
        if self.shared:
            if previous is not None and previous != labels:
                gauge.labels(*previous).set(0)
        else:
            gauge.clear()
        if labels is not None:
            gauge.labels(*labels).set(1)
        self._info[id(gauge)] = labels

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self._render_registry)

    def retire(self) -> None:
        """This worker is stopping: drop its live gauges from the shared folder (its counters stay)."""
        if self.shared:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.shared)


def _access_logger() -> logging.Logger:
    logger = logging.getLogger("artclf.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class _State:
    def __init__(self, settings: ServeSettings, holder: Any, metrics: Metrics, key: bytes | None) -> None:
        self.settings = settings
        self.holder = holder
        self.metrics = metrics
        self.key = key
        self.in_flight = 0
        self.draining = False
        self.log = _access_logger()
        self.limiter: Any = None

    def event(self, name: str, fields: dict[str, Any]) -> None:
        self.log.info(json.dumps({"ts": _now(), "event": name, "pid": os.getpid(), **fields}, ensure_ascii=False))


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


_ROUTES = {"/v1/predict", "/v1/explain", "/v1/model", "/healthz", "/readyz", "/metrics", "/admin/reload", "/openapi.json"}


class _ClientGone(Exception):
    """The client disconnected before its body was read: nothing to answer."""


class Gate:
    """Pure ASGI wrapper around the Starlette app: request id, auth, concurrency bound, log, metrics.

    ``POST`` to a scoring endpoint goes straight to its handler (``scorers``), which Starlette's
    router also holds for every other method (405 with ``Allow``): the router's per-request work
    (route matching, a ``Request`` object, a ``Response`` object) is skipped where it is paid most."""

    def __init__(self, app: Any, state: _State, scorers: dict[str, Callable[..., Any]]) -> None:
        self.app = app
        self.state = state
        self.scorers = scorers

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        start = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"")
        request_id = given.decode("ascii") if _REQUEST_ID.fullmatch(given) else os.urandom(8).hex()
        info = scope.setdefault("state", {})
        info["request_id"] = request_id
        info["headers"] = headers
        path, method = scope["path"], scope["method"]
        status = 0
        id_header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), id_header]}
            await send(message)

        scorer = self.scorers.get(path)
        counted = False
        try:
            if state.key is not None and path not in OPEN and not _authorized(headers.get(b"authorization"), state.key):
                raise BadRequest(401, "unauthorized", "Authorization",
                                 "this server needs `Authorization: Bearer <key>` (see --api-key-file)",
                                 {"WWW-Authenticate": 'Bearer realm="artclf"'})
            if scorer is not None:
                if state.in_flight >= state.settings.max_concurrency:
                    raise BadRequest(503, "overloaded", "", f"{state.in_flight} requests in progress (--max-concurrency "
                                                            f"{state.settings.max_concurrency}); retry shortly",
                                     {"Retry-After": "1"})
                state.in_flight += 1
                counted = True
                state.metrics.in_flight.inc()
            if scorer is not None and method == "POST":
                await scorer(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except BadRequest as exc:
            info["error_kind"], info["error_field"] = exc.kind, exc.field
            await _send_error(send_with_id, exc)
        except _ClientGone:
            info["error_kind"] = "client_gone"
        except Exception as exc:  # a bug: answered 500 and logged, the worker lives on
            info["error_kind"] = "internal"
            info["error_detail"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            if status == 0:
                await _send_error(send_with_id, BadRequest(500, "internal", "", "internal error; see the server log "
                                                                                f"for request {request_id}"))
        finally:
            if counted:
                state.in_flight -= 1
                state.metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            endpoint = path if path in _ROUTES else "other"  # a bounded label: our routes, or `other`
            m = state.metrics
            m.child(m.requests, endpoint, method, str(status)).inc()
            m.child(m.latency, endpoint).observe(elapsed)
            kind = info.get("error_kind")
            if kind:
                m.child(m.errors, kind).inc()
            if state.settings.access_log:
                line = {"ts": _now(), "request_id": request_id, "method": method, "path": path[:200],
                        "status": status, "ms": round(elapsed * 1000, 3)}
                for key in ("model_version", "articles", "error_kind", "error_field", "error_detail"):
                    if key in info:
                        line[key] = info[key]
                client = scope.get("client")
                if client:
                    line["client"] = client[0]
                state.log.info(_log_line(line))


def _log_line(fields: dict[str, Any]) -> str:
    try:
        return orjson.dumps(fields).decode("utf-8")
    except TypeError:  # a lone surrogate in a path: the stdlib escapes it
        return json.dumps(fields)


def _authorized(header: bytes | None, key: bytes) -> bool:
    if not header or not header[:7].lower() == b"bearer ":
        return hmac.compare_digest(b"", key + b"x")  # same work either way; always False
    return hmac.compare_digest(header[7:].strip(), key)


async def _send_error(send: Callable[..., Any], exc: BadRequest) -> None:
    body = exc.body() + b"\n"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(headers: dict[bytes, bytes], receive: Callable[..., Any], cap: int) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest(400, "bad_length", "Content-Length", "Content-Length must be a number of bytes")
        if int(declared) > cap:
            raise BadRequest(413, "body_too_large", "body", f"the body is {int(declared)} bytes; the limit is {cap} "
                                                            "(--max-body-bytes): send smaller batches")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > cap:
                raise BadRequest(413, "body_too_large", "body", f"the body is over {cap} bytes (--max-body-bytes): "
                                                                "send smaller batches")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Scorer:
    """The ASGI handler of ``POST /v1/predict`` or ``/v1/explain``: body, checks, one model call
    for the whole request, the answer."""

    def __init__(self, state: _State, explain: bool) -> None:
        self.state = state
        self.explain = explain

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        import anyio

        state, settings, explain = self.state, self.state.settings, self.explain
        info = scope["state"]
        headers = info.get("headers")
        if headers is None:
            headers = dict(scope.get("headers") or [])
        raw = await _read_body(headers, receive, settings.max_body_bytes)
        items, batch, top = parse_articles(raw, settings.max_batch, settings.max_text_chars, explain)
        served = state.holder.current  # read once: this answer is computed wholly by this version
        texts = [text for _, text in items]

        def compute() -> list[dict[str, Any]]:
            return served.model.explain_batch(texts, top) if explain else served.model.classify(texts)

        if not texts:
            results = []
        elif sum(map(len, texts)) <= INLINE_CHARS:
            results = compute()
        else:
            results = await anyio.to_thread.run_sync(compute, limiter=state.limiter)
        answers = [({"id": i} | r if i is not None else r) for (i, _), r in zip(items, results)]
        endpoint, m, n = scope["path"], state.metrics, len(items)
        m.child(m.batch, endpoint).observe(n)
        m.child(m.articles, endpoint).inc(n)
        info["model_version"], info["articles"] = served.version, n
        payload = {"model_version": served.version, "results": answers} if batch else answers[0] | {"model_version": served.version}
        body = _dumps(payload)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii")),
            (b"x-model-version", served.version.encode("latin-1", "replace"))]})
        await send({"type": "http.response.body", "body": body})


def create_app(settings: ServeSettings, holder: Any = None) -> Any:
    """The ASGI app. Loads the model now (an ``ArtclfError`` if it cannot be loaded or verified);
    ``holder`` replaces the model holder (tests pass one with a stand-in model)."""
    import anyio
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from train.serve.holder import ModelHolder
    from train.serve.openapi import openapi_schema

    settings.check()
    metrics = Metrics()
    key = read_api_key(settings)
    state = _State(settings, None, metrics, key)
    if holder is None:
        public_key = Path(settings.public_key) if settings.public_key else None
        holder = ModelHolder(settings.model, Path(settings.models_dir), public_key, settings.version_policy,
                             settings.poll_interval)
    holder.on_event = lambda name, fields: _on_model_event(state, name, fields)
    holder.on_check = metrics.checks.set
    state.holder = holder
    if holder.current is None:
        holder.start()
    _on_model_event(state, "model_served", {})
    scorers = {"/v1/predict": _Scorer(state, explain=False), "/v1/explain": _Scorer(state, explain=True)}
    schema = _dumps(openapi_schema(settings.max_batch, settings.max_text_chars, key is not None))

    def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(_dumps(payload), status, headers=headers, media_type="application/json")

    async def model_info(request: Request) -> Response:
        return json_response(_describe(holder, settings))

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok", "pid": os.getpid()})

    async def readyz(request: Request) -> Response:
        served = holder.current
        if served is None or state.draining:
            return json_response({"ready": False, "reason": "draining" if state.draining else "no model"}, 503)
        return json_response({"ready": True, "version": served.version})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def reload(request: Request) -> Response:
        result = await anyio.to_thread.run_sync(lambda: holder.check(force=True))
        return json_response({"reference": holder.ref, **result})

    async def openapi(request: Request) -> Response:
        return Response(schema, media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
        request.scope["state"]["error_kind"] = kind
        detail = "no such endpoint; see /openapi.json" if exc.status_code == 404 else str(exc.detail)
        return json_response({"error": {"kind": kind, "message": detail}}, exc.status_code, headers=exc.headers)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        state.limiter = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))
        loop = asyncio.get_running_loop()
        hup = False
        if hasattr(signal, "SIGHUP"):
            try:
                loop.add_signal_handler(signal.SIGHUP, holder.wake)
                hup = True
            except (ValueError, RuntimeError, NotImplementedError):
                pass  # not the main thread (an in-process test server): /admin/reload still works
        holder.watch()
        try:
            yield
        finally:
            state.draining = True
            holder.stop()
            state.event("stopped", {"served": holder.current.version if holder.current else None})
            metrics.retire()
            if hup:
                loop.remove_signal_handler(signal.SIGHUP)

    routes = [
        Route("/v1/predict", scorers["/v1/predict"], methods=["POST"]),
        Route("/v1/explain", scorers["/v1/explain"], methods=["POST"]),
        Route("/v1/model", model_info, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/admin/reload", reload, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error})
    gate = Gate(app, state, scorers)
    gate.state = state  # tests and the server reach the holder through it
    return gate


def _on_model_event(state: _State, name: str, fields: dict[str, Any]) -> None:
    holder, metrics = state.holder, state.metrics
    if holder is not None:
        if name in ("model_swapped", "model_served", "model_loaded") and holder.current is not None:
            metrics.set_info(metrics.model, (holder.current.version, holder.ref))
            metrics.set_info(metrics.refused, None)
        if name == "model_swapped":
            metrics.swaps.inc()
        if name == "model_refused":
            metrics.refusals.inc()
            metrics.set_info(metrics.refused, (fields.get("version") or "?",))
    if name != "model_served":
        state.event(name, fields)


def _describe(holder: Any, settings: ServeSettings) -> dict[str, Any]:
    served = holder.current
    manifest = served.model.manifest
    metrics = manifest.get("metrics") or {}
    summary = {}
    for split, figures in metrics.items():
        if not isinstance(figures, dict):
            continue
        summary[split] = {"n": figures.get("n")}
        for task in ("topic", "tone"):
            if isinstance(figures.get(task), dict):
                summary[split][task] = {k: v for k, v in figures[task].items() if isinstance(v, (int, float))}
    return {
        "version": served.version,
        "reference": holder.ref,
        "watching": holder.watching,
        "path": str(served.path),
        "format_version": manifest.get("format_version"),
        "created": manifest.get("created"),
        "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(served.loaded_at)),
        "labels": {"topics": served.model.topic_labels, "tone": served.model.tone_labels},
        "topic_mode": (manifest.get("config") or {}).get("topic", {}).get("mode", "multilabel"),
        "metrics": summary,
        "refused": holder.refused.as_dict() if holder.refused else None,
        "swaps": holder.swaps,
        "limits": {"max_batch": settings.max_batch, "max_text_chars": settings.max_text_chars,
                   "max_body_bytes": settings.max_body_bytes, "max_concurrency": settings.max_concurrency},
        "runtime": "numpy",
        "pid": os.getpid(),
    }


def app_from_env() -> Any:
    """The app factory the server's worker processes call: settings from the environment."""
    return create_app(ServeSettings.from_env())
