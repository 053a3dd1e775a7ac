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

import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence


from artclf.errors import ArtclfError
from train.config import Config, load_config
from train.experiments.folds import check_enough_data, make_folds
from train.experiments.results import Comparison, ConfigResult, Fold
from train.experiments.runs import cache_key, read_cache, record_run, write_cache

# Sections that describe the model; every other section describes the dataset, and configs that
# differ there are not comparable.
MODEL_SECTIONS = ("augment", "features", "topic", "tone", "calibration", "train", "card")


# --- configs -------------------------------------------------------------------------------


def load_experiments(
    paths: Sequence[str | Path],
    overrides: Sequence[str] = (),
    per_config: Sequence[tuple[str, str]] = (),
) -> list[Config]:
    """Load and validate every config before any work; they must share one dataset and differ.

    ``overrides`` (``section.key=value``) apply to every config; ``per_config`` holds (NAME,
    ``section.key=value``) pairs for one config, NAME being its file stem, its path as given, or its
    1-based position (for the same file twice). A run with its own overrides is named after them."""
    if not paths:
        raise ArtclfError("no configs given; pass at least one, e.g. artclf compare configs/default.toml configs/svm.toml")
    names = _unique_names([Path(p) for p in paths])
    own: list[list[str]] = [[] for _ in paths]
    for target, text in per_config:
        hits = [i for i, (p, n) in enumerate(zip(paths, names))
                if target in (str(p), n, Path(p).stem, str(i + 1))]
        if not hits:
            raise ArtclfError(f"--set-for {target}::{text}: no config named {target!r}; "
                              f"use a file stem, a path as given, or a position: {', '.join(names)} or 1..{len(paths)}")
        for i in hits:
            own[i].append(text)
    configs = [load_config(p, [*overrides, *extra]) for p, extra in zip(paths, own)]
    names = [f"{n}[{','.join(extra)}]" if extra else n for n, extra in zip(names, own)]
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


# --- scoring -------------------------------------------------------------------------------


def score_fold(cfg: Config, records: Sequence[Any], fold: Fold) -> dict[str, Any]:
    """Fit on the fold's training part, predict the held-out part; metrics, times and sizes."""
    import io

    import joblib

    from train.fit.fit import fit_models
    from train.evaluate.metrics import calibration_metrics, evaluate_predictions
    from train.model.model import ArticleModel
    from train.store.record import describe_fit

    train = [records[i] for i in fold.train]
    test = [records[i] for i in fold.test]
    texts = [r.text for r in test]
    start = time.perf_counter()
    fitted = fit_models([r.text for r in train], [r.topics for r in train], [r.tone for r in train], cfg)
    fit_s = time.perf_counter() - start
    model = ArticleModel(fitted.topic, fitted.tone, describe_fit(cfg, fitted, provenance=False))
    predictions = model.predict(texts)
    metrics = evaluate_predictions(test, predictions, cfg.labels.topics, cfg.labels.tone, cfg.topic.mode)
    # Calibration is a tested quality too: expected calibration error and Brier score per task.
    calibration = calibration_metrics(test, model.raw_scores(texts), cfg.labels.topics, cfg.labels.tone, cfg.topic.mode)
    for task, block in calibration.items():
        if task in metrics:
            metrics[task]["ece"], metrics[task]["brier"] = block["ece"], block["brier"]
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
    overrides: Sequence[str] = (),
    per_config: Sequence[tuple[str, str]] = (),
) -> Comparison:
    """Score each config on the same K x R folds; cached configs are read back, not refitted.

    ``seed`` seeds the fold assignment (default: the configs' split.seed). The comparison is
    recorded as a run in ``runs_dir`` and its id set on the result.
    """
    from train.data.dataset import build_dataset, load_splits

    if repeats < 1:
        raise ArtclfError(f"--repeats must be at least 1, got {repeats}")
    configs = load_experiments(paths, overrides, per_config)
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
