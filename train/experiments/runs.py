"""Cached fold results (``runs/cache/``) and recorded comparisons (``runs/rN.json``)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Sequence

from artclf.errors import ArtclfError
from train.config import Config
from train.experiments.results import Comparison, ConfigResult

__all__ = ["CACHE_VERSION", "RUN_FORMAT", "cache_key", "list_runs", "load_runs", "read_cache", "record_run", "write_cache"]

# Bump when what a cached fold result holds (or how it is computed) changes.
CACHE_VERSION = 3  # bumped: folds now also record ECE and Brier (issue 18)
RUN_FORMAT = 1


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
