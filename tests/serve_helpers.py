"""Start `artclf serve` as a real subprocess on a free loopback port, and talk to it over HTTP.

Every wait is bounded; the server is always stopped (SIGTERM, then SIGKILL) in a ``finally``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from helpers import CLI, edit_manifest

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path
    key: str | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             auth: bool = True, timeout: float = 60) -> tuple[int, dict[str, str], Any]:
        """(status, headers, decoded JSON or text). ``body``: bytes as they are, anything else as JSON."""
        return request(self.port, method, path, body, self._headers(headers, auth), timeout)

    def _headers(self, headers: dict[str, str] | None, auth: bool) -> dict[str, str]:
        out = dict(headers or {})
        if auth and self.key and "Authorization" not in out:
            out["Authorization"] = f"Bearer {self.key}"
        return out

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def metric(self, name: str) -> dict[str, float]:
        """Every sample of metric ``name``: {'labels text': value}."""
        _, _, text = self.call("GET", "/metrics")
        out = {}
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key[len(name):]] = float(value)
        return out


def request(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            timeout: float = 60) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode("utf-8")
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        head = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    if head.get("content-type", "").startswith("application/json"):
        return response.status, head, json.loads(raw)
    return response.status, head, raw.decode("utf-8", errors="replace")


def wait_ready(server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}: {server.log.read_text()[-2000:]}")
        try:
            if request(server.port, "GET", "/readyz", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not ready within {timeout}s: {server.log.read_text()[-2000:]}")


def wait_for(predicate: Any, timeout: float = 60, step: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (bounded); return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def start(*args: object, cwd: Path, log: Path, key: str | None = None, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    handle = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-c", CLI, "serve", *map(str, args), "--port", str(port)], cwd=cwd,
                            stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    handle.close()
    return Server(proc, port, log, key)


def stop(server: Server, timeout: float = 60) -> int | None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)
    return server.proc.returncode


@contextlib.contextmanager
def serving(*args: object, cwd: Path, log: Path, key: str | None = None, env: dict[str, str] | None = None,
            ready: bool = True) -> Iterator[Server]:
    server = start(*args, cwd=cwd, log=log, key=key, env=env)
    try:
        if ready:
            wait_ready(server)
        yield server
    finally:
        stop(server)


def clone_version(source: Path, models: Path, name: str) -> Path:
    """A copy of a trained version under another version name (same weights, its own manifest)."""
    models.mkdir(parents=True, exist_ok=True)
    dest = models / name
    shutil.copytree(source, dest)
    edit_manifest(dest, lambda m: m.update(version=name))
    return dest
