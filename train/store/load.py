"""Load a saved version for scikit-learn without trusting the folder it comes from.

Whoever hands us a version folder controls every byte in it, the manifest included, so the order
of the checks matters (SECURITY.md, "Order of checks on load"):

1. resolve the reference to a folder (``artclf.refs``);
2. read ``manifest.json`` once, bounded, and check its schema and integrity record;
3. refuse symlinks, non-regular entries and model files the manifest does not list;
4. decide which file to deserialize per task: skops by default; a task offered only as pickle
   (joblib) is refused unless the caller passed ``trust_pickle=True``;
5. read every listed file once into memory (``read_version_files``);
6. check each file's sha256 on those bytes;
7. with a public key configured: verify ``signature.json`` over those bytes;
8. check the zip bounds of each ``.skops`` file;
9. deserialize from those same bytes (skops with the type list pinned in code; joblib only with
   the opt-in), then check the labels against the estimators;
10. re-predict the stored canary texts.

Nothing is opened by path a second time, so nothing can be swapped between the hash check and the
load. Every refusal is an :class:`artclf.errors.ArtclfError` with one line naming the file.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

from artclf._safe_io import check_folder_entries, check_sha256, read_version_files
from artclf._zipcheck import check_zip_bounds
from artclf.errors import ArtclfError, ModelIntegrityError
from artclf.manifest import MANIFEST, Manifest, load_manifest, TRUST_PICKLE_HINT, pickle_only_refusal
from artclf.refs import resolve_ref
from artclf.signing import SIGNATURE_FILE, public_key_fingerprint, verify_version
from train.model.model import ArticleModel
from artclf.canaries import verify_canaries
from train.store.provenance import library_versions

__all__ = ["TRUST_PICKLE_HINT", "check_library_versions", "load_model", "verify_files"]

TASKS = ("topic", "tone")
PublicKey = str | os.PathLike[str] | bytes


def verify_files(path: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Read every file the manifest lists once (bounded, regular files only) and check its sha256
    on the bytes read; returns ``{name: bytes}``: hash, verify and deserialize only these."""
    files = manifest["files"]
    data = read_version_files(path, list(files))
    for name, meta in files.items():
        check_sha256(path / name, data[name], meta.get("sha256"))
    return data


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


def _plan(path: Path, manifest: Manifest, prefer: str, trust_pickle: bool) -> dict[str, str]:
    """task -> the listed file to deserialize for it. skops unless ``prefer="joblib"`` (which
    requires the opt-in); a task offered only as joblib is refused without ``trust_pickle``."""
    files = manifest["files"]
    plan: dict[str, str] = {}
    for task in TASKS:
        safe, pickled = f"{task}.skops", f"{task}.joblib"
        if pickled in files and (prefer == "joblib" or safe not in files):
            plan[task] = pickled
        elif safe in files:
            plan[task] = safe
    if not plan:
        raise ModelIntegrityError(f"{path / MANIFEST}: lists neither topic nor tone model files; the version is damaged")
    pickled_only = sorted(n for n in plan.values() if n.endswith(".joblib"))
    if pickled_only and not trust_pickle:
        raise pickle_only_refusal(path, manifest, pickled_only)
    return plan


def _warn_pickle(path: Path, names: list[str], signed: bool) -> None:
    """One line on stderr, whoever the caller is: what is about to be unpickled and why."""
    basis = "its signature verified under the configured key" if signed else "no signature was checked"
    sys.stderr.write(f"warning: {path}: unpickling {', '.join(names)} because trust_pickle was given "
                     f"({basis}); pickle runs any code these files contain\n")
    sys.stderr.flush()


def _deserialize(path: Path, name: str, data: bytes) -> Any:
    if name.endswith(".skops"):
        from train.store import skops_io

        return skops_io.loads(data, path / name, bounds_checked=True)
    import joblib

    return joblib.load(io.BytesIO(data))


def _topic_outputs(topic: Any) -> int | None:
    classes = getattr(topic, "classes_", None)
    return None if classes is None else len(classes)


def _check_labels(path: Path, manifest: Manifest, plan: dict[str, str], topic: Any, tone: Any) -> None:
    """The manifest's label names must describe the estimators: the model zips scores with names,
    so a list that is too short or too long, renamed or duplicated would mislabel every answer."""
    labels = manifest["labels"]
    where = path / MANIFEST
    for task, names in (("topic", labels["topics"]), ("tone", labels["tone"])):
        if len(set(names)) != len(names):
            raise ModelIntegrityError(f"{where}: the {task} labels repeat a name; the labels do not match the "
                                      "estimators; refusing to load it; restore the version or retrain")
    if topic is not None:
        outputs = _topic_outputs(topic)
        if outputs is not None and outputs != len(labels["topics"]):
            raise ModelIntegrityError(
                f"{where}: lists {len(labels['topics'])} topic labels but {plan['topic']} has {outputs} outputs; "
                "the labels do not match the estimators; refusing to load it; restore the version or retrain")
    if tone is not None:
        classes = {str(c) for c in getattr(tone, "classes_", [])}
        unknown = sorted(classes - set(labels["tone"]))
        if unknown:
            raise ModelIntegrityError(
                f"{where}: {plan['tone']} predicts tone {', '.join(unknown)[:120]}, which the manifest's tone labels "
                "do not list; the labels do not match the estimators; refusing to load it; restore the version or retrain")


def load_model(
    ref: str = "latest",
    models_dir: str | Path = "models",
    version_policy: str = "warn",
    prefer: str = "skops",
    check_canaries: bool = True,
    canary_tolerance: float | None = None,
    *,
    trust_pickle: bool = False,
    public_key: PublicKey | None = None,
) -> ArticleModel:
    """Load a saved version, checking it before and after deserializing (see the module docstring
    for the order).

    ``ref`` is ``latest``, a version such as ``v3``, an alias such as ``production``, or a path.
    ``version_policy`` is ``warn`` (default), ``strict`` (refuse other library versions) or ``ignore``.

    Safe by default: only skops files are deserialized, with the type list pinned in
    ``train.store.skops_io``. ``trust_pickle=True`` allows unpickling the ``.joblib`` files of a
    task that has no skops file (format-1 folders) and prints one ``warning:`` line on stderr
    naming them; pickle runs any code a file contains, so pass it only for folders you wrote or
    whose signature verified. ``prefer="joblib"`` (a speed choice: joblib loads faster) is allowed
    only together with ``trust_pickle=True``.

    ``public_key`` (a PEM file path, PEM bytes or the raw 32 bytes of an Ed25519 key) makes the
    load refuse a version whose ``signature.json`` is missing or does not verify over the bytes read.
    """
    if version_policy not in ("warn", "strict", "ignore"):
        raise ArtclfError(f"version_policy must be warn, strict or ignore, got {version_policy!r}")
    if prefer not in ("skops", "joblib"):
        raise ArtclfError(f"prefer must be skops or joblib, got {prefer!r}")
    if prefer == "joblib" and not trust_pickle:
        raise ArtclfError("prefer='joblib' unpickles the .joblib files, and pickle runs any code a file contains; "
                          "pass trust_pickle=True with it (only for folders you trust), or use prefer='skops'")
    if public_key is not None:
        public_key_fingerprint(public_key)  # a bad key path or a missing `cryptography` fails before any read
    path = resolve_ref(ref, models_dir)
    manifest, manifest_bytes = load_manifest(path)
    files = manifest["files"]
    check_folder_entries(path, files, allowed_extra=(MANIFEST, SIGNATURE_FILE))
    plan = _plan(path, manifest, prefer, trust_pickle)
    data = verify_files(path, dict(manifest))
    if public_key is not None:
        verify_version(path, {MANIFEST: manifest_bytes, **data}, public_key)
    for name in files:
        if name.endswith(".skops"):
            check_zip_bounds(data[name], where=path / name)
    check_library_versions(dict(manifest), version_policy)
    pickled = [name for name in plan.values() if name.endswith(".joblib")]
    if pickled:
        _warn_pickle(path, pickled, signed=public_key is not None)
    try:
        with warnings.catch_warnings(), _gc_paused():
            # Our own policy above reports version differences once, exactly.
            warnings.filterwarnings("ignore", module="sklearn.base")
            loaded = {task: _deserialize(path, name, data[name]) for task, name in plan.items()}
        topic, tone = loaded.get("topic"), loaded.get("tone")
        _check_labels(path, manifest, plan, topic, tone)
        model = ArticleModel(topic, tone, dict(manifest), path)
        if check_canaries:
            verify_canaries(model, dict(manifest), canary_tolerance)
    except ArtclfError:
        raise
    except Exception as exc:  # deserializing or scoring can raise anything; the files passed their checks
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelIntegrityError(f"{path}: cannot load the model ({type(exc).__name__}: {text}); the files do not "
                                  "fit together or the saving and installed library versions are incompatible") from None
    return model
