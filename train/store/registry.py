"""Save and load stage: immutable, self-describing model versions under ``models/``.

A version is a folder ``models/vN/`` holding ``topic.joblib``, ``tone.joblib`` (plain scikit-learn
pipelines), ``topic.skops``, ``tone.skops`` (the same pipelines without pickle), ``MODEL_CARD.md``
and ``manifest.json`` (format version, config, labels, thresholds, metrics, dataset fingerprint,
library versions, git commit, canary predictions, sha256 of each file). It is written into a
hidden temporary folder ``.tmp-PID-*`` and renamed into place, so an interrupted save leaves no
partial version, and two concurrent saves get distinct numbers. ``aliases.json`` names versions.

This module imports scikit-learn and joblib only when loading (never ``datasets`` or the CLI);
importing it costs numpy.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from artclf.errors import ArtclfError
from train.store.fsutil import pid_alive
from train.model.model import ArticleModel

# Version 1: topic.joblib + tone.joblib + manifest.json.
# Version 2: adds topic.skops/tone.skops (listed in "files"), "canaries" and MODEL_CARD.md.
# A version-1 folder still loads (joblib, no canary check); readers for older formats stay here.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
MANIFEST = "manifest.json"
MODEL_CARD = "MODEL_CARD.md"
ALIASES = "aliases.json"
TMP_PREFIX = ".tmp-"
_VERSION_DIR = re.compile(r"^v(\d+)$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_TMP_DIR = re.compile(r"^\.tmp-(\d+)-")
# A save takes seconds; a temporary folder this old belongs to a run that died whatever its pid says.
STALE_TMP_SECONDS = 3600

# Canary articles written for this purpose (never training text). Their scores are stored at save
# time and re-predicted at load time: a library upgrade that silently changes predictions is caught.
CANARY_TEXTS = (
    "The foreign ministers of both countries met in Geneva and signed a treaty on trade and visas.",
    "Crude oil production rose this quarter as the new pipeline and the gas terminal reached capacity.",
    "Troops crossed the disputed border and the government rejected the neighbour's claim to the islands.",
    "The national football team won the cup final after extra time in front of a record crowd.",
    "Talks on the energy deal collapsed amid a bitter dispute over the maritime boundary.",
)
CANARY_TOLERANCE = 1e-3


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import scipy
    import sklearn

    versions = {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }
    try:
        from importlib.metadata import version

        # From metadata: importing skops itself costs ~0.4 s (it walks every sklearn estimator).
        versions["skops"] = version("skops")
    except Exception:  # noqa: BLE001 - skops missing or broken metadata: just don't record it
        pass
    return versions


def git_commit(cwd: Path | None = None) -> dict[str, Any] | None:
    """The current commit and whether the tree had uncommitted changes; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, timeout=5)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=cwd, timeout=5)
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def version_number(name: str) -> int | None:
    match = _VERSION_DIR.match(name)
    return int(match.group(1)) if match else None


def list_versions(models_dir: str | Path) -> list[Path]:
    """Saved versions, oldest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    found = [(version_number(p.name), p) for p in root.iterdir() if p.is_dir()]
    return [p for n, p in sorted((n, p) for n, p in found if n is not None) if (p / MANIFEST).is_file()]


def stale_tmp_dirs(models_dir: str | Path, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Temporary folders left by killed saves: their process is gone, or they are older than
    ``max_age`` seconds. A folder of a save still running is never listed."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    stale = []
    now = time.time()
    for path in root.iterdir():
        match = _TMP_DIR.match(path.name)
        if not match or not path.is_dir():
            continue
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        if not pid_alive(int(match.group(1))) or age > max_age:
            stale.append(path)
    return sorted(stale)


def clean_stale_tmp(models_dir: str | Path, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove stale temporary folders (see stale_tmp_dirs); returns what was removed."""
    removed = []
    for path in stale_tmp_dirs(models_dir, max_age):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def canary_scores(model: ArticleModel) -> dict[str, Any]:
    """The manifest's "canaries": the canary texts with the scores this model gives them."""
    return {"tolerance": CANARY_TOLERANCE, "texts": list(CANARY_TEXTS), "expected": model.raw_scores(CANARY_TEXTS)}


def save_version(models_dir: str | Path, estimators: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Write a new version folder and return its path; never touches existing versions.

    ``estimators`` maps a task (``topic``, ``tone``) to its fitted pipeline; each is saved with
    joblib and, when every type in it is on our trusted list, with skops too.
    """
    import joblib

    from train.store import skops_io

    root = Path(models_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(root)
        tmp = root / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise ArtclfError(f"{root}: cannot create a model version here ({exc.strerror or exc}); "
                          "check that the models folder is writable and has free space") from None
    try:
        files: dict[str, dict[str, Any]] = {}
        skipped: dict[str, list[str]] = {}
        for name, estimator in estimators.items():
            path = tmp / f"{name}.joblib"
            joblib.dump(estimator, path, compress=3)
            files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        for name, estimator in estimators.items():
            path = tmp / f"{name}.skops"
            skops_io.dump(estimator, path)
            foreign = sorted(set(skops_io.file_types(path)) - skops_io.TRUSTED_TYPES)
            if foreign:
                # Our loader would refuse it; keep joblib only and say why in the manifest.
                path.unlink()
                skipped[name] = foreign
                continue
            files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        manifest = {**manifest, "format_version": FORMAT_VERSION, "files": files}
        if skipped:
            manifest["skops_skipped"] = skipped
        return _publish(root, tmp, manifest)
    except OSError as exc:
        hint = "free some disk space" if getattr(exc, "errno", None) == 28 else "check permissions and free space"
        raise ArtclfError(
            f"{root}: saving the model failed ({exc.strerror or exc}); {hint}; existing versions are untouched"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(root: Path, tmp: Path, manifest: dict[str, Any]) -> Path:
    """Rename the finished folder to the next free vN; renaming onto an existing (non-empty) folder
    fails atomically, so a concurrent save that took the number makes us try the next one."""
    taken = [version_number(p.name) or 0 for p in root.iterdir()] if root.is_dir() else []
    number = max(taken, default=0) + 1
    for _ in range(1000):
        target = root / f"v{number}"
        manifest["version"] = target.name
        _write_json_synced(tmp / MANIFEST, manifest)
        _write_card(tmp, manifest)
        try:
            os.rename(tmp, target)
        except OSError as exc:
            if target.exists():
                number += 1
                continue
            raise exc
        _fsync_dir(root)
        return target
    raise ArtclfError(f"{root}: could not find a free version number")


def _write_card(folder: Path, manifest: dict[str, Any]) -> None:
    from train.store.model_card import render

    with (folder / MODEL_CARD).open("w", encoding="utf-8") as handle:
        handle.write(render(manifest))
        handle.flush()
        os.fsync(handle.fileno())


def _write_json_synced(path: Path, payload: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_aliases(models_dir: str | Path) -> dict[str, str]:
    """alias -> version name, from ``aliases.json`` (empty when there is none)."""
    path = Path(models_dir) / ALIASES
    try:
        aliases = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtclfError(f"{path}: unreadable ({_one_line(exc)}); fix or delete it and re-run `artclf models promote`") from None
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise ArtclfError(f"{path}: expected an object of alias -> version name; fix or delete it")
    return aliases


@contextlib.contextmanager
def _aliases_lock(root: Path) -> Iterator[None]:
    """Serialise read-modify-write of aliases.json between concurrent promotes and removes."""
    import fcntl

    with (root / ".aliases.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_aliases(root: Path, aliases: dict[str, str]) -> None:
    tmp = root / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}.aliases.json"
    try:
        _write_json_synced(tmp, dict(sorted(aliases.items())))
        os.replace(tmp, root / ALIASES)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(root)


def promote(ref: str, alias: str, models_dir: str | Path = "models") -> tuple[str, str | None]:
    """Point ``alias`` at the version ``ref`` resolves to; returns (version, previous version or None)."""
    root = Path(models_dir)
    if not _ALIAS.match(alias) or alias == "latest" or version_number(alias) is not None:
        raise ArtclfError(f"alias {alias!r}: use letters, digits, '.', '_' or '-', starting with a letter "
                          "(not 'latest' or a version name like v3)")
    path = resolve_ref(ref, root)
    if path.resolve().parent != root.resolve():
        raise ArtclfError(f"{path}: only versions inside {root} can get an alias; copy the folder there first")
    with _aliases_lock(root):
        aliases = read_aliases(root)
        previous = aliases.get(alias)
        aliases[alias] = path.name
        _write_aliases(root, aliases)
    return path.name, previous


def resolve_ref(ref: str, models_dir: str | Path = "models") -> Path:
    """A version folder for ``latest``, ``vN``, an alias from ``aliases.json``, or a path.

    A path (``../other/v2``, ``/srv/models/v7``) may point anywhere, but only at a real version
    folder, one with a manifest: nothing else is ever opened as a model.
    """
    root = Path(models_dir)
    if ref == "latest":
        versions = list_versions(root)
        if not versions:
            raise ArtclfError(f"{root}: no saved model versions; run `artclf train` first")
        return versions[-1]
    if version_number(ref) is not None:
        path = root / ref
        if not (path / MANIFEST).is_file():
            known = ", ".join(p.name for p in list_versions(root)) or "none"
            raise ArtclfError(f"model '{ref}' not found in {root} (versions: {known}); see `artclf models list`")
        return path
    if _ALIAS.match(ref):
        aliases = read_aliases(root)
        if ref in aliases:
            path = root / aliases[ref]
            if version_number(aliases[ref]) is None or not (path / MANIFEST).is_file():
                raise ArtclfError(f"alias '{ref}' points at {aliases[ref]!r}, which is not a saved version in {root}; "
                                  f"re-point it with `artclf models promote VERSION --alias {ref}`")
            return path
    path = Path(ref)
    if path.is_dir() and (path / MANIFEST).is_file():
        return path
    if path.exists():
        raise ArtclfError(f"{path}: not a model version folder (no {MANIFEST}); refusing to load anything from it; "
                          "pass a folder written by `artclf train`")
    aliases = ", ".join(sorted(read_aliases(root))) or "none"
    raise ArtclfError(f"model '{ref}' not found: not 'latest', a version like v3, an alias (aliases: {aliases}) "
                      "or a model folder; see `artclf models list`")


def remove_version(ref: str, models_dir: str | Path = "models") -> Path:
    """Delete a version inside ``models_dir``; refuses one an alias points at."""
    root = Path(models_dir)
    path = resolve_ref(ref, root)
    if path.resolve().parent != root.resolve() or version_number(path.name) is None:
        raise ArtclfError(f"{path}: not a version inside {root}; remove only versions of this models folder")
    with _aliases_lock(root):
        pointing = sorted(a for a, v in read_aliases(root).items() if v == path.name)
        if pointing:
            raise ArtclfError(f"{path.name} is aliased as {', '.join(pointing)}; promote another version to "
                              f"{'that alias' if len(pointing) == 1 else 'those aliases'} first")
        # Rename first: the version disappears at once, and a crash mid-delete leaves only a temp folder.
        doomed = root / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-removed-{path.name}"
        try:
            os.rename(path, doomed)
        except OSError as exc:
            raise ArtclfError(f"{path}: cannot remove ({exc.strerror or exc}); check permissions") from None
    shutil.rmtree(doomed, ignore_errors=True)
    _fsync_dir(root)
    return path


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def diff_versions(a: str, b: str, models_dir: str | Path = "models") -> dict[str, Any]:
    """Config keys, headline metrics and provenance that differ between two versions."""
    pa, pb = resolve_ref(a, models_dir), resolve_ref(b, models_dir)
    ma, mb = read_manifest(pa), read_manifest(pb)

    def changed(x: Any, y: Any) -> dict[str, list[Any]]:
        fx, fy = _flatten(x or {}), _flatten(y or {})
        return {k: [fx.get(k), fy.get(k)] for k in sorted(set(fx) | set(fy)) if fx.get(k) != fy.get(k)}

    def headline(m: dict[str, Any]) -> dict[str, Any]:
        # Per-label figures and confusion matrices are in `models show`; the diff keeps summaries.
        return {split: {task: {k: v for k, v in values.items() if not isinstance(v, (dict, list))}
                        for task, values in tasks.items() if isinstance(values, dict)}
                for split, tasks in (m.get("metrics") or {}).items()}

    return {
        "a": ma.get("version", pa.name),
        "b": mb.get("version", pb.name),
        "config": changed(ma.get("config"), mb.get("config")),
        "metrics": changed(headline(ma), headline(mb)),
        "thresholds": changed({k: v.get("decision") for k, v in (ma.get("thresholds") or {}).items()},
                              {k: v.get("decision") for k, v in (mb.get("thresholds") or {}).items()}),
        "dataset": changed({"fingerprint": (ma.get("dataset") or {}).get("fingerprint")},
                           {"fingerprint": (mb.get("dataset") or {}).get("fingerprint")}),
        "library_versions": changed(ma.get("library_versions"), mb.get("library_versions")),
    }


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtclfError(f"{path}: no {MANIFEST}; not a model version") from None
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting too deep for Python's parser, which is no manifest we wrote.
        raise ArtclfError(f"{path / MANIFEST}: unreadable manifest ({_one_line(exc)}); the version is damaged") from None
    if not isinstance(manifest, dict):
        raise ArtclfError(f"{path / MANIFEST}: not a JSON object; the version is damaged")
    fmt = manifest.get("format_version")
    if fmt not in READABLE_FORMATS:
        raise ArtclfError(
            f"{path / MANIFEST}: model format {fmt!r} is not readable by this artclf "
            f"(reads {', '.join(map(str, READABLE_FORMATS))}); upgrade artclf or retrain the model"
        )
    labels = manifest.get("labels")
    if not (isinstance(labels, dict) and all(
        isinstance(labels.get(task), list) and all(isinstance(x, str) for x in labels[task])
        for task in ("topics", "tone")
    )):
        # ArticleModel reads the label names from here; a missing or odd entry would crash it later.
        raise ArtclfError(f"{path / MANIFEST}: 'labels' must be {{\"topics\": [names], \"tone\": [names]}}, "
                          f"got {labels!r:.80}; the version is damaged")
    return manifest


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse any file whose sha256 differs from the manifest, before anything is unpickled."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtclfError(f"{path / MANIFEST}: lists no model files; the version is damaged")
    for name, meta in files.items():
        if not isinstance(name, str) or Path(name).name != name or name in (".", "..") or not isinstance(meta, dict):
            # A file list is names inside this folder; anything else could point the hash check elsewhere.
            raise ArtclfError(f"{path / MANIFEST}: file entry {name!r} is not a plain file name; the version is damaged")
        file_path = path / name
        if not file_path.is_file():
            raise ArtclfError(f"{file_path}: missing; the version is damaged, retrain or restore it")
        actual = sha256_file(file_path)
        if actual != meta.get("sha256"):
            raise ArtclfError(
                f"{file_path}: sha256 mismatch (manifest {meta.get('sha256')}, file {actual}); "
                "the file was changed or truncated: refusing to load it, retrain or restore it"
            )


def check_library_versions(manifest: dict[str, Any], policy: str = "warn") -> list[str]:
    """Differences between recorded and installed library versions; ``strict`` refuses them."""
    recorded = manifest.get("library_versions", {})
    installed = library_versions()
    diffs = [
        f"{lib} {recorded[lib]} (saved) vs {installed[lib]} (installed)"
        for lib in ("scikit-learn", "numpy", "scipy", "joblib")
        if lib in recorded and recorded[lib] != installed[lib]
    ]
    if diffs and policy == "strict":
        raise ArtclfError(f"model {manifest.get('version')}: library versions differ: {'; '.join(diffs)}; "
                          "install the saved versions or load with version_policy='warn'")
    if diffs and policy == "warn":
        warnings.warn(f"model {manifest.get('version')}: library versions differ: {'; '.join(diffs)}", stacklevel=3)
    return diffs


def verify_canaries(model: ArticleModel, manifest: dict[str, Any], tolerance: float | None = None) -> float | None:
    """Re-predict the stored canary texts; refuse the model when any score moved beyond the
    tolerance. Returns the largest difference seen (None for a version without canaries)."""
    canaries = manifest.get("canaries")
    if not canaries:
        return None
    where = f"model {manifest.get('version', model.path)}"
    try:
        tol = float(canaries.get("tolerance", CANARY_TOLERANCE) if tolerance is None else tolerance)
        texts, expected = canaries.get("texts", []), canaries.get("expected", [])
        ok = (isinstance(texts, list) and all(isinstance(t, str) for t in texts) and isinstance(expected, list)
              and all(isinstance(e, dict) and all(isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values())
                                                  for v in e.values()) for e in expected))
    except (AttributeError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ArtclfError(f"{where}: {MANIFEST} canaries are damaged (expected texts and scores per label); "
                          "restore the version or retrain")
    if len(texts) != len(expected):
        raise ArtclfError(f"{where}: {MANIFEST} canaries are damaged ({len(texts)} texts, {len(expected)} expected scores)")
    worst = 0.0
    for i, (text, want, got) in enumerate(zip(texts, expected, model.raw_scores(texts)), start=1):
        for task in sorted(set(want) | set(got)):
            w, g = want.get(task, {}), got.get(task, {})
            if set(w) != set(g):
                raise ArtclfError(f"{where}: canary {i} {task} labels differ (saved {sorted(w)}, now {sorted(g)}); "
                                  "the files do not match the manifest; retrain or restore the version")
            for label in w:
                diff = abs(float(w[label]) - g[label])
                worst = max(worst, diff)
                if diff > tol:
                    libs = manifest.get("library_versions", {})
                    raise ArtclfError(
                        f"{where}: canary {i} ({text[:40]!r}...) {task}.{label} is {g[label]:.6f}, saved {float(w[label]):.6f} "
                        f"(tolerance {tol}); predictions changed since saving (saved with scikit-learn "
                        f"{libs.get('scikit-learn', '?')}, numpy {libs.get('numpy', '?')}, scipy {libs.get('scipy', '?')}): "
                        "install those versions or retrain; refusing to load it"
                    )
    return worst


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a model is rebuilt.

    skops creates one object per vocabulary entry; the collections those allocations trigger made
    one load of the default model take 0.16 s instead of 0.07 s about every other time (measured).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_estimator(path: Path, task: str, files: dict[str, Any], prefer: str) -> Any | None:
    from train.store import skops_io

    order = ("skops", "joblib") if prefer == "skops" else ("joblib", "skops")
    for ext in order:
        name = f"{task}.{ext}"
        if name not in files:
            continue
        if ext == "skops":
            return skops_io.load(path / name)
        import joblib

        return joblib.load(path / name)
    return None


def load_model(
    ref: str = "latest",
    models_dir: str | Path = "models",
    version_policy: str = "warn",
    prefer: str = "skops",
    check_canaries: bool = True,
    canary_tolerance: float | None = None,
) -> ArticleModel:
    """Load a saved version, checking it before and after deserializing.

    Before: the manifest, and every listed file's sha256 (a tampered or truncated file is refused
    before anything is deserialized). Then the pipelines are loaded from skops files (trusted
    types pinned in train.store.skops_io) or, with ``prefer="joblib"`` or for version-1 folders, joblib.
    After: the stored canary texts are re-predicted and compared with their saved scores.

    ``ref`` is ``latest``, a version such as ``v3``, an alias such as ``production``, or a path.
    ``version_policy`` is ``warn`` (default), ``strict`` (refuse other library versions) or ``ignore``.
    """
    if version_policy not in ("warn", "strict", "ignore"):
        raise ArtclfError(f"version_policy must be warn, strict or ignore, got {version_policy!r}")
    if prefer not in ("skops", "joblib"):
        raise ArtclfError(f"prefer must be skops or joblib, got {prefer!r}")
    path = resolve_ref(ref, models_dir)
    manifest = read_manifest(path)
    verify_files(path, manifest)
    check_library_versions(manifest, version_policy)
    files = manifest["files"]
    try:
        with warnings.catch_warnings(), _gc_paused():
            # Our own policy above reports version differences once, exactly.
            warnings.filterwarnings("ignore", module="sklearn.base")
            topic = _load_estimator(path, "topic", files, prefer)
            tone = _load_estimator(path, "tone", files, prefer)
    except ArtclfError:
        raise
    except Exception as exc:  # deserializing can raise anything; the file passed its hash check
        raise ArtclfError(f"{path}: cannot load the model ({type(exc).__name__}: {exc}); "
                          "the saving and installed library versions may be incompatible") from None
    if topic is None and tone is None:
        raise ArtclfError(f"{path}: holds neither topic nor tone model files; the version is damaged")
    model = ArticleModel(topic, tone, manifest, path)
    if check_canaries:
        verify_canaries(model, manifest, canary_tolerance)
    return model


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
