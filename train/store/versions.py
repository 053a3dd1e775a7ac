"""The version store: immutable folders ``models/vN/``, written whole or not at all.

A version is written into a hidden temporary folder ``.tmp-PID-*`` and renamed into place, so an
interrupted save leaves no partial version, and two concurrent saves get distinct numbers.
Folder names, references and the manifest schema belong to the runtime (``artclf.refs``,
``artclf.manifest``); this module only creates and removes folders.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from artclf.errors import ArtclfError
from artclf.manifest import Manifest, write_manifest
from artclf.refs import read_aliases, resolve_ref, version_number
from train.fsutil import file_lock, fsync_dir, pid_alive, sha256_file, write_synced

__all__ = ["MODEL_CARD", "clean_stale_tmp", "remove_version", "save_version", "stale_tmp_dirs", "aliases_lock"]

MODEL_CARD = "MODEL_CARD.md"
TMP_PREFIX = ".tmp-"
_TMP_DIR = re.compile(r"^\.tmp-(\d+)-")
# A save takes seconds; a temporary folder this old belongs to a run that died whatever its pid says.
STALE_TMP_SECONDS = 3600


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


def check_writable(models_dir: str | Path) -> Path:
    """Create ``models_dir`` if needed and prove a version can be written there (before fitting,
    so a read-only or missing folder is reported in a second, not after the whole training)."""
    root = Path(models_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _probe_writable(root)
    except OSError as exc:
        raise ArtclfError(f"{root}: cannot create a model version here ({exc.strerror or exc}); "
                          "check that the models folder is writable and has free space, or set train.models_dir") from None
    return root


def _probe_writable(root: Path) -> None:
    """Raise OSError unless a file can be created in ``root``. An unnamed O_TMPFILE leaves nothing
    behind even when Ctrl-C lands mid-probe; file systems without it get a named probe folder."""
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            os.close(os.open(root, tmpfile | os.O_WRONLY, 0o600))
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
    probe = root / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-probe"
    probe.mkdir()
    probe.rmdir()


def save_version(
    models_dir: str | Path, estimators: dict[str, Any], manifest: Manifest, extra_files: dict[str, bytes] | None = None
) -> Path:
    """Write a new version folder and return its path; never touches existing versions.

    ``estimators`` maps a task (``topic``, ``tone``) to its fitted pipeline; each is saved with
    joblib and, when every type in it is on our trusted list, with skops too. ``extra_files``
    (name -> bytes: the portable format's files) are written beside them and listed with their
    sha256 like every other file.
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
        files: dict[str, Any] = {}
        skipped: dict[str, list[str]] = {}
        for name, data in (extra_files or {}).items():
            write_synced(tmp / name, data)
            files[name] = {"sha256": sha256_file(tmp / name), "bytes": len(data)}
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
        final: Manifest = {**manifest, "files": files}
        if skipped:
            final["skops_skipped"] = skipped
        return _publish(root, tmp, final)
    except OSError as exc:
        hint = "free some disk space" if getattr(exc, "errno", None) == 28 else "check permissions and free space"
        raise ArtclfError(
            f"{root}: saving the model failed ({exc.strerror or exc}); {hint}; existing versions are untouched"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(root: Path, tmp: Path, manifest: Manifest) -> Path:
    """Rename the finished folder to the next free vN; renaming onto an existing (non-empty) folder
    fails atomically, so a concurrent save that took the number makes us try the next one."""
    from train.store.model_card import render

    taken = [version_number(p.name) or 0 for p in root.iterdir()] if root.is_dir() else []
    number = max(taken, default=0) + 1
    for _ in range(1000):
        target = root / f"v{number}"
        written = write_manifest(tmp, {**manifest, "version": target.name})
        write_synced(tmp / MODEL_CARD, render(written))
        try:
            os.rename(tmp, target)
        except OSError as exc:
            if target.exists():
                number += 1
                continue
            raise exc
        fsync_dir(root)
        return target
    raise ArtclfError(f"{root}: could not find a free version number")


def aliases_lock(root: Path) -> Any:
    """Serialises read-modify-write of aliases.json between concurrent promotes and removes."""
    return file_lock(root / ".aliases.lock")


def remove_version(ref: str, models_dir: str | Path = "models") -> Path:
    """Delete a version inside ``models_dir``; refuses one an alias points at."""
    root = Path(models_dir)
    path = resolve_ref(ref, root)
    if path.resolve().parent != root.resolve() or version_number(path.name) is None:
        raise ArtclfError(f"{path}: not a version inside {root}; remove only versions of this models folder")
    with aliases_lock(root):
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
    fsync_dir(root)
    return path
