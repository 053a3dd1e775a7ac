"""The runtime for apps (issue 13), measured beside the scikit-learn path and fastText, and written
as the "Runtime for apps" section of BENCHMARKS.md (not a test; every figure from this run):

    nice -n 5 .venv/bin/python -m bench.portable_runtime [--models-dir models] [--quick] [--out BENCHMARKS.md]

- cold start: a fresh process imports, loads the default model (``latest`` in --models-dir,
  `make train`) and predicts one text; median of 5, the runtime vs ``train.store.load`` (skops);
- ``artclf predict "text"`` wall time on the default model, and where the CLI's import time goes;
- 20 Newsgroups: the bench best config and fastText trained on the bydate train split, each loaded
  in a fresh process pinned to core 0 (``taskset -c 0``): single-article p50/p99 and batch throughput;
- peak memory of a process that loaded the default model, above a bare interpreter;
- the runtime's wheel installed alone into a clean venv: what it installs and how large it is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- runtime-for-apps:start -->", "<!-- runtime-for-apps:end -->"
TEXT = "Russia and Japan discussed a peace treaty and joint hydrogen projects."

COLD = {
    "runtime (artclf.load_model)": "from artclf import load_model",
    "scikit-learn/skops (train.store.load)": "from train.store.load import load_model",
}
COLD_SCRIPT = """
import time; t0 = time.perf_counter()
{import_line}
model = load_model({path!r})
model.classify([{text!r}])
print(time.perf_counter() - t0)
"""
MEMORY_SCRIPT = """
import resource, sys
if sys.argv[1] == "load":
    from artclf import load_model
    load_model(sys.argv[2]).classify([{text!r}])
elif sys.argv[1] == "numpy":
    import numpy
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _wall(cmd: list[str], runs: int, **kwargs: Any) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=True, **kwargs)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, **kwargs)
        times.append(time.perf_counter() - start)
    return times


def cold_start(path: Path, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {"bare_interpreter_s": round(statistics.median(_wall([sys.executable, "-c", "pass"], runs)), 3)}
    for name, line in COLD.items():
        times = _wall([sys.executable, "-c", COLD_SCRIPT.format(import_line=line, path=str(path), text=TEXT)], runs)
        out[name] = {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}
    names = list(COLD)
    out["ratio"] = round(out[names[0]]["median_s"] / out[names[1]]["median_s"], 3)
    return out


def cli(path: Path, runs: int) -> dict[str, Any]:
    exe = Path(sys.executable).with_name("artclf")
    times = _wall([str(exe), "predict", str(path), TEXT], runs, cwd=REPO)
    # Where the import time goes: -X importtime of the CLI's entry point, top cumulative packages.
    done = subprocess.run([sys.executable, "-X", "importtime", str(exe), "predict", str(path), TEXT], capture_output=True, text=True, cwd=REPO)
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 2:  # top-level imports only
            rows.append((int(m.group(2)) / 1e6, m.group(4)))
    rows.sort(reverse=True)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
            "imports": [{"module": name, "cumulative_s": round(s, 3)} for s, name in rows[:6]],
            "import_total_s": round(sum(s for s, _ in rows), 3)}


def memory(path: Path) -> dict[str, Any]:
    def peak(*args: str) -> float:
        done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT.format(text=TEXT), *args], capture_output=True, text=True, check=True)
        return float(done.stdout.strip())

    bare, numpy_only, loaded = peak("bare"), peak("numpy"), peak("load", str(path))
    return {"bare_mb": round(bare, 1), "numpy_mb": round(numpy_only, 1), "loaded_mb": round(loaded, 1),
            "above_interpreter_mb": round(loaded - bare, 1), "above_numpy_mb": round(loaded - numpy_only, 1)}


def clean_install(work: Path) -> dict[str, Any]:
    source = work / "runtime_src"
    shutil.copytree(REPO / "artclf", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), str(source)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("artclf-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], check=True, capture_output=True)
    listed = json.loads(subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                                       capture_output=True, text=True, check=True).stdout)
    site = next((venv / "lib").glob("python*/site-packages"))

    def size(*globs: str) -> float:
        return sum(p.stat().st_size for g in globs for p in site.glob(g) if p.is_file()) / 1e6

    return {"wheel_kb": round(wheel.stat().st_size / 1024, 1),
            "packages": sorted(f"{p['name']} {p['version']}" for p in listed),
            "artclf_mb": round(size("artclf/**/*", "artclf-*.dist-info/*"), 2),
            "numpy_mb": round(size("numpy/**/*", "numpy.libs/*", "numpy-*.dist-info/*"), 1)}


PROBE = r"""
import json, os, statistics, sys, time
texts = json.load(open(sys.argv[3], encoding="utf-8"))
if sys.argv[1] == "runtime":
    from artclf import load_model
    predict = load_model(sys.argv[2]).predict
else:
    import fasttext
    from bench.systems import fasttext_line
    model = fasttext.load_model(sys.argv[2])
    predict = lambda batch: model.predict([fasttext_line(t) for t in batch], k=1)
for t in texts[:20]:
    predict([t])
lat = []
for t in texts[:int(sys.argv[4])]:
    s = time.perf_counter_ns(); predict([t]); lat.append((time.perf_counter_ns() - s) / 1e6)
lat.sort()
s = time.perf_counter()
for i in range(0, len(texts), 1000):
    predict(texts[i:i + 1000])
print(json.dumps({"p50_ms": round(lat[len(lat) // 2], 4), "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 4),
                  "articles_per_s": round(len(texts) / (time.perf_counter() - s)), "latency_n": len(lat), "batch_n": len(texts)}))
"""


def newsgroups(work: Path, quick: bool) -> dict[str, Any]:
    """Best 20 Newsgroups config (saved as a version with portable files, as `train` saves) and
    fastText, each probed in a fresh process pinned to core 0."""
    from artclf.canaries import CANARY_TEXTS, canary_scores
    from bench.systems import fit_fasttext, load_config_for, one_thread_env
    from bench.tasks import load_tasks
    from train.fit.fit import fit_models
    from train.model.model import ArticleModel
    from train.store.portable import portable_version_files
    from train.store.record import describe_fit
    from train.store.versions import save_version

    tasks, skipped = load_tasks(["20newsgroups"], work, quick, log)
    if not tasks:
        return {"skipped": "; ".join(skipped)}
    task = tasks[0]
    train, test = task.folds[0]
    # The config as it is: float32 weights, 30% of them kept (sparse). The runtime sums float32
    # products in float32 as scikit-learn does, so this version passes the parity gate.
    config = load_config_for(str(REPO / task.best_config), task.labels_config, [])
    log("20 Newsgroups: fitting the best config")
    fitted = fit_models([r.text for r in train], [r.topics for r in train], [r.tone for r in train], config)
    manifest = describe_fit(config, fitted)
    manifest["canaries"] = canary_scores(ArticleModel(fitted.topic, fitted.tone, manifest))
    texts = [r.text for r in test]
    files, manifest["portable"] = portable_version_files(fitted.topic, fitted.tone, [], list(task.labels), list(CANARY_TEXTS) + texts,
                                                        calibration=fitted.calibration)
    version = save_version(work / "ng_models", {"tone": fitted.tone}, manifest, files)
    log(f"20 Newsgroups: parity {manifest['portable'].get('parity') or manifest['portable'].get('reason')}; fitting fastText")
    fast = fit_fasttext(train, task.kind, task.labels).save(work / "fasttext")
    texts_file = work / "ng_test.json"
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    out: dict[str, Any] = {"n_test": len(texts), "parity": manifest["portable"].get("parity"), "pinned": bool(pin),
                           "portable_bytes": sum(len(d) for d in files.values())}
    latency_n = 500 if quick else 2000
    for name, path in (("runtime", version), ("fastText", fast)):
        done = subprocess.run([*pin, sys.executable, "-c", PROBE, name, str(path), str(texts_file), str(latency_n)],
                              capture_output=True, text=True, cwd=REPO, env=one_thread_env(), timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"probe {name}: {done.stderr[-2000:]}")
        out[name] = json.loads(done.stdout)
        log(f"20 Newsgroups {name}: {out[name]}")
    r, f = out["runtime"], out["fastText"]
    out["p50_ratio"] = round(r["p50_ms"] / f["p50_ms"], 2)
    out["throughput_ratio"] = round(r["articles_per_s"] / f["articles_per_s"], 2)
    return out


def render(report: dict[str, Any]) -> str:
    c, cl, n, m, i = report["cold"], report["cli"], report["newsgroups"], report["memory"], report["install"]
    runtime, sk = (c[k] for k in COLD)
    lines = [
        START,
        "## Runtime for apps",
        "",
        f"Generated by `make bench-runtime` (`python -m bench.portable_runtime`), {report['date']}, commit "
        f"{report['commit']}, load average {report['load']} at start (2 cores shared: compare the ratios). "
        f"The default model is `{report['model']}` (`make train`).",
        "",
        "| measure | figure | target | met |",
        "|---|---|---|---|",
        f"| cold start, runtime (fresh process: import, load the default model, predict one text; median of {report['runs']}) "
        f"| {runtime['median_s']:.3f} s (bare interpreter {c['bare_interpreter_s']:.3f} s) | <= 0.25 s | {_met(runtime['median_s'] <= 0.25)} |",
        f"| cold start, scikit-learn/skops path (same) | {sk['median_s']:.3f} s | | |",
        f"| cold start ratio runtime / scikit-learn | {c['ratio']:.3f}x | <= 0.15x | {_met(c['ratio'] <= 0.15)} |",
        f"| `artclf predict \"text\"` wall time (median of {report['runs']}) | {cl['median_s']:.3f} s | <= 0.5 s | {_met(cl['median_s'] <= 0.5)} |",
    ]
    if "skipped" not in n:
        r, f = n["runtime"], n["fastText"]
        lines += [
            f"| 20 Newsgroups single-article p50, runtime vs fastText (core 0) | {r['p50_ms']:.4f} ms vs {f['p50_ms']:.4f} ms ({n['p50_ratio']:.2f}x) "
            f"| <= fastText | {_met(r['p50_ms'] <= f['p50_ms'])} |",
            f"| 20 Newsgroups single-article p99, runtime (fastText) | {r['p99_ms']:.4f} ms ({f['p99_ms']:.4f} ms) | <= 1 ms | {_met(r['p99_ms'] <= 1.0)} |",
            f"| 20 Newsgroups batch throughput, runtime vs fastText (batches of 1,000, core 0) | {r['articles_per_s']:,} vs {f['articles_per_s']:,} articles/s "
            f"({n['throughput_ratio']:.2f}x) | >= 2x | {_met(n['throughput_ratio'] >= 2)} |",
        ]
    else:
        lines.append(f"| 20 Newsgroups | skipped: {n['skipped']} | | |")
    lines += [
        f"| peak memory of a process that loaded the default model, above a bare interpreter | {m['above_interpreter_mb']:.1f} MB "
        f"(peak {m['loaded_mb']:.1f} MB; bare {m['bare_mb']:.1f} MB; numpy alone {m['numpy_mb']:.1f} MB) | <= 50 MB | {_met(m['above_interpreter_mb'] <= 50)} |",
        f"| clean venv, runtime wheel installed alone | {', '.join(i['packages'])} | numpy, mmh3 (+ pip/setuptools) only | "
        f"{_met({p.split()[0].lower() for p in i['packages']} <= {'artclf', 'numpy', 'mmh3', 'pip', 'setuptools'})} |",
        f"| install size | artclf {i['artclf_mb']:.2f} MB (wheel {i['wheel_kb']:.0f} KB), numpy {i['numpy_mb']:.1f} MB | | |",
        "",
    ]
    if "skipped" not in n:
        lines += [
            f"20 Newsgroups: the `configs/bench/20newsgroups.toml` model as configured (hashed unigrams, 2**20 columns; float32 "
            f"weights, the largest 30% kept, stored sparse) saved as `train` saves a version (portable files after "
            f"the parity gate on the {n['n_test']:,} test articles: {n['parity']}; {n['portable_bytes'] / 1e6:.1f} MB of portable files), "
            f"loaded with `artclf.load_model` and called through `Model.predict`; fastText "
            f"(settings as in the serving table above) through its Python `predict` with the same tokenization. Latency: "
            f"{n['runtime']['latency_n']:,} articles one per call after 20 warm-up calls; each system in its own fresh process, "
            f"{'pinned with `taskset -c 0`' if n['pinned'] else 'not pinned (no taskset)'}, one BLAS thread.",
            "",
        ]
    lines += [
        f"Where `artclf predict \"text\"`'s import time goes (`python -X importtime`, its top-level imports, "
        f"{cl['import_total_s']:.3f} s in all): " + ", ".join(f"`{x['module']}` {x['cumulative_s']:.3f} s" for x in cl["imports"]) + ".",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def write_section(section: str, out: Path, start: str = START, end: str = END) -> None:
    """Replace (or append) the section of ``out`` between ``start`` and ``end``; the rest of the file
    is left as it is (bench.serve_http writes its own section through this too)."""
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    if start in text and end in text:
        text = text[:text.index(start)] + section.rstrip("\n") + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)


def main() -> int:
    from artclf.refs import resolve_ref

    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="latest")
    parser.add_argument("--models-dir", default=str(REPO / "models"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="subsampled 20 Newsgroups; prints, writes nothing")
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    path = resolve_ref(args.model, args.models_dir)
    report: dict[str, Any] = {"model": path.name, "runs": args.runs, "commit": subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip() or "?",
                              "date": time.strftime("%Y-%m-%d"), "load": [round(x, 2) for x in os.getloadavg()]}
    log("cold start")
    report["cold"] = cold_start(path, args.runs)
    log(f"cold start {report['cold']}; CLI")
    report["cli"] = cli(path, args.runs)
    log(f"CLI {report['cli']}; memory")
    report["memory"] = memory(path)
    with tempfile.TemporaryDirectory() as tmp:
        log("clean venv install")
        report["install"] = clean_install(Path(tmp))
        report["newsgroups"] = newsgroups(Path(tmp), args.quick)
    section = render(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if args.quick:
        print(section)
    else:
        write_section(section, Path(args.out))
        log(f"wrote the section to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
