"""``load_model`` for apps: numpy-only, and it checks before it trusts.

Order: resolve the reference -> read and check the manifest (schema, integrity record) -> refuse
symlinks, sub-folders and unlisted model files in the folder -> read every listed file once ->
sha256 of those bytes against the manifest -> the signature, when a public key is given -> build
the model from the same bytes (no pickle anywhere: JSON and ``.npy`` read with
``allow_pickle=False``) -> re-predict the canaries and compare with their saved scores.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from artclf._portable import MANIFEST_NAME as PORTABLE_SPEC
from artclf._portable import PortableModel
from artclf.errors import ArtclfError, ModelIntegrityError
from artclf.manifest import MANIFEST, pickle_only_files, pickle_only_refusal, read_manifest
from artclf.model import Model
from artclf.refs import resolve_ref

__all__ = ["load_model", "portable_file_names"]

SIGNATURE = "signature.json"
# The first manifest format that can list portable files.
PORTABLE_SINCE = 3


def portable_file_names(manifest: dict[str, Any]) -> list[str]:
    """The manifest's list of the portable format's files (empty when the version has none)."""
    if manifest.get("format_version", 0) < PORTABLE_SINCE:
        return []  # older formats predate the portable files; a record claiming them is not ours
    record = manifest.get("portable")
    if not isinstance(record, dict) or not record.get("available"):
        return []
    names = record.get("files")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or PORTABLE_SPEC not in names:
        raise ModelIntegrityError(f"{MANIFEST}: 'portable.files' must list the portable files including {PORTABLE_SPEC}; "
                                  "the version is damaged")
    return names


def load_model(
    ref: str = "latest",
    models_dir: str | os.PathLike[str] = "models",
    *,
    public_key: str | os.PathLike[str] | bytes | None = None,
    version_policy: str = "warn",
    check_canaries: bool = True,
    canary_tolerance: float | None = None,
) -> Model:
    """Load a saved version with the numpy runtime.

    ``ref`` is ``latest``, a version such as ``v3``, an alias such as ``production``, or a path
    to a version folder. With ``public_key`` (a PEM file or its bytes) the version must carry a
    signature by that key over every file (``artclf models sign``). ``version_policy`` (``warn``,
    ``strict``, ``ignore``) applies to the numpy version recorded at save time.
    """
    from artclf._safe_io import check_folder_entries, check_sha256, read_version_files
    from artclf.canaries import verify_canaries

    if version_policy not in ("warn", "strict", "ignore"):
        raise ArtclfError(f"version_policy must be warn, strict or ignore, got {version_policy!r}")
    path = resolve_ref(ref, models_dir)
    manifest = read_manifest(path)
    names = portable_file_names(manifest)
    if not names:
        reason = (manifest.get("portable") or {}).get("reason") if isinstance(manifest.get("portable"), dict) else None
        raise ModelIntegrityError(
            f"{path}: has no portable model files ({reason or 'saved before the portable format existed'}); "
            "retrain it with this artclf, or load it with scikit-learn through train.store.load.load_model")
    listed = list(manifest["files"])
    missing = sorted(set(names) - set(listed))
    if missing:
        raise ModelIntegrityError(f"{path / MANIFEST}: portable files {missing} are not in 'files' (no sha256); the version is damaged")
    check_folder_entries(path, listed, allowed_extra=[MANIFEST, SIGNATURE])
    pickled = pickle_only_files(manifest)
    if pickled:
        # This runtime never unpickles, but a version offering only pickle for a task is either
        # very old or altered (the downgrade attack): refused as the scikit-learn loader does.
        raise pickle_only_refusal(path, manifest, pickled)
    # Every listed file is hashed, not only the ones this runtime reads: a damaged version is
    # refused as a whole, whichever runtime an app uses (hashing the default model's other files
    # costs a few milliseconds).
    everything = read_version_files(path, listed)
    for name in listed:
        check_sha256(path / name, everything[name], manifest["files"][name]["sha256"])
    files = {name: everything[name] for name in names}
    from artclf._zipcheck import check_zip_bounds

    for name in listed:
        if name.endswith(".skops"):
            # Not read by this runtime, but a damaged or hostile archive means a damaged version.
            # The central directory only: this runtime never decompresses it, and decompressing
            # to check the sizes was 27 ms of a 60 ms load (the scikit-learn loader does it).
            check_zip_bounds(everything[name], where=path / name, verify_content=False)
    if public_key is not None:
        from artclf.signing import verify_version

        verify_version(path, {**everything, **read_version_files(path, [MANIFEST])}, public_key)
    del everything
    _check_numpy(manifest, version_policy)
    model = Model(PortableModel(files), manifest, path)
    _check_labels(path, manifest, model)
    if check_canaries:
        verify_canaries(model, manifest, canary_tolerance)
    return model


def _check_labels(path: Path, manifest: dict[str, Any], model: Model) -> None:
    """The manifest's label names must be the model's: otherwise answers would carry other names."""
    labels = manifest["labels"]
    # A multilabel head reports topics in the manifest's order; a multiclass one, like tone, in the
    # configured order followed by any other class.
    same_topics = (sorted(labels["topics"]) == sorted(model.topic_labels) if manifest.get("topic_mode") == "multiclass"
                   else list(labels["topics"]) == model.topic_labels)
    if not same_topics or sorted(labels["tone"]) != sorted(model.tone_labels):
        raise ModelIntegrityError(
            f"{path / MANIFEST}: labels {labels['topics']} / {labels['tone']} do not match the model files' "
            f"{model.topic_labels} / {model.tone_labels}; the manifest or the files were changed; restore the version or retrain")


def _check_numpy(manifest: dict[str, Any], policy: str) -> None:
    import numpy

    saved = (manifest.get("library_versions") or {}).get("numpy")
    if policy == "ignore" or not saved or saved == numpy.__version__:
        return
    message = f"model {manifest.get('version')}: saved with numpy {saved}, running {numpy.__version__}"
    if policy == "strict":
        raise ArtclfError(f"{message}; install numpy {saved} or load with version_policy='warn'")
    warnings.warn(message, stacklevel=3)
