"""``manifest.json``: the one writer and reader of a model version's description.

The manifest says what a version is (config, label names, thresholds, data fingerprint, library
versions, metrics, canaries) and lists every file with its sha256. It is written only by
:func:`write_manifest` and read only by :func:`read_manifest`, which checks the declared field
types and, from format 3 on, the manifest's own integrity record: a sha256 of each top-level
field, so an edited threshold or a deleted canary is named instead of loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, TypedDict

from artclf._protocol import FORMAT_VERSION, INTEGRITY_SINCE, READABLE_FORMATS
from artclf._safe_io import MAX_JSON_DEPTH, MAX_MANIFEST_BYTES, check_file_name, parse_json_bounded, read_version_files
from artclf.errors import ModelIntegrityError, UnsafeModelError

__all__ = [
    "MANIFEST",
    "TRUST_PICKLE_HINT",
    "pickle_only_files",
    "pickle_only_refusal",
    "MAX_MANIFEST_BYTES",
    "Manifest",
    "field_digests",
    "load_manifest",
    "parse_manifest",
    "read_manifest",
    "write_manifest",
]

MANIFEST = "manifest.json"
# The caps (MAX_MANIFEST_BYTES, MAX_JSON_DEPTH) are artclf._safe_io's: one set for every reader.


class Labels(TypedDict):
    topics: list[str]
    tone: list[str]


class FileEntry(TypedDict):
    sha256: str
    bytes: int


class Manifest(TypedDict, total=False):
    """The declared schema of ``manifest.json`` (every key a writer may set)."""

    format_version: int
    version: str
    created: str
    config_name: str
    config_path: str | None
    config_fingerprint: str
    config: dict[str, dict[str, Any]]
    labels: Labels
    # "multilabel" (absent in older versions) or "multiclass": one topic per article.
    topic_mode: str
    thresholds: dict[str, dict[str, Any]]
    # Scores -> probabilities (artclf/calibration.py): {"method", "topic": {label: map}, "tone": map}.
    calibration: dict[str, Any]
    shared_vectorizer: bool
    topic_scores: str
    dataset: dict[str, Any]
    library_versions: dict[str, str]
    git: dict[str, Any] | None
    training: dict[str, Any]
    metrics: dict[str, Any]
    canaries: dict[str, Any]
    files: dict[str, FileEntry]
    skops_skipped: dict[str, list[str]]
    portable: dict[str, Any]
    integrity: dict[str, Any]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _is_labels(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_str_list(value.get(task)) for task in ("topics", "tone"))


def _is_files(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(name, str) and isinstance(meta, dict) and isinstance(meta.get("sha256"), str)
        and isinstance(meta.get("bytes", 0), int) and not isinstance(meta.get("bytes", 0), bool)
        for name, meta in value.items()
    )


def _is(kind: type | tuple[type, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, kind) and not (isinstance(value, bool) and kind is int)


# Field -> (check, what it must be). Required fields are the ones loading cannot do without.
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "format_version": (_is(int), "an integer"),
    "version": (_is(str), "a string"),
    "created": (_is(str), "a string"),
    "config_name": (_is(str), "a string"),
    "config_path": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "config_fingerprint": (_is(str), "a string"),
    "config": (_is(dict), "an object"),
    "labels": (_is_labels, '{"topics": [names], "tone": [names]}'),
    "topic_mode": (lambda v: v in ("multilabel", "multiclass"), '"multilabel" or "multiclass"'),
    "thresholds": (lambda v: isinstance(v, dict) and all(isinstance(t, dict) for t in v.values()), "an object of label -> object"),
    "calibration": (_is(dict), "an object"),
    "shared_vectorizer": (_is(bool), "true or false"),
    "topic_scores": (_is(str), "a string"),
    "dataset": (_is(dict), "an object"),
    "library_versions": (lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), "an object of strings"),
    "git": (lambda v: v is None or isinstance(v, dict), "an object or null"),
    "training": (_is(dict), "an object"),
    "metrics": (_is(dict), "an object"),
    "canaries": (_is(dict), "an object"),
    "files": (_is_files, 'an object of file name -> {"sha256", "bytes"}'),
    "skops_skipped": (_is(dict), "an object"),
    "portable": (_is(dict), "an object"),
    "integrity": (_is(dict), "an object"),
}
_REQUIRED = ("format_version", "labels", "files")


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def field_digests(manifest: dict[str, Any]) -> dict[str, str]:
    """sha256 of each top-level field's canonical JSON (the integrity record leaves itself out)."""
    return {key: hashlib.sha256(_canonical(value)).hexdigest() for key, value in sorted(manifest.items()) if key != "integrity"}


def write_manifest(folder: Path, manifest: Manifest) -> Manifest:
    """Write ``folder/manifest.json`` (fsynced) with the current format version and the integrity
    record; returns what was written. The folder is expected to be renamed into place after."""
    final: dict[str, Any] = {**manifest, "format_version": FORMAT_VERSION}
    final.pop("integrity", None)
    final["integrity"] = {"algorithm": "sha256", "fields": field_digests(final)}
    data = (json.dumps(final, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    with (folder / MANIFEST).open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return final  # type: ignore[return-value]


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Check and parse a manifest's bytes (``where`` names it in messages).

    Parsing is bounded (:func:`artclf._safe_io.parse_json_bounded`: size, depth, number length,
    duplicate keys, NaN/Infinity are refused); then the declared field types, plain file names in
    ``files`` and, from format 3 on, the integrity record are checked."""
    manifest = parse_json_bounded(data, where=where, max_bytes=MAX_MANIFEST_BYTES, max_depth=MAX_JSON_DEPTH)
    if not isinstance(manifest, dict):
        raise ModelIntegrityError(f"{where}: not a JSON object; the version is damaged")
    fmt = manifest.get("format_version")
    if fmt not in READABLE_FORMATS or isinstance(fmt, bool):
        raise ModelIntegrityError(
            f"{where}: model format {json.dumps(fmt)[:20]} is not readable by this artclf "
            f"(reads {', '.join(map(str, READABLE_FORMATS))}); upgrade artclf or retrain the model"
        )
    for key in _REQUIRED:
        if key not in manifest:
            raise ModelIntegrityError(f"{where}: '{key}' is missing; the version is damaged")
    for key, value in manifest.items():
        check = _FIELDS.get(key)
        if check is not None and not check[0](value):
            raise ModelIntegrityError(f"{where}: '{key}' must be {check[1]}, got {json.dumps(value)[:60]}; the version is damaged")
    for name in manifest["files"]:
        check_file_name(name, where=where)
    if fmt >= INTEGRITY_SINCE:
        _check_integrity(manifest, where)
    return manifest  # type: ignore[return-value]


def _check_integrity(manifest: dict[str, Any], where: str) -> None:
    record = manifest.get("integrity")
    saved = record.get("fields") if isinstance(record, dict) else None
    if not isinstance(saved, dict) or not all(isinstance(v, str) for v in saved.values()):
        raise ModelIntegrityError(f"{where}: the integrity record is missing or damaged; restore the version or retrain")
    now = field_digests(manifest)
    changed = sorted(k for k in set(saved) & set(now) if saved[k] != now[k])
    removed = sorted(set(saved) - set(now))
    added = sorted(set(now) - set(saved))
    if changed or removed or added:
        parts = [f"{label}: {', '.join(keys)}" for label, keys in (("changed", changed), ("removed", removed), ("added", added)) if keys]
        raise ModelIntegrityError(f"{where}: edited since saving ({'; '.join(parts)}); "
                                  "refusing to load it; restore the version or retrain")


def load_manifest(folder: Path) -> tuple[Manifest, bytes]:
    """The checked manifest of a version folder and the exact bytes it was parsed from (a loader
    verifies a signature over those bytes, never over a second read).

    Read once through :func:`artclf._safe_io.read_version_files`: relative to a descriptor of the
    folder, ``O_NOFOLLOW | O_NONBLOCK``, regular files only (no symlink, FIFO or device), capped."""
    folder = Path(folder)
    if not os.path.lexists(folder / MANIFEST):
        raise ModelIntegrityError(f"{folder}: no {MANIFEST}; not a model version")
    data = read_version_files(folder, [MANIFEST], max_bytes_per_file=MAX_MANIFEST_BYTES)[MANIFEST]
    return parse_manifest(data, str(folder / MANIFEST)), data


def read_manifest(folder: Path) -> Manifest:
    """The checked manifest of a version folder."""
    return load_manifest(folder)[0]


TRUST_PICKLE_HINT = "--trust-pickle (CLI) or trust_pickle=True (load_model)"


def pickle_only_refusal(where: object, manifest: Manifest, names: list[str]) -> UnsafeModelError:
    """The one refusal of a version that offers only pickle for ``names`` (both runtimes say it)."""
    why = (f"format {manifest['format_version']}, written before skops files existed"
           if manifest["format_version"] < 2 else f"its manifest lists no .skops file for {'it' if len(names) == 1 else 'them'}")
    return UnsafeModelError(
        f"{where}: offers only pickle for {', '.join(names)} ({why}); unpickling runs any code the file "
        f"contains, so it is refused by default; if you trust whoever wrote this folder, pass {TRUST_PICKLE_HINT}, "
        "or re-save the model with this artclf to get skops files")


def pickle_only_files(manifest: Manifest) -> list[str]:
    """The ``.joblib`` files of tasks the manifest offers no ``.skops`` file for. Every version
    artclf writes (format 2 on) lists a skops file per task; a manifest without one was written
    before skops existed (format 1) or altered (the pickle downgrade), and both runtimes refuse
    it unless pickle is explicitly trusted."""
    files = manifest.get("files") or {}
    return sorted(f"{task}.joblib" for task in ("topic", "tone")
                  if f"{task}.joblib" in files and f"{task}.skops" not in files)
