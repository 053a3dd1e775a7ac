"""Serving probe, run in a fresh process as another app would: load a saved model, then time
single-article latency and batch throughput on one core. Prints one JSON object.

    python -m bench.probe SYSTEM PATH TEXTS.json [--latency-n N]

SYSTEM: ``ours`` (train.load_model + ArticleModel.predict), ``ours-joblib`` (plain joblib.load
of the saved pipeline, no repository code), ``vanilla`` (joblib file) or ``fasttext`` (.bin).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _loader(system: str, path: Path) -> Callable[[], Callable[[list[str]], Any]]:
    if system == "ours":
        from train.store.load import load_model

        def load() -> Callable[[list[str]], Any]:
            return load_model(str(path)).predict
        return load
    if system in ("ours-joblib", "vanilla"):
        import joblib

        target = path if system == "vanilla" else next(p for p in sorted(path.glob("*.joblib")))

        def load() -> Callable[[list[str]], Any]:
            return joblib.load(target).predict
        return load
    if system == "fasttext":
        import fasttext

        from bench.systems import fasttext_line

        def load() -> Callable[[list[str]], Any]:
            model = fasttext.load_model(str(path))
            return lambda texts: model.predict([fasttext_line(t) for t in texts], k=1)
        return load
    raise SystemExit(f"unknown system {system!r}")


def main(argv: list[str]) -> dict[str, Any]:
    system, path, texts_path = argv[0], Path(argv[1]), Path(argv[2])
    n_latency = int(argv[argv.index("--latency-n") + 1]) if "--latency-n" in argv else 1000
    _one_core()
    texts: list[str] = json.loads(texts_path.read_text(encoding="utf-8"))
    start = time.perf_counter()
    load = _loader(system, path)  # imports the libraries: counted apart from the load itself
    import_s = time.perf_counter() - start
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        predict = load()
        loads.append(time.perf_counter() - start)
    for text in texts[:20]:  # warm-up: first calls fill caches and lazy imports
        predict([text])
    latencies = []
    for text in texts[:n_latency]:
        start = time.perf_counter_ns()
        predict([text])
        latencies.append((time.perf_counter_ns() - start) / 1e6)
    latencies.sort()
    start = time.perf_counter()
    for i in range(0, len(texts), 1000):
        predict(texts[i:i + 1000])
    batch_s = time.perf_counter() - start
    return {
        "system": system,
        "import_s": round(import_s, 3),
        "first_load_s": round(loads[0], 4),
        "load_s": round(statistics.median(loads), 4),
        "latency_n": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2], 4),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 4),
        "throughput_per_s": round(len(texts) / batch_s, 1),
        "batch_n": len(texts),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
