"""Serving over HTTP: `artclf serve` against the app a user would write (FastAPI + joblib.load +
pipeline.predict), on loopback, load generated from other processes.

    nice -n 5 python -m bench.serve_http [--models models] [--seconds 10] [--swap-seconds 60] [--write]

1. Each server in turn (ours on granian, the default; ours on uvicorn; the hand-written FastAPI app
   on uvicorn), one worker: `wrk` with 32 connections sends single-article requests, then batches of
   100 (4 connections); requests/s, p50/p99 and non-2xx answers from wrk; the worker's RSS.
2. The swap run: ours serving alias `production`; the peak rate of `bench.http_load` (a Python
   open-loop client in its own process) is measured, then 80% of it is sent for ``--swap-seconds``
   while `artclf models promote v2 --alias production` runs halfway; failed requests, p99 before
   the promote and p99 from the promote until 2 s after the swap.

``--write`` puts the section into BENCHMARKS.md between its markers (``bench.run`` keeps it).
Every loop is bounded; every server is stopped in a ``finally``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from train.cli import main; main()"]
START, END = "<!-- serve-http:start -->", "<!-- serve-http:end -->"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clone(source: Path, models: Path, name: str) -> None:
    from artclf.manifest import field_digests

    shutil.copytree(source, models / name)
    path = models / name / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["version"] = name
    if isinstance(manifest.get("integrity"), dict):
        manifest["integrity"]["fields"] = field_digests(manifest)
    path.write_text(json.dumps(manifest))


def articles(n: int) -> list[dict[str, Any]]:
    """``n`` seed articles (title and body), in file order, as request objects."""
    from train.data.parse import parse_article

    out = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        try:
            article = parse_article(path.read_text(encoding="utf-8"), path.stem, str(path))
        except Exception:
            continue
        out.append({"id": path.stem, "title": article.title, "text": article.text})
        if len(out) == n:
            break
    return out


class Proc:
    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path = REPO) -> None:
        handle = log_path.open("wb")
        self.proc = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ, **(env or {})})
        handle.close()
        self.log = log_path

    def wait_ready(self, port: int, path: str, timeout: float = 120) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-1500:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path)
                if conn.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout}s")

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MB of the serving worker: the server process itself with one uvicorn
        worker, or its largest child (granian runs its workers as child processes)."""
        def status(pid: int) -> tuple[float, float]:
            text = Path(f"/proc/{pid}/status").read_text()
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

        pids = [self.proc.pid]
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
        return max(status(pid) for pid in pids)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def wrk(port: int, path: str, body: bytes, connections: int, seconds: int, work: Path) -> dict[str, float]:
    script = work / f"post-{len(body)}.lua"
    script.write_text("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
                      f"wrk.body = {json.dumps(body.decode('utf-8'))}\n")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", "-s", str(script),
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60).stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(0.99 * len(values)))] * 1000


def measure_server(name: str, start: Any, single: bytes, batch: bytes, paths: tuple[str, str], seconds: int,
                   work: Path) -> dict[str, Any]:
    port = free_port()
    server = start(port)
    try:
        server.wait_ready(port, "/healthz" if "ours" in name else "/docs")
        wrk(port, paths[0], single, 8, 2, work)  # warm-up
        result: dict[str, Any] = {"single": wrk(port, paths[0], single, 32, seconds, work)}
        result["batch"] = wrk(port, paths[1], batch, 4, seconds, work)
        result["rss_mb"], result["hwm_mb"] = server.rss_mb()
        log(f"{name}: single {result['single']['rps']:.0f} req/s p99 {result['single']['p99']:.1f} ms; "
            f"batch {result['batch']['rps'] * 100:.0f} articles/s; RSS {result['rss_mb']:.1f} MB")
        return result
    finally:
        server.stop()


class _Replay:
    """A stand-in model answering with results computed beforehand: an app serving it costs only
    the server's own work."""

    def __init__(self, model: Any, texts: list[str]) -> None:
        self.results = {tuple(texts): model.classify(texts)} if texts else {}

    def classify(self, texts: list[str]) -> list[dict[str, Any]]:
        return self.results[tuple(texts)]


def replay_app() -> Any:
    """The granian factory of the "server only" measurement: ``artclf serve``'s app (settings from
    the environment, as its workers read them) serving a stand-in model that replays the
    benchmark's answers, so its throughput over HTTP is the server's ceiling with scoring free."""
    from artclf.loading import load_model
    from artclf.text import article_text
    from train.serve.holder import ModelHolder, Served
    from train.serve.http import ServeSettings, create_app

    settings = ServeSettings.from_env()
    models = Path(settings.models_dir)
    model = load_model(settings.model, models)
    replay = _Replay(model, [])
    for records in (articles(1), articles(100)):
        texts = [article_text(r["title"], r["text"]) for r in records]
        replay.results[tuple(texts)] = model.classify(texts)
    holder = ModelHolder(settings.model, models)
    holder.current = Served(replay, settings.model, models / settings.model, time.time())
    return create_app(settings, holder=holder)


def scoring_split(models: Path, single: dict[str, Any], batch: list[dict[str, Any]], rounds: int = 7) -> dict[str, Any]:
    """What share of a request is the runtime's scoring and what is the server's own work, in this
    process with no network: the app (``create_app``, driven through ASGI, access log on and
    written to /dev/null) serving a stand-in model that replays precomputed answers (the server's
    work: body parse, checks, answer, metrics, log line), against ``Model.classify`` on the same
    texts (the scoring). Each is the best of ``rounds`` alternating rounds, so load from other work
    on the machine inflates neither figure more than the other."""
    import asyncio
    import logging

    from artclf.loading import load_model
    from artclf.text import article_text
    from train.serve.holder import ModelHolder, Served
    from train.serve.http import ServeSettings, create_app

    model = load_model("v1", models)
    cases = []
    for kind, records, body, n in (("single", [single], json.dumps(single).encode(), 300),
                                   ("batch", batch, json.dumps({"articles": batch}).encode(), 6)):
        texts = [article_text(r["title"], r["text"]) for r in records]
        holder = ModelHolder("v1", models)
        holder.current = Served(_Replay(model, texts), "v1", models / "v1", time.time())
        cases.append((kind, texts, body, n, create_app(ServeSettings(model="v1", models_dir=str(models)), holder=holder)))
    sink = open(os.devnull, "w")
    for handler in logging.getLogger("artclf.serve").handlers:
        handler.setStream(sink)  # type: ignore[attr-defined]

    async def call(app: Any, body: bytes) -> None:
        scope = {"type": "http", "method": "POST", "path": "/v1/predict", "raw_path": b"/v1/predict", "query_string": b"",
                 "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "scheme": "http", "http_version": "1.1"}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[int] = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent.append(message["status"])

        await app(scope, receive, send)
        assert sent == [200], sent

    async def measure() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, texts, body, n, app in cases:
            server = scoring = float("inf")
            for _ in range(rounds):
                start = time.perf_counter()
                for _ in range(n):
                    await call(app, body)
                server = min(server, (time.perf_counter() - start) / n)
                start = time.perf_counter()
                for _ in range(n):
                    model.classify(texts)
                scoring = min(scoring, (time.perf_counter() - start) / n)
            out[kind] = {"server_ms": server * 1000, "classify_ms": scoring * 1000,
                         "server_share": server / (server + scoring), "articles": len(texts)}
        return out

    try:
        return {**asyncio.run(measure()), "rounds": rounds}
    finally:
        sink.close()


def swap_run(models: Path, single: bytes, seconds: float, work: Path) -> dict[str, Any]:
    port = free_port()
    server = Proc([*CLI, "serve", "production", "--models-dir", str(models), "--port", str(port)],
                  work / "swap-server.log")
    body = work / "single.json"
    body.write_bytes(single)

    def load(rate: float, secs: float, out: str) -> dict[str, Any]:
        subprocess.run([sys.executable, "-m", "bench.http_load", "--port", str(port), "--body-file", str(body),
                        "--rate", str(rate), "--seconds", str(secs), "--out", str(work / out)],
                       check=True, timeout=secs + 120, cwd=REPO)
        return json.loads((work / out).read_text())

    try:
        server.wait_ready(port, "/healthz")
        calibration = load(20_000, 8, "calibration.json")
        done = [r for r in calibration["records"] if r[2] == 200]
        peak = len(done) / calibration["seconds"]
        rate = 0.8 * peak
        log(f"swap run: client peak {peak:.0f} req/s, sending {rate:.0f} req/s for {seconds:.0f} s")
        time.sleep(1)
        loader = subprocess.Popen([sys.executable, "-m", "bench.http_load", "--port", str(port), "--body-file", str(body),
                                   "--rate", str(rate), "--seconds", str(seconds), "--out", str(work / "swap.json")], cwd=REPO)
        time.sleep(seconds / 2)
        promoted_at = time.time()
        subprocess.run([*CLI, "models", "promote", "v2", "--alias", "production",
                        "--models-dir", str(models)], check=True, capture_output=True, timeout=120, cwd=REPO)
        loader.wait(seconds + 120)
        run = json.loads((work / "swap.json").read_text())
        swapped_at = None
        for line in server.log.read_text().splitlines():
            if '"model_swapped"' in line:
                ts = json.loads(line)["ts"]
                swapped_at = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
        records = run["records"]
        promote_offset = promoted_at - run["wall_start"]
        swap_offset = (swapped_at - run["wall_start"]) if swapped_at else promote_offset
        steady = [r[1] for r in records if 5 <= r[0] < promote_offset - 1]
        during = [r[1] for r in records if promote_offset <= r[0] <= swap_offset + 2]
        failed = sum(1 for r in records if r[2] not in (200, -1))
        unsent = sum(1 for r in records if r[2] == -1)
        result = {"peak": peak, "rate": rate, "requests": len(records) - unsent, "failed": failed, "unsent": unsent,
                  "p99_steady_ms": p99(steady), "p99_swap_ms": p99(during), "swap_after_s": swap_offset - promote_offset,
                  "swapped": swapped_at is not None, "achieved": len(records) / run["seconds"],
                  "rss_mb": server.rss_mb()[0]}
        log(f"swap run: {result}")
        return result
    finally:
        server.stop()


def render(results: dict[str, Any]) -> str:
    ours, uvi, base = results["ours"], results.get("uvicorn"), results["baseline"]
    swap, split = results["swap"], results["split"]
    ratio = ours["single"]["rps"] / base["single"]["rps"]
    rows = [("artclf serve (granian + Starlette, numpy runtime)", ours)]
    rows.append(("artclf serve --workers 2 (one per core)", results["ours2"]))
    if results.get("replay"):
        rows.append(("artclf serve, scoring replayed (the server's own ceiling; not a real server)", results["replay"]))
    if uvi:
        rows.append(("artclf serve --server uvicorn (httptools, uvloop)", uvi))
    rows.append(("hand-written FastAPI + joblib.load + pipeline.predict (uvicorn)", base))
    lines = [
        START,
        "## Serving over HTTP",
        "",
        f"`nice -n 5 python -m bench.serve_http --write` ({results['date']}, {results['machine']}; loopback; one "
        f"worker per server unless said; load average {results['load']} at the start, {results.get('load_end', '?')} at "
        "the end; load from other processes: `wrk -t1` for throughput, `bench.http_load` for the swap run; "
        f"{results['seconds']} s per measurement; the default model: `make train`, {results['model']}). The machine was "
        "shared with other work during the run, so absolute figures are low and noisy; the ratios come from one run.",
        "",
        "| server | single article, 32 clients: req/s | p50 ms | p99 ms | batches of 100: articles/s | worker RSS MB (peak) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | {r['single']['rps']:,.0f} | {r['single']['p50']:.1f} | {r['single']['p99']:.1f} | "
                     f"{r['batch']['rps'] * 100:,.0f} | {r['rss_mb']:.1f} ({r['hwm_mb']:.1f}) |")
    failures = sum(r["single"]["non2xx"] + r["single"]["socket_errors"] + r["batch"]["non2xx"] + r["batch"]["socket_errors"]
                   for _, r in rows)
    lines += [
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| single-article req/s >= 3x the hand-written app | {ratio:.2f}x | {'yes' if ratio >= 3 else 'no'} |",
        f"| lower p99 than the hand-written app | {ours['single']['p99']:.1f} vs {base['single']['p99']:.1f} ms | "
        f"{'yes' if ours['single']['p99'] < base['single']['p99'] else 'no'} |",
        f"| batches of 100: >= 10,000 articles/s | {ours['batch']['rps'] * 100:,.0f} (one worker), "
        f"{results['ours2']['batch']['rps'] * 100:,.0f} (two) | "
        f"{'yes' if max(ours['batch']['rps'], results['ours2']['batch']['rps']) * 100 >= 10_000 else 'no'} |",
        f"| promote during a {results['swap_seconds']} s load at 80% of peak ({swap['rate']:,.0f} of {swap['peak']:,.0f} req/s): "
        f"zero failed requests | {swap['failed']} failed of {swap['requests']:,} | {'yes' if swap['failed'] == 0 else 'no'} |",
        f"| p99 during the swap < 2x steady | {swap['p99_swap_ms']:.1f} vs {swap['p99_steady_ms']:.1f} ms "
        f"(swap {swap['swap_after_s']:.1f} s after the promote) | {'yes' if swap['p99_swap_ms'] < 2 * swap['p99_steady_ms'] else 'no'} |",
        f"| worker RSS with the default model <= 80 MB | {ours['rss_mb']:.1f} MB after load (peak {ours['hwm_mb']:.1f}) | "
        f"{'yes' if ours['hwm_mb'] <= 80 else 'no'} |",
        "",
        f"Where a request's time goes (`scoring_split`: in-process, no network, best of {split['rounds']} alternating rounds): a batch of "
        f"100 articles cost the server {split['batch']['server_ms']:.2f} ms of its own work (body parse, checks, answer, "
        f"metrics, access log; the app serving precomputed answers) against {split['batch']['classify_ms']:.1f} ms of "
        f"`Model.classify` on the same texts: the server is {split['batch']['server_share']:.1%} of a batch request, the "
        f"runtime's scoring {1 - split['batch']['server_share']:.1%} ({split['batch']['classify_ms'] / 100:.3f} ms per "
        f"article). One article: {split['single']['server_ms']:.3f} ms server, {split['single']['classify_ms']:.3f} ms "
        f"scoring ({split['single']['server_share']:.1%} server). 10,000 articles/s on two cores means 0.2 ms per article "
        "per core all in (HTTP included), so the batch target rests on the runtime's scoring speed"
        + (f": with scoring replayed, one worker answered {results['replay']['batch']['rps'] * 100:,.0f} articles/s "
           "in batches over HTTP." if results.get("replay") else "."),
        "",
        f"Failed requests (non-2xx or socket errors) across the throughput runs: {failures}. The swap-run latencies are "
        "measured from each request's scheduled send time (open loop), so queueing behind a busy server counts; "
        f"{swap['unsent']:,} scheduled requests were never sent because the client process (on the same two cores) "
        "fell more than a second behind its schedule: they are not counted as answered or as failed.",
        END,
    ]
    return "\n".join(lines) + "\n"


def compare_servers(models: Path, single: bytes, rounds: int, work: Path) -> None:
    """Both servers up at once, ``rounds`` alternating 5-second wrk runs each (what chose the default)."""
    servers = {}
    try:
        for name in ("granian", "uvicorn"):
            port = free_port()
            proc = Proc([*CLI, "serve", "v1", "--models-dir", str(models), "--port", str(port), "--server", name],
                        work / f"{name}.log")
            servers[name] = (proc, port)
            proc.wait_ready(port, "/healthz")
        for round_ in range(rounds):
            for name, (proc, port) in servers.items():
                w = wrk(port, "/v1/predict", single, 32, 5, work)
                print(f"round {round_ + 1} {name}: {w['rps']:.0f} req/s, p50 {w['p50']:.1f} ms, p99 {w['p99']:.1f} ms", flush=True)
        for name, (proc, _) in servers.items():
            print(f"{name}: worker RSS {proc.rss_mb()[0]:.1f} MB", flush=True)
    finally:
        for proc, _ in servers.values():
            proc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--swap-seconds", type=float, default=60)
    parser.add_argument("--skip-uvicorn", action="store_true", help="measure only the default server (granian)")
    parser.add_argument("--write", action="store_true", help="put the section into BENCHMARKS.md")
    parser.add_argument("--compare-servers", type=int, default=0, metavar="ROUNDS",
                        help="only compare granian and uvicorn serving the same app (alternating wrk runs)")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("error: wrk not found; install it (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 1
    from artclf.refs import list_versions

    versions = list_versions(args.models)
    if not versions:
        print(f"error: no model version in {args.models}; run `make train` first", file=sys.stderr)
        return 1
    source = versions[-1]
    work = Path(tempfile.mkdtemp(prefix="artclf-serve-bench-"))
    try:
        models = work / "models"
        models.mkdir()
        clone(source, models, "v1")
        clone(source, models, "v2")
        (models / "aliases.json").write_text(json.dumps({"production": "v1"}))
        one = articles(1)[0]
        single = json.dumps(one).encode()
        if args.compare_servers:
            compare_servers(models, single, min(args.compare_servers, 10), work)
            return 0
        batch_articles = articles(100)
        batch = json.dumps({"articles": batch_articles}).encode()
        results_chars = sum(len(a["title"]) + len(a["text"]) for a in batch_articles) // len(batch_articles)
        ours = lambda port: Proc([*CLI, "serve", "v1", "--models-dir", str(models),  # noqa: E731
                                  "--port", str(port)], work / "ours.log")
        on_uvicorn = lambda port: Proc([*CLI, "serve", "v1", "--models-dir", str(models), "--port", str(port),  # noqa: E731
                                        "--server", "uvicorn"], work / "uvicorn.log")
        baseline = lambda port: Proc([sys.executable, "-m", "uvicorn", "bench.serve_baseline:app", "--host", "127.0.0.1",  # noqa: E731
                                      "--port", str(port)], work / "baseline.log", env={"BASELINE_MODEL": str(models / "v1")})
        results: dict[str, Any] = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
            "seconds": args.seconds, "swap_seconds": int(args.swap_seconds),
            "chars": results_chars,
            "load": f"{os.getloadavg()[0]:.1f}",
            "model": f"{source.name}, {sum(f.stat().st_size for f in source.iterdir()) / 1e6:.2f} MB folder",
        }
        results["ours"] = measure_server("ours", ours, single, batch, ("/v1/predict", "/v1/predict"), args.seconds, work)
        two = lambda port: Proc([*CLI, "serve", "v1", "--models-dir", str(models), "--port", str(port),  # noqa: E731
                                 "--workers", "2"], work / "two.log")
        results["ours2"] = measure_server("ours 2 workers", two, single, batch, ("/v1/predict", "/v1/predict"),
                                          args.seconds, work)
        replay = lambda port: Proc([sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--no-ws",  # noqa: E731
                                    "--log-level", "warning", "--port", str(port), "bench.serve_http:replay_app"],
                                   work / "replay.log", env={"ARTCLF_SERVE_SETTINGS": json.dumps(
                                       {"model": "v1", "models_dir": str(models)})})
        results["replay"] = measure_server("ours, scoring replayed", replay, single, batch, ("/v1/predict", "/v1/predict"),
                                           args.seconds, work)
        if not args.skip_uvicorn:
            results["uvicorn"] = measure_server("ours uvicorn", on_uvicorn, single, batch, ("/v1/predict", "/v1/predict"),
                                                args.seconds, work)
        results["baseline"] = measure_server("baseline", baseline, single, batch, ("/predict", "/predict_batch"),
                                             args.seconds, work)
        results["swap"] = swap_run(models, single, args.swap_seconds, work)
        results["split"] = scoring_split(models, one, batch_articles)
        log(f"split: {results['split']}")
        results["load_end"] = f"{os.getloadavg()[0]:.1f}"
        section = render(results)
        print(section)
        (work / "results.json").write_text(json.dumps(results, indent=2))
        if args.write:
            from bench.portable_runtime import write_section

            write_section(section, REPO / "BENCHMARKS.md", START, END)
            log("wrote BENCHMARKS.md")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
