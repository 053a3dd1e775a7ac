"""A bounded open-loop HTTP load generator, run as its own process (never inside the server's).

``python -m bench.http_load --port P --path /v1/predict --body-file B --rate 2000 --seconds 60 --out F``

``--connections`` keep-alive connections each send on a fixed schedule (``rate / connections``
per second); a request's latency runs from its scheduled time, so a server that falls behind is
charged for the wait (no coordinated omission). Loopback only. Writes JSON: the start time and,
per request, the scheduled offset, latency and status (0 for a connection error, -1 for a request
never sent because the run was over by its time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

HOST = "127.0.0.1"


async def _connection(port: int, request: bytes, start: float, interval: float, offset: float, until: float,
                      records: list[tuple[float, float, int]]) -> None:
    reader = writer = None
    n = 0
    while True:
        scheduled = start + offset + n * interval
        if scheduled >= until:
            break
        n += 1
        if time.perf_counter() >= until + 1:
            records.append((scheduled - start, 0.0, -1))  # never sent: the client fell too far behind
            continue
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        status = 0
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if b"connection: close" in head.lower():
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
            if writer is not None:
                writer.close()
            reader = writer = None
        records.append((scheduled - start, time.perf_counter() - scheduled, status))
    if writer is not None:
        writer.close()


async def run(port: int, path: str, body: bytes, rate: float, seconds: float, connections: int) -> dict:
    request = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    interval = connections / rate
    records: list[tuple[float, float, int]] = []
    wall = time.time()
    start = time.perf_counter() + 0.2
    until = start + seconds
    await asyncio.gather(*(_connection(port, request, start, interval, i * interval / connections, until, records)
                           for i in range(connections)))
    return {"wall_start": wall + 0.2, "rate": rate, "seconds": seconds, "connections": connections,
            "records": sorted(records)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/v1/predict")
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not 0 < args.seconds <= 600 or not 0 < args.rate <= 100_000:
        parser.error("--seconds must be in (0, 600] and --rate in (0, 100000]")
    result = asyncio.run(run(args.port, args.path, args.body_file.read_bytes(), args.rate, args.seconds, args.connections))
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
