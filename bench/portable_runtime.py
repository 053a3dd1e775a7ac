"""Measures the portable runtime beside the scikit-learn path on a saved model (not a test):

    .venv/bin/python -m bench.portable_runtime [MODEL] [--repeat 5]

Exports MODEL's pipelines to MODEL/portable/ (after the parity gate on the test split), then
reports per-article p50/p99 latency and batch throughput of PortableModel and ArticleModel in
this process, and the cold start (fresh process: import, load, predict one text) of each, the
median of ``--repeat`` runs. Models and data stay in the git-ignored models/ and data/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COLD_PORTABLE = """
import time; t0 = time.perf_counter()
import hashlib, json, pathlib
from artclf._portable import PortableModel
folder = pathlib.Path({folder!r})
sums = json.loads((folder / "SHA256SUMS.json").read_text())
files = {{}}
for name, digest in sums.items():
    data = (folder / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest, name
    files[name] = data
model = PortableModel(files)
model.classify([{text!r}])
print(time.perf_counter() - t0)
"""

COLD_SKLEARN = """
import time; t0 = time.perf_counter()
from train import load_model
model = load_model({ref!r}, models_dir={models!r})
model.classify([{text!r}])
print(time.perf_counter() - t0)
"""


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return ordered[len(ordered) // 2] * 1e3, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3


def _latency(classify, texts: list[str]) -> tuple[float, float]:
    for t in texts[:20]:
        classify([t])
    times = []
    for t in texts:
        start = time.perf_counter()
        classify([t])
        times.append(time.perf_counter() - start)
    return _percentiles(times)


def _throughput(classify, texts: list[str], batch: int = 256) -> float:
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        classify(texts[i:i + batch])
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    import hashlib

    from datasets import load_from_disk

    from train.registry import load_model, resolve_ref
    from train.store.portable import check_parity, export_portable
    from artclf._portable import PortableModel

    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="latest")
    parser.add_argument("--models-dir", default="models")
    parser.add_argument("--data", default="data/dataset")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    path = resolve_ref(args.model, args.models_dir)
    reference = load_model(args.model, args.models_dir)
    manifest = reference.manifest
    texts = [(r.get("title") or "") + "\n\n" + r["text"] for r in load_from_disk(args.data)["test"]]
    files = export_portable(reference.topic_pipeline, reference.tone_pipeline, manifest["labels"]["topics"], manifest["labels"]["tone"],
                            manifest.get("calibration"))
    parity = check_parity(files, reference.topic_pipeline, reference.tone_pipeline, texts)
    folder = path / "portable"
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "SHA256SUMS.json").write_text(json.dumps({n: hashlib.sha256(d).hexdigest() for n, d in files.items()}))
    portable = PortableModel(files)

    report: dict[str, object] = {"model": str(path), "n_test": len(texts), "parity": parity,
                                 "portable_bytes": sum(len(d) for d in files.values())}
    for name, model in (("portable", portable), ("sklearn", reference)):
        p50, p99 = _latency(model.classify, texts)
        report[name] = {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
                        "batch_articles_per_s": round(_throughput(model.classify, texts * 4))}
    text = texts[0]
    for name, script in (("portable", COLD_PORTABLE.format(folder=str(folder.resolve()), text=text)),
                         ("sklearn", COLD_SKLEARN.format(ref=str(path.resolve()), models=args.models_dir, text=text))):
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
            runs.append((time.perf_counter() - start, float(out.stdout.strip().splitlines()[-1])))
        report[name]["cold_start_s"] = round(statistics.median(r[0] for r in runs), 3)  # type: ignore[index]
        report[name]["cold_in_process_s"] = round(statistics.median(r[1] for r in runs), 3)  # type: ignore[index]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
