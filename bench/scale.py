"""Scaling benchmark: `build-dataset` + `train` wall time and peak RSS against corpus size.

    python -m bench.scale [--sizes 10000,100000,1000000] [--modes stream,memory] [--work DIR] [--json OUT]

For each size, a corpus is generated (``bench/corpus.py``, seed 13), then ``artclf build-dataset``
and ``artclf train`` run in child processes (``nice -n 10``), each measured by ``os.wait4``: wall
time and the child's own peak resident set. Memory mode is skipped above ``--memory-max`` articles
(it holds the whole training split and its matrices). Prints one JSON line per run and, with
``--png``, draws time and peak memory against N on log-log axes. Never part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIG = """[data]
format = "jsonl"
source = "{source}"
labels = ""
rules = ""
dataset_dir = "{dataset}"
[train]
models_dir = "{models}"
mode = "{mode}"
"""


def run(cmd: list[str], log: Path) -> dict[str, Any]:
    """Wall seconds, peak RSS (MB) and exit status of one child process."""
    start = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(["nice", "-n", "10", *cmd], stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
    return {"wall_s": round(time.perf_counter() - start, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "exit": os.waitstatus_to_exitcode(status)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--modes", default="stream,memory")
    parser.add_argument("--memory-max", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/artclf-scale"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--png", type=Path, default=None)
    args = parser.parse_args(argv)
    exe = str(Path(sys.executable).with_name("artclf"))
    results = []
    for n in [int(x) for x in args.sizes.split(",")]:
        corpus = args.work / f"corpus-{n}"
        if not list(corpus.glob("part-*.jsonl")):
            generated = run([sys.executable, "-m", "bench.corpus", "--n", str(n), "--out", str(corpus)], args.work / f"corpus-{n}.log")
            if generated["exit"] != 0:
                print(f"corpus {n}: failed, see {args.work / f'corpus-{n}.log'}", file=sys.stderr)
                return 1
        for mode in args.modes.split(","):
            if mode == "memory" and n > args.memory_max:
                continue
            tag = f"{mode}-{n}"
            config = args.work / f"{tag}.toml"
            config.write_text(CONFIG.format(source=corpus, dataset=args.work / f"dataset-{n}", models=args.work / f"models-{tag}", mode=mode))
            build = run([exe, "build-dataset", str(config)], args.work / f"{tag}-build.log")
            fit = run([exe, "train", str(config)], args.work / f"{tag}-train.log")
            row = {"n": n, "mode": mode, "build": build, "train": fit, "load_average": os.getloadavg()}
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.png:
        plot(results, args.png)
    return 0


def plot(results: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({r["mode"] for r in results}):
        rows = sorted((r for r in results if r["mode"] == mode), key=lambda r: r["n"])
        ns = [r["n"] for r in rows]
        left.loglog(ns, [r["build"]["wall_s"] + r["train"]["wall_s"] for r in rows], "o-", label=mode)
        right.loglog(ns, [max(r["build"]["peak_rss_mb"], r["train"]["peak_rss_mb"]) for r in rows], "o-", label=mode)
    left.set(xlabel="articles", ylabel="build + train wall s", title="time")
    right.set(xlabel="articles", ylabel="peak RSS MB", title="memory")
    for ax in (left, right):
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
