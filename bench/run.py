"""Run the benchmarks and write BENCHMARKS.md.

    python -m bench.run [--quick] [--out BENCHMARKS.md] [--datasets 20newsgroups,reuters,...]

``--quick`` subsamples every dataset and uses fewer folds (under 2 minutes on 2 cores); its figures
are a smoke test, not results. Every figure in the output comes from this run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from bench import systems
from bench.measure import measured
from bench.tasks import LOADERS, Task, load_tasks

REPO = Path(__file__).resolve().parents[1]
SYSTEMS = ("vanilla", "fastText", "ours default", "ours best")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def score(task: Task, truth: list[Any], pred: list[tuple[str, ...]]) -> dict[str, float]:
    from train.evaluate.metrics import tone_metrics, topic_metrics

    if task.kind == "multiclass":
        m = tone_metrics([r.tone for r in truth], [p[0] if p else "" for p in pred], task.labels)
        return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    m = topic_metrics([r.topics for r in truth], [list(p) for p in pred], task.labels)
    return {"micro_f1": m["micro_f1"], "macro_f1": m["macro_f1"]}


def fitter(name: str, task: Task) -> Callable[[list[Any]], systems.Fitted]:
    if name == "vanilla":
        return lambda train: systems.fit_vanilla(train, task.kind, task.labels)
    if name == "fastText":
        return lambda train: systems.fit_fasttext(train, task.kind, task.labels)
    path = None if name == "ours default" else str(REPO / task.best_config)
    config = systems.load_config_for(path, task.labels_config)
    return lambda train: systems.fit_ours(train, task.kind, task.labels, config)


def run_task(task: Task, names: list[str], keep: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics (mean over folds), training wall time and peak memory for each system; the fitted
    first-fold models of the systems in ``keep`` (for the serving figures)."""
    results: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    for name in names:
        fit = fitter(name, task)
        per_fold, times, peaks, grown = [], [], [], []
        for i, (train, test) in enumerate(task.folds):
            gc.collect()
            with measured() as m:
                model = fit(train)
            per_fold.append(score(task, test, model.predict([r.text for r in test])))
            if model.raw_scores is not None:
                from train.evaluate.metrics import calibration_metrics

                topics, tones = (task.labels, []) if task.kind != "multiclass" else ([], task.labels)
                cal = calibration_metrics(test, model.raw_scores([r.text for r in test]), topics, tones)
                block = cal["topic"] if topics else cal["tone"]
                per_fold[-1].update({"ece": block["ece"], "brier": block["brier"]})
            times.append(m["wall_s"])
            peaks.append(m["peak_rss_mb"])
            grown.append(m["peak_rss_mb"] - m["rss_before_mb"])
            if i == 0 and name in keep:
                kept[name] = model
            del model
        metrics = {k: round(statistics.mean(f[k] for f in per_fold), 4) for k in per_fold[0]}
        if len(per_fold) > 1:
            metrics.update({f"{k}_std": round(statistics.pstdev(f[k] for f in per_fold), 4) for k in per_fold[0]})
        results[name] = {"metrics": metrics, "train_s": round(statistics.mean(times), 3),
                         "peak_rss_mb": round(max(peaks), 1), "fit_rss_growth_mb": round(max(grown), 1)}
        log(f"{task.name} / {name}: {metrics} train {results[name]['train_s']} s, peak {results[name]['peak_rss_mb']} MB")
    return results, kept


def folder_bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def model_bytes(path: Path) -> int:
    """What a loader reads: the file, or the .joblib files (and manifest) of a version folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.iterdir() if p.suffix == ".joblib" or p.name == "manifest.json")


def probe(system: str, path: Path, texts_file: Path, latency_n: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.probe", system, str(path), str(texts_file), "--latency-n", str(latency_n)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=systems.one_thread_env(), timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"probe {system} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def serving(task: Task, kept: dict[str, Any], work: Path, latency_n: int) -> list[dict[str, Any]]:
    """Size, load time, latency and throughput of each kept model, each loaded in a fresh process."""
    test = task.folds[0][1]
    texts_file = work / "serve_texts.json"
    texts_file.write_text(json.dumps([r.text for r in test]), encoding="utf-8")
    rows = []
    for name, model in kept.items():
        saved = model.save(work / "serve" / name.replace(" ", "_"))
        kinds = {"vanilla": ["vanilla"], "fastText": ["fasttext"]}.get(name, ["ours", "ours-joblib"])
        for kind in kinds:
            result = probe(kind, saved, texts_file, latency_n)
            result.update(name=name if kind != "ours-joblib" else f"{name} (plain joblib)", bytes=model_bytes(saved))
            rows.append(result)
            log(f"serving {result['name']}: {result}")
    return rows


def latency_profile(model: systems.Fitted, texts: list[str]) -> dict[str, float]:
    """Where one article's prediction time goes, in-process: featurize vs classify, through the
    pipeline's own methods and through ArticleModel's fast path (train/model/scoring.py)."""
    article_model = model.model
    pipeline = article_model.tone_pipeline or article_model.topic_pipeline
    featurize, clf = pipeline[:-1], pipeline[-1]
    fast = article_model._fast
    parts: dict[str, list[float]] = {"featurize_ms": [], "classify_ms": [], "fast_featurize_ms": [], "fast_classify_ms": [], "predict_ms": []}
    for text in texts:
        t0 = time.perf_counter_ns()
        X = featurize.transform([text])
        t1 = time.perf_counter_ns()
        clf.decision_function(X)
        t2 = time.perf_counter_ns()
        article_model.predict([text])
        t3 = time.perf_counter_ns()
        parts["featurize_ms"].append((t1 - t0) / 1e6)
        parts["classify_ms"].append((t2 - t1) / 1e6)
        parts["predict_ms"].append((t3 - t2) / 1e6)
        if fast is not None:
            t4 = time.perf_counter_ns()
            X = fast.featurize([text])
            t5 = time.perf_counter_ns()
            (fast.tone or fast.topic)(X)
            t6 = time.perf_counter_ns()
            parts["fast_featurize_ms"].append((t5 - t4) / 1e6)
            parts["fast_classify_ms"].append((t6 - t5) / 1e6)
    return {k: round(statistics.median(v), 4) for k, v in parts.items() if v}


LEVERS: list[tuple[str, list[str]]] = [
    ("vocabulary (word 1-grams), float64, all weights", ["features.hash_bits=0", "train.coef_dtype=float64", "train.keep_weights=1.0"]),
    ("hashed 2^20, float64, all weights", ["train.coef_dtype=float64", "train.keep_weights=1.0"]),
    ("hashed 2^20, float32, all weights", ["train.keep_weights=1.0"]),
    ("hashed 2^20, float32, largest 50% of weights", ["train.keep_weights=0.5"]),
    ("hashed 2^20, float32, largest 30% (best config)", []),
    ("hashed 2^20, float32, largest 15% of weights", ["train.keep_weights=0.15"]),
    ("hashed 2^20, float32, largest 5% of weights", ["train.keep_weights=0.05"]),
    ("hashed 2^18, float32, largest 30%", ["features.hash_bits=18"]),
    ("best config with plain LinearSVC instead of NB-SVM", ["tone.classifier=linear_svc"]),
    ("best config with word 1-2-grams", ["features.ngram_range=[1,2]"]),
]
QUICK_LEVERS = ("hashed 2^20, float32, all weights", "hashed 2^20, float32, largest 30% (best config)")


def size_levers(task: Task, work: Path) -> list[dict[str, Any]]:
    """Accuracy, saved size and load time of the 20 Newsgroups best config with each lever undone."""
    from train.store.load import load_model

    train, test = task.folds[0]
    rows = []
    for label, overrides in LEVERS:
        config = systems.load_config_for(str(REPO / task.best_config), task.labels_config, overrides)
        with measured() as m:
            model = systems.fit_ours(train, task.kind, task.labels, config)
        metrics = score(task, test, model.predict([r.text for r in test]))
        saved = model.save(work / "levers" / f"l{len(rows)}")
        loads = []
        for _ in range(3):
            start = time.perf_counter()
            load_model(str(saved))
            loads.append(time.perf_counter() - start)
        rows.append({"lever": label, "overrides": overrides, "accuracy": metrics["accuracy"], "bytes": model_bytes(saved),
                     "load_s": round(statistics.median(loads), 4), "train_s": round(m["wall_s"], 3)})
        log(f"lever {label}: {rows[-1]}")
        del model
        gc.collect()
    return rows


def startup(runs: int = 5) -> dict[str, float]:
    exe = Path(sys.executable).with_name("artclf")
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "train.cli", "--help"]
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    times = times[1:]  # the first run also warms the page cache
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3), "runs": runs}


def machine() -> dict[str, Any]:
    mem_kb = 0
    cpu = platform.processor() or platform.machine()
    try:
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        cpu = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")).split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import fasttext  # noqa: F401  (version below)
    from importlib.metadata import version

    from train.store.provenance import git_commit, library_versions

    return {"cores": cores, "memory_gib": round(mem_kb / 1024 / 1024, 1), "cpu": cpu, "os": platform.platform(),
            "libraries": {**library_versions(), "fasttext-numpy2": version("fasttext-numpy2")},
            "git": git_commit(REPO)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="subsample: a < 2 minute smoke run")
    parser.add_argument("--out", default=None, help="markdown report (default BENCHMARKS.md, or none with --quick)")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--datasets", default=",".join(LOADERS), help=f"comma-separated subset of {','.join(LOADERS)}")
    parser.add_argument("--systems", default=None, help="comma-separated subset of the systems (default: all; --quick: all but 'ours default')")
    parser.add_argument("--render", default=None, help="only re-render the report from a --json file of an earlier run")
    args = parser.parse_args(argv)
    if args.render:
        from bench.report import render

        saved = json.loads(Path(args.render).read_text(encoding="utf-8"))
        write_report(render(saved), args.out or (None if saved["quick"] else str(REPO / "BENCHMARKS.md")))
        return 0
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    # liblinear's iteration cap on a few rare Reuters labels; the figures already show the result.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    default_systems = [s for s in SYSTEMS if not (args.quick and s == "ours default")]
    names = [s.strip() for s in args.systems.split(",")] if args.systems else default_systems
    started = time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    report: dict[str, Any] = {"command": command.strip(), "quick": args.quick,
                              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="artclf-bench-") as tmp:
        work = Path(tmp)
        tasks, skipped = load_tasks([d.strip() for d in args.datasets.split(",")], work, args.quick, log)
        report["skipped"] = skipped
        report["tasks"] = {}
        for task in tasks:
            is_20ng = task.name == "20 Newsgroups"
            keep = {"vanilla", "fastText", "ours default", "ours best"} if is_20ng else set()
            results, kept = run_task(task, names, keep)
            entry: dict[str, Any] = {"kind": task.kind, "protocol": task.protocol, "labels": len(task.labels),
                                     "best_config": task.best_config, "targets": task.targets,
                                     "published": task.published, "results": results}
            if is_20ng:
                entry["serving"] = serving(task, kept, work, 300 if args.quick else 2000)
                if "ours best" in kept:
                    entry["latency_profile"] = latency_profile(kept["ours best"], [r.text for r in task.folds[0][1][:300]])
                kept.clear()
                gc.collect()
                entry["levers"] = size_levers(task, work) if not args.quick else size_levers_quick(task, work)
            report["tasks"][task.name] = entry
    report["startup"] = startup()
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    # Others' jobs on a shared machine slow every system alike; the ratios are what to compare.
    report["load_average"] = {"start": load_at_start, "end": [round(x, 2) for x in os.getloadavg()]}
    from bench.report import render

    out = args.out or (None if args.quick else str(REPO / "BENCHMARKS.md"))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_report(render(report), out)
    return 0


def write_report(text: str, out: str | None) -> None:
    if not out:
        print(text)
        return
    target = Path(out)
    # Sections other benchmarks own (bench.portable_runtime's "Runtime for apps", bench.serve_http's
    # "Serving over HTTP") are kept as they were.
    from bench import portable_runtime, serve_http

    old = target.read_text(encoding="utf-8") if target.exists() else ""
    for START, END in ((portable_runtime.START, portable_runtime.END), (serve_http.START, serve_http.END)):
        if START in old and END in old and START not in text:
            text = text.rstrip("\n") + "\n\n" + old[old.index(START):old.index(END) + len(END)] + "\n"
    tmp_out = target.with_name(f".{target.name}.tmp")
    tmp_out.write_text(text, encoding="utf-8")
    os.replace(tmp_out, target)  # never a half-written report
    log(f"wrote {target}")


def size_levers_quick(task: Task, work: Path) -> list[dict[str, Any]]:
    global LEVERS
    saved, LEVERS = LEVERS, [lever for lever in LEVERS if lever[0] in QUICK_LEVERS]
    try:
        return size_levers(task, work)
    finally:
        LEVERS = saved


if __name__ == "__main__":
    sys.exit(main())
