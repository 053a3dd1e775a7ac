"""Compare experiment configs on the same repeated cross-validation folds of the same dataset.

Every config is scored on identical folds of the train+validation records (the test split stays
untouched), so differences between configs come from the configs alone. Results are cached per
(config fingerprint, dataset fingerprint, folds, repeats, fold seed) under ``runs/cache/``, and
every comparison is recorded as a run (``runs/rN.json``) that can be compared again without
retraining. Against the first config, each quality metric gets the corrected resampled t-test of
Nadeau & Bengio (2003), which widens the naive paired t-test's variance for the overlap between
cross-validation training sets.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from train.config import Config, load_config
from artclf.errors import ArtclfError

# Bump when what a cached fold result holds (or how it is computed) changes.
CACHE_VERSION = 2
RUN_FORMAT = 1
ALPHA = 0.05
# Sections that describe the model; every other section describes the dataset, and configs that
# differ there are not comparable.
MODEL_SECTIONS = ("features", "topic", "tone", "train")
# Headline metrics per task and whether higher is better.
HEADLINE: dict[str, dict[str, bool]] = {
    "topic": {"micro_f1": True, "macro_f1": True, "samples_f1": True, "hamming_loss": False, "subset_accuracy": True},
    "tone": {"accuracy": True, "macro_f1": True},
}
# Cost columns: reported with mean ± std, never tested (they measure the machine and its load).
COSTS: dict[str, bool] = {"train_s": False, "articles_per_s": True, "model_bytes": False}


@dataclass
class Fold:
    repeat: int
    fold: int
    train: list[int]
    test: list[int]


@dataclass
class ConfigResult:
    """One config's scores on every fold."""

    name: str
    source: str
    fingerprint: str
    config: dict[str, Any]
    folds: list[dict[str, Any]]
    cached: bool = False


@dataclass
class Comparison:
    configs: list[ConfigResult]
    dataset: dict[str, Any]
    folds: int
    repeats: int
    seed: int
    tasks: dict[str, list[str]]
    run_id: str | None = None
    computed: list[str] = field(default_factory=list)

    @property
    def differing(self) -> dict[str, list[Any]]:
        return differing_keys([c.config for c in self.configs])

    def summary(self) -> dict[str, Any]:
        return summarize(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "configs": [{"name": c.name, "source": c.source, "fingerprint": c.fingerprint, "cached": c.cached} for c in self.configs],
            "differing_keys": self.differing,
            "test": {"name": "corrected resampled t-test (Nadeau & Bengio 2003)", "alpha": ALPHA, "baseline": self.configs[0].name},
            "results": self.summary(),
        }


# --- configs -------------------------------------------------------------------------------


def load_experiments(paths: Sequence[str | Path]) -> list[Config]:
    """Load and validate every config before any work; they must share one dataset and differ."""
    if not paths:
        raise ArtclfError("no configs given; pass at least one, e.g. artclf compare configs/default.toml configs/svm.toml")
    configs = [load_config(p) for p in paths]
    names = _unique_names([Path(p) for p in paths])
    configs = [_renamed(c, n) for c, n in zip(configs, names)]
    base = configs[0].to_dict()
    for path, cfg in zip(paths[1:], configs[1:]):
        other = cfg.to_dict()
        diff = [
            f"{section}.{key}"
            for section in base
            if section not in MODEL_SECTIONS
            for key in base[section]
            if base[section][key] != other[section][key]
        ]
        if diff:
            raise ArtclfError(
                f"{path}: describes a different dataset than {paths[0]} (differs in {', '.join(diff)}); "
                "configs compared together must share every section but "
                + ", ".join(f"[{s}]" for s in MODEL_SECTIONS)
            )
    seen: dict[str, Path] = {}
    for path, cfg in zip(paths, configs):
        fp = cfg.fingerprint()
        if fp in seen:
            raise ArtclfError(
                f"{path} and {seen[fp]} are identical experiments (same resolved settings); drop one of them"
            )
        seen[fp] = Path(path)
    return configs


def _unique_names(paths: Sequence[Path]) -> list[str]:
    """File stems, with the parent folder added where two stems collide."""
    stems = [p.stem for p in paths]
    return [
        f"{p.parent.name}/{p.stem}" if stems.count(p.stem) > 1 and p.parent.name else p.stem
        for p in paths
    ]


def _renamed(cfg: Config, name: str) -> Config:
    import dataclasses

    return dataclasses.replace(cfg, name=name)


def differing_keys(configs: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """``section.key`` -> value per config, for the keys whose values are not all equal."""
    out: dict[str, list[Any]] = {}
    if len(configs) < 2:
        return out
    for section in configs[0]:
        for key in configs[0][section]:
            values = [c.get(section, {}).get(key) for c in configs]
            if any(v != values[0] for v in values[1:]):
                out[f"{section}.{key}"] = values
    return out


# --- folds ---------------------------------------------------------------------------------


def make_folds(records: Sequence[Any], k: int, repeats: int, seed: int, jaccard: float) -> list[Fold]:
    """K stratified folds per repeat (over topics and tone), near-duplicates kept in one fold."""
    from train.data.dedup import duplicate_groups, near_duplicate_pairs
    from train.data.split import iterative_stratification

    groups = duplicate_groups(len(records), near_duplicate_pairs([r.text for r in records], jaccard))
    label_sets = [[f"topic:{t}" for t in r.topics] + [f"tone:{r.tone}"] for r in records]
    out = []
    for repeat in range(repeats):
        parts = np.asarray(iterative_stratification(label_sets, [1.0] * k, seed + repeat, groups))
        for fold in range(k):
            out.append(Fold(repeat, fold, np.flatnonzero(parts != fold).tolist(), np.flatnonzero(parts == fold).tolist()))
    return out


def check_enough_data(records: Sequence[Any], tasks: dict[str, list[str]], k: int, where: str) -> None:
    """Every label needs at least K examples, or some folds would hold none of it."""
    if k < 2:
        raise ArtclfError(f"--folds must be at least 2, got {k}")
    counts: dict[str, int] = {}
    for label in tasks["topic"]:
        counts[f"topic '{label}'"] = sum(label in r.topics for r in records)
    for label in tasks["tone"]:
        counts[f"tone '{label}'"] = sum(r.tone == label for r in records)
    name, have = min(counts.items(), key=lambda kv: kv[1])
    suggest = have
    if len(records) // 2 < have:
        # Each fold must also leave a training part at least as big as its test part.
        name, have, suggest = "articles", len(records), len(records) // 2
    if suggest >= k:
        return
    if suggest >= 2:
        raise ArtclfError(
            f"{where}: too small for {k} folds: {name} has only {have} example(s), so some folds would "
            f"hold none; use --folds {suggest} or fewer, or label more articles"
        )
    raise ArtclfError(
        f"{where}: too small to cross-validate: {name} has only {have} example(s); "
        "label more articles (at least 2 per label)"
    )


# --- scoring -------------------------------------------------------------------------------


def score_fold(cfg: Config, records: Sequence[Any], fold: Fold) -> dict[str, Any]:
    """Fit on the fold's training part, predict the held-out part; metrics, times and sizes."""
    import io

    import joblib

    from train.fit.fit import fit_models
    from train.evaluate.metrics import evaluate_predictions
    from train.model.model import ArticleModel
    from train.store.record import describe_fit

    train = [records[i] for i in fold.train]
    test = [records[i] for i in fold.test]
    texts = [r.text for r in test]
    start = time.perf_counter()
    fitted = fit_models([r.text for r in train], [r.topics for r in train], [r.tone for r in train], cfg)
    fit_s = time.perf_counter() - start
    predictions = ArticleModel(fitted.topic, fitted.tone, describe_fit(cfg, fitted, provenance=False)).predict(texts)
    metrics = evaluate_predictions(test, predictions, cfg.labels.topics, cfg.labels.tone)
    t = fitted.timings
    costs: dict[str, dict[str, float]] = {}
    for task, pipeline, own in (
        ("topic", fitted.topic, t.get("tune_thresholds_s", 0.0) + t.get("fit_topic_s", 0.0)),
        ("tone", fitted.tone, t.get("fit_tone_s", 0.0)),
    ):
        if pipeline is None:
            continue
        # Best of three, as timeit does: the minimum is the least disturbed by other processes.
        predict_s = max(min(_timed(pipeline.predict, texts) for _ in range(3)), 1e-9)
        buffer = io.BytesIO()
        # compress=3 as in saved versions, so sizes match what `artclf train` writes.
        joblib.dump(pipeline, buffer, compress=3)
        costs[task] = {
            "train_s": round(t.get("vectorize_s", 0.0) + own, 4),
            "articles_per_s": round(len(texts) / predict_s, 1),
            "model_bytes": len(buffer.getvalue()),
        }
    return {
        "repeat": fold.repeat,
        "fold": fold.fold,
        "n_train": len(train),
        "n_test": len(test),
        "fit_s": round(fit_s, 4),
        "metrics": metrics,
        "costs": costs,
    }


def _timed(function: Callable[[Any], Any], argument: Any) -> float:
    start = time.perf_counter()
    function(argument)
    return time.perf_counter() - start


def _score_task(cfg: Config, records: Sequence[Any], fold: Fold) -> tuple[str, int, dict[str, Any]]:
    # joblib workers need a module-level callable; the key says where the result belongs.
    return cfg.fingerprint(), fold.repeat * 1_000_000 + fold.fold, score_fold(cfg, records, fold)


def _run_parallel(
    tasks: list[tuple[Config, Fold]],
    records: Sequence[Any],
    n_jobs: int,
    backend: str,
    scheduler: str | None,
    progress: bool,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Score (config, fold) pairs in parallel, yielding results as they finish."""
    import contextlib

    import joblib

    if not tasks:
        return
    stack = contextlib.ExitStack()
    if backend == "dask":
        try:
            from distributed import Client
        except ImportError:
            raise ArtclfError("--backend dask needs dask[distributed]; install it with pip install 'artclf[dask]'") from None
        if not scheduler:
            raise ArtclfError("--backend dask needs --scheduler tcp://HOST:PORT (the Dask scheduler address)")
        try:
            client = stack.enter_context(Client(scheduler, timeout="10s"))
        except (OSError, TimeoutError) as exc:
            raise ArtclfError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address and that it runs") from None
        stack.enter_context(joblib.parallel_backend("dask", client=client))
        n_jobs = -1
    elif backend != "loky":
        raise ArtclfError(f"--backend must be loky or dask, got {backend!r}")
    with stack:
        results = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            joblib.delayed(_score_task)(cfg, records, fold) for cfg, fold in tasks
        )
        bar = _progress(len(tasks), progress)
        try:
            for item in results:
                yield item
                bar(1)
        finally:
            bar(None)


def _progress(total: int, enabled: bool) -> Callable[[int | None], None]:
    """A progress callback: ``bar(n)`` advances, ``bar(None)`` closes; silent when disabled."""
    if not enabled:
        return lambda n: None
    from tqdm import tqdm

    handle = tqdm(total=total, unit="fit", desc="configs x folds", leave=False)

    def step(n: int | None) -> None:
        if n is None:
            handle.close()
        else:
            handle.update(n)

    return step


def compare(
    paths: Sequence[str | Path],
    folds: int = 5,
    repeats: int = 1,
    n_jobs: int = 1,
    seed: int | None = None,
    runs_dir: str | Path = "runs",
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = False,
    use_cache: bool = True,
) -> Comparison:
    """Score each config on the same K x R folds; cached configs are read back, not refitted.

    ``seed`` seeds the fold assignment (default: the configs' split.seed). The comparison is
    recorded as a run in ``runs_dir`` and its id set on the result.
    """
    from train.data.dataset import build_dataset, load_splits

    if repeats < 1:
        raise ArtclfError(f"--repeats must be at least 1, got {repeats}")
    configs = load_experiments(paths)
    base = configs[0]
    tasks = {"topic": list(base.labels.topics), "tone": list(base.labels.tone)}
    if folds < 2:
        raise ArtclfError(f"--folds must be at least 2, got {folds}")
    built = build_dataset(base, force=False)
    splits = load_splits(built.path)
    records = [r for name in ("train", "validation") for r in splits.get(name, [])]
    check_enough_data(records, tasks, folds, f"{base.data.dataset_dir} (train+validation)")
    fold_seed = base.split.seed if seed is None else seed
    fold_list = make_folds(records, folds, repeats, fold_seed, base.split.near_duplicate_jaccard)

    runs = Path(runs_dir)
    results: dict[str, ConfigResult] = {}
    todo: list[tuple[Config, Fold]] = []
    keys = {}
    for path, cfg in zip(paths, configs):
        key = cache_key(cfg, built.fingerprint, folds, repeats, fold_seed)
        keys[cfg.fingerprint()] = key
        cached = read_cache(runs, key) if use_cache else None
        if cached is not None:
            results[cfg.fingerprint()] = ConfigResult(cfg.name, str(path), cfg.fingerprint(), cfg.to_dict(), cached, cached=True)
        else:
            todo += [(cfg, f) for f in fold_list]
    computed: dict[str, dict[int, dict[str, Any]]] = {}
    by_fp = {cfg.fingerprint(): (path, cfg) for path, cfg in zip(paths, configs)}
    for fp, order, result in _run_parallel(todo, records, n_jobs, backend, scheduler, progress):
        done = computed.setdefault(fp, {})
        done[order] = result
        if len(done) == len(fold_list):
            # Cached as soon as a config's folds are all in, so an interrupted run keeps them.
            path, cfg = by_fp[fp]
            fold_results = [done[k] for k in sorted(done)]
            write_cache(runs, keys[fp], cfg, fold_results)
            results[fp] = ConfigResult(cfg.name, str(path), fp, cfg.to_dict(), fold_results)
    comparison = Comparison(
        configs=[results[c.fingerprint()] for c in configs],
        dataset={"fingerprint": built.fingerprint, "path": str(built.path), "n_articles": len(records)},
        folds=folds,
        repeats=repeats,
        seed=fold_seed,
        tasks=tasks,
        computed=[c.name for c in configs if c.fingerprint() in computed],
    )
    comparison.run_id = record_run(runs, comparison)
    return comparison


# --- cache and runs ------------------------------------------------------------------------


def cache_key(cfg: Config, dataset_fingerprint: str, folds: int, repeats: int, seed: int) -> str:
    import sklearn

    blob = json.dumps(
        [CACHE_VERSION, cfg.fingerprint(), dataset_fingerprint, folds, repeats, seed, sklearn.__version__]
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def read_cache(runs_dir: Path, key: str) -> list[dict[str, Any]] | None:
    path = runs_dir / "cache" / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["folds"])
    except (OSError, ValueError, KeyError, TypeError):
        # A missing or damaged cache entry only costs a refit.
        return None


def write_cache(runs_dir: Path, key: str, cfg: Config, fold_results: list[dict[str, Any]]) -> None:
    payload = {"cache_version": CACHE_VERSION, "config_name": cfg.name, "config": cfg.to_dict(), "folds": fold_results}
    _write_json_atomic(runs_dir / "cache" / f"{key}.json", payload)


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    from train.fsutil import write_json_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, payload, indent=None)
    except OSError as exc:
        raise ArtclfError(f"{path}: cannot write ({exc.strerror or exc}); check permissions and free space") from None


def record_run(runs_dir: Path, comparison: Comparison) -> str:
    """Save the comparison as run ``rN`` (the next free number) and return its id."""
    from train.store.provenance import now_utc

    payload = {
        "run_format": RUN_FORMAT,
        "created": now_utc(),
        "dataset": comparison.dataset,
        "folds": comparison.folds,
        "repeats": comparison.repeats,
        "seed": comparison.seed,
        "tasks": comparison.tasks,
        "configs": [
            {"name": c.name, "source": c.source, "fingerprint": c.fingerprint, "config": c.config, "folds": c.folds}
            for c in comparison.configs
        ],
    }
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        tmp = runs_dir / f".run.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        tmp.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
        try:
            while True:
                number = 1 + max((_run_number(p.stem) or 0 for p in runs_dir.glob("r*.json")), default=0)
                try:
                    # link() fails if the name exists, so two concurrent runs never share a number.
                    os.link(tmp, runs_dir / f"r{number}.json")
                    return f"r{number}"
                except FileExistsError:
                    continue
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise ArtclfError(f"{runs_dir}: cannot record the run ({exc.strerror or exc}); check permissions") from None


def _run_number(stem: str) -> int | None:
    return int(stem[1:]) if stem.startswith("r") and stem[1:].isdigit() else None


def list_runs(runs_dir: str | Path = "runs") -> list[dict[str, Any]]:
    """One summary per recorded run, oldest first."""
    root = Path(runs_dir)
    paths = sorted((p for p in root.glob("r*.json") if _run_number(p.stem) is not None), key=lambda p: _run_number(p.stem))
    out = []
    for path in paths:
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
            out.append(
                {
                    "id": path.stem,
                    "created": run.get("created"),
                    "configs": [c["name"] for c in run["configs"]],
                    "dataset": run["dataset"]["fingerprint"][:12],
                    "n_articles": run["dataset"].get("n_articles"),
                    "folds": run["folds"],
                    "repeats": run["repeats"],
                }
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            out.append({"id": path.stem, "error": f"unreadable ({exc})"})
    return out


def load_runs(ids: Sequence[str], runs_dir: str | Path = "runs") -> Comparison:
    """Rebuild a comparison from recorded runs (no training); they must share dataset and folds."""
    root = Path(runs_dir)
    if not ids:
        raise ArtclfError("--runs needs at least one run id; see `artclf runs list`")
    configs: list[ConfigResult] = []
    first: dict[str, Any] | None = None
    first_id = ""
    for run_id in ids:
        path = root / f"{run_id}.json"
        if _run_number(run_id) is None or not path.is_file():
            known = ", ".join(r["id"] for r in list_runs(root)) or "none"
            raise ArtclfError(f"run '{run_id}' not found in {root} (runs: {known}); see `artclf runs list`")
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
            run_configs = run["configs"]
        except (OSError, ValueError, KeyError) as exc:
            raise ArtclfError(f"{path}: unreadable run record ({exc}); delete it and compare again") from None
        if first is None:
            first, first_id = run, run_id
        else:
            for key, label in (("dataset", "dataset"), ("folds", "--folds"), ("repeats", "--repeats"), ("seed", "fold seed")):
                a, b = first[key], run[key]
                if key == "dataset":
                    a, b = a["fingerprint"], b["fingerprint"]
                if a != b:
                    raise ArtclfError(
                        f"runs {first_id} and {run_id} used a different {label}, so their folds differ; "
                        "compare runs made on the same data with the same --folds, --repeats and seed"
                    )
        for c in run_configs:
            if all(c["fingerprint"] != have.fingerprint for have in configs):
                name = c["name"]
                if any(have.name == name for have in configs):
                    # Same file name, different settings (edited between runs): keep both apart.
                    name = f"{name}@{run_id}"
                configs.append(ConfigResult(name, c["source"], c["fingerprint"], c["config"], c["folds"], cached=True))
    assert first is not None
    return Comparison(
        configs=configs,
        dataset=first["dataset"],
        folds=first["folds"],
        repeats=first["repeats"],
        seed=first["seed"],
        tasks=first["tasks"],
        run_id=",".join(ids),
    )


# --- statistics ----------------------------------------------------------------------------


def corrected_t_test(a: Sequence[float], b: Sequence[float], test_fraction: float) -> tuple[float, float]:
    """Mean difference b - a over paired folds and its two-sided p-value.

    Nadeau & Bengio's correction: Var(mean d) ~ (1/J + n_test/n_train) * var(d), J = folds x
    repeats, because cross-validation training sets overlap and the naive 1/J understates it.
    """
    from scipy import stats

    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    j = len(d)
    mean = float(d.mean())
    if j < 2:
        return mean, float("nan")
    var = float(d.var(ddof=1))
    if var == 0.0:
        # Identical on every fold: no evidence of a difference; a constant shift is as sure as it gets.
        return mean, 1.0 if mean == 0.0 else 0.0
    t = mean / math.sqrt((1.0 / j + test_fraction) * var)
    return mean, float(2 * stats.t.sf(abs(t), df=j - 1))


def _series(result: ConfigResult, task: str, metric: str) -> list[float]:
    values = []
    for fold in result.folds:
        if metric in COSTS:
            values.append(float(fold["costs"][task][metric]))
        elif metric.startswith("f1:"):
            values.append(float(fold["metrics"][task]["per_label"][metric[3:]]["f1"]))
        else:
            values.append(float(fold["metrics"][task][metric]))
    return values


def task_columns(task: str, labels: Sequence[str]) -> dict[str, bool]:
    """Tested quality columns (headline metrics, then per-label F1) -> higher is better."""
    return {**HEADLINE[task], **{f"f1:{label}": True for label in labels}}


def summarize(comparison: Comparison) -> dict[str, Any]:
    """Per task and config: mean/std per column, best marks, and tests against the first config."""
    out: dict[str, Any] = {}
    base = comparison.configs[0]
    n_train = np.mean([f["n_train"] for f in base.folds])
    n_test = np.mean([f["n_test"] for f in base.folds])
    test_fraction = float(n_test / n_train)
    for task, labels in comparison.tasks.items():
        if not labels:
            continue
        quality = task_columns(task, labels)
        columns = {**quality, **COSTS}
        rows: dict[str, Any] = {}
        for result in comparison.configs:
            row: dict[str, Any] = {}
            for column in columns:
                values = _series(result, task, column)
                row[column] = {
                    "mean": round(float(np.mean(values)), 4),
                    "std": round(float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, 4),
                    "folds": values,
                }
            rows[result.name] = row
        for column, higher in columns.items():
            means = {r.name: rows[r.name][column]["mean"] for r in comparison.configs}
            best = max(means.values()) if higher else min(means.values())
            for name, mean in means.items():
                # Ties as shown count: 3 decimals for scores, within 1% for times and sizes.
                tie = abs(mean - best) <= (0.01 * abs(best) if column in COSTS else 0.0005)
                rows[name][column]["best"] = len(means) > 1 and tie
        for result in comparison.configs[1:]:
            for column, higher in quality.items():
                delta, p = corrected_t_test(_series(base, task, column), _series(result, task, column), test_fraction)
                significant = bool(p < ALPHA)
                verdict = "same"
                if significant:
                    verdict = "better" if (delta > 0) == higher else "worse"
                rows[result.name][column]["vs_baseline"] = {
                    "delta": round(delta, 4),
                    "p": None if math.isnan(p) else round(p, 4),
                    "significant": significant,
                    "verdict": verdict,
                }
        out[task] = rows
    return out
