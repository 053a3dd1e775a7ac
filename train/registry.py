"""Save and load stage: immutable, self-describing model versions under ``models/``.

A version is a folder ``models/vN/`` holding ``topic.joblib``, ``tone.joblib`` (plain scikit-learn
pipelines) and ``manifest.json`` (format version, config, labels, thresholds, metrics, dataset
fingerprint, library versions, git commit, sha256 of each file). It is written into a hidden
temporary folder and renamed into place, so an interrupted save leaves no partial version, and two
concurrent saves get distinct numbers.

This module imports scikit-learn and joblib only (never ``datasets`` or the CLI).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from train.errors import ArtclfError
from train.model import ArticleModel

# Version 1: topic.joblib + tone.joblib + manifest.json. Readers for older formats stay here.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_VERSION_DIR = re.compile(r"^v(\d+)$")


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


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


def save_version(models_dir: str | Path, estimators: dict[str, Any], manifest: dict[str, Any]) -> Path:
    """Write a new version folder and return its path; never touches existing versions."""
    import joblib

    root = Path(models_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise ArtclfError(f"{root}: cannot create a model version here ({exc.strerror}); check permissions and free space") from None
    try:
        files = {}
        for name, estimator in estimators.items():
            path = tmp / f"{name}.joblib"
            joblib.dump(estimator, path, compress=3)
            files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        manifest = {**manifest, "format_version": FORMAT_VERSION, "files": files}
        return _publish(root, tmp, manifest)
    except OSError as exc:
        raise ArtclfError(
            f"{root}: saving the model failed ({exc.strerror or exc}); existing versions are untouched"
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


def resolve_ref(ref: str, models_dir: str | Path = "models") -> Path:
    """A version folder for ``latest``, ``vN`` or a path to a version folder."""
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
    path = Path(ref)
    if path.is_dir() and (path / MANIFEST).is_file():
        return path
    if path.exists():
        raise ArtclfError(f"{path}: not a model version folder (no {MANIFEST}); pass a folder written by `artclf train`")
    raise ArtclfError(f"model '{ref}' not found: not 'latest', a version like v3, or a model folder; see `artclf models list`")


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtclfError(f"{path}: no {MANIFEST}; not a model version") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ArtclfError(f"{path / MANIFEST}: unreadable manifest ({exc}); the version is damaged") from None
    if not isinstance(manifest, dict):
        raise ArtclfError(f"{path / MANIFEST}: not a JSON object; the version is damaged")
    fmt = manifest.get("format_version")
    if fmt != FORMAT_VERSION:
        raise ArtclfError(
            f"{path / MANIFEST}: model format {fmt!r} is not readable by this artclf (reads {FORMAT_VERSION}); "
            "upgrade artclf or retrain the model"
        )
    return manifest


def verify_files(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse any file whose sha256 differs from the manifest, before anything is unpickled."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtclfError(f"{path / MANIFEST}: lists no model files; the version is damaged")
    for name, meta in files.items():
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


def load_model(ref: str = "latest", models_dir: str | Path = "models", version_policy: str = "warn") -> ArticleModel:
    """Load a saved version, checking its manifest and file hashes before unpickling anything.

    ``ref`` is ``latest``, a version such as ``v3``, or a path to a version folder.
    ``version_policy`` is ``warn`` (default), ``strict`` (refuse other library versions) or ``ignore``.
    """
    import joblib

    if version_policy not in ("warn", "strict", "ignore"):
        raise ArtclfError(f"version_policy must be warn, strict or ignore, got {version_policy!r}")
    path = resolve_ref(ref, models_dir)
    manifest = read_manifest(path)
    verify_files(path, manifest)
    check_library_versions(manifest, version_policy)
    try:
        with warnings.catch_warnings():
            # Our own policy above reports version differences once, exactly.
            warnings.filterwarnings("ignore", module="sklearn.base")
            files = manifest["files"]
            topic = joblib.load(path / "topic.joblib") if "topic.joblib" in files else None
            tone = joblib.load(path / "tone.joblib") if "tone.joblib" in files else None
    except Exception as exc:  # unpickling can raise anything; the file passed its hash check
        raise ArtclfError(f"{path}: cannot load the model ({type(exc).__name__}: {exc}); "
                          "the saving and installed library versions may be incompatible") from None
    return ArticleModel(topic, tone, manifest, path)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
