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
    parser.add_argument("--vanilla-fit", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vanilla_fit:
        print(json.dumps(vanilla_fit(args.vanilla_fit)))
        return 0
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
            if mode in ("memory", "vanilla") and n > args.memory_max:
                continue
            tag = f"{mode}-{n}"
            dataset = args.work / f"dataset-{n}"
            if mode == "vanilla":
                # The pipeline a user writes by hand, on the split a stream or memory run built.
                build = None
                fit = run([sys.executable, "-m", "bench.scale", "--vanilla-fit", str(dataset)], args.work / f"{tag}-train.log")
                quality = json.loads((args.work / f"{tag}-train.log").read_text().strip().splitlines()[-1])
            else:
                config = args.work / f"{tag}.toml"
                config.write_text(CONFIG.format(source=corpus, dataset=dataset, models=args.work / f"models-{tag}", mode=mode))
                build = run([exe, "build-dataset", str(config)], args.work / f"{tag}-build.log")
                fit = run([exe, "train", str(config)], args.work / f"{tag}-train.log")
                quality = _test_metrics(args.work / f"models-{tag}")
            row = {"n": n, "mode": mode, "build": build, "train": fit, "test": quality, "load_average": os.getloadavg()}
            results.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.png:
        plot(results, args.png)
    return 0


def _test_metrics(models: Path) -> dict[str, Any] | None:
    versions = sorted((p for p in models.glob("v*") if p.name[1:].isdigit()), key=lambda p: int(p.name[1:]))
    if not versions:
        return None
    test = json.loads((versions[-1] / "manifest.json").read_text())["metrics"].get("test", {})
    return {"topic_micro_f1": test.get("topic", {}).get("micro_f1"), "tone_accuracy": test.get("tone", {}).get("accuracy")}


def vanilla_fit(dataset: Path) -> dict[str, Any]:
    """bench.systems' vanilla pipeline for both heads, trained on the train split in memory."""
    from bench.systems import fit_vanilla
    from train.data.dataset import load_splits
    from train.evaluate.metrics import tone_metrics, topic_metrics

    splits = load_splits(dataset, ["train", "test"])
    train, test = splits["train"], splits["test"]
    topics = sorted({t for r in train for t in r.topics})
    tones = sorted({r.tone for r in train})
    topic = fit_vanilla(train, "multilabel", topics)
    tone = fit_vanilla(train, "multiclass", tones)
    texts = [r.text for r in test]
    return {"topic_micro_f1": topic_metrics([r.topics for r in test], [list(p) for p in topic.predict(texts)], topics)["micro_f1"],
            "tone_accuracy": tone_metrics([r.tone for r in test], [p[0] for p in tone.predict(texts)], tones)["accuracy"]}


def render_markdown(results: list[dict[str, Any]]) -> str:
    """The "Scaling" section of BENCHMARKS.md from bench/scaling.json."""
    out = ["## Scaling", "",
           "`make bench-scale` (`python -m bench.scale`): corpora of N articles generated by `bench/corpus.py` from the "
           "shared data (seed 13, labels from the labeling rules), `artclf build-dataset` then `artclf train` with the "
           "default config (`format = \"jsonl\"`, `rules = \"\"`) in child processes under `nice -n 10`; wall time and "
           "each child's own peak RSS (`os.wait4`). Vanilla is `bench/systems.py`'s pipeline for both heads on the split "
           "the other runs built (its build is theirs). Test-split quality of the saved version. Load average (1 min) at "
           "the end of each run: above 2 means other jobs shared the 2 cores and times are inflated.", "",
           "| N | mode | build s | build peak MB | train s | train peak MB | topic micro-F1 | tone accuracy | load |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(results, key=lambda r: (r["n"], r["mode"])):
        b, t, q = r.get("build") or {}, r["train"], r.get("test") or {}
        def f(x: Any, fmt: str = "{:.3f}") -> str:
            return "-" if x is None else fmt.format(x)
        out.append(f"| {r['n']:,} | {r['mode']} | {f(b.get('wall_s'), '{:.0f}')} | {f(b.get('peak_rss_mb'), '{:,}')} | "
                   f"{t['wall_s']:.0f} | {t['peak_rss_mb']:,} | {f(q.get('topic_micro_f1'))} | {f(q.get('tone_accuracy'))} | "
                   f"{r['load_average'][0]:.1f} |")
    notes = [f"- {r['n']:,} {r['mode']}: {r['note']}" for r in results if r.get("note")]
    out += [""] + (notes + [""] if notes else []) + ["![time and peak memory against N](bench/scaling.png)", ""]
    return "\n".join(out)


def plot(results: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode in sorted({r["mode"] for r in results}):
        rows = sorted((r for r in results if r["mode"] == mode), key=lambda r: r["n"])
        ns = [r["n"] for r in rows]
        left.loglog(ns, [(r["build"] or {}).get("wall_s", 0) + r["train"]["wall_s"] for r in rows], "o-", label=mode)
        line = right.loglog(ns, [r["train"]["peak_rss_mb"] for r in rows], "o-", label=f"{mode} train")[0]
        built = [(r["n"], r["build"]["peak_rss_mb"]) for r in rows if r.get("build")]
        if built:
            right.loglog(*zip(*built), "s--", color=line.get_color(), label=f"{mode} build")
    left.set(xlabel="articles", ylabel="build + train wall s (vanilla: train)", title="time")
    right.set(xlabel="articles", ylabel="peak RSS MB", title="memory")
    for ax in (left, right):
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
