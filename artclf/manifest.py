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
from artclf.errors import ModelIntegrityError, UnsafeModelError

__all__ = [
    "MANIFEST",
    "MAX_MANIFEST_BYTES",
    "Manifest",
    "field_digests",
    "parse_manifest",
    "read_manifest",
    "write_manifest",
]

MANIFEST = "manifest.json"
# Our manifests are a few kB to a few hundred kB (per-label metrics of 90 Reuters categories);
# anything far larger is not ours and is refused before parsing.
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_JSON_DEPTH = 32


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


def _depth_ok(data: bytes, limit: int) -> bool:
    """Whether JSON nesting stays within ``limit`` (scanned before parsing: deep nesting makes
    Python's parser recurse)."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Check and parse a manifest's bytes (``where`` names it in messages)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise UnsafeModelError(f"{where}: {len(data)} bytes, over the {MAX_MANIFEST_BYTES} a manifest may have; "
                               "this is not a manifest artclf wrote: refusing to parse it")
    if not _depth_ok(data, MAX_JSON_DEPTH):
        raise UnsafeModelError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; not a manifest artclf wrote")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelIntegrityError(f"{where}: unreadable manifest ({text}); the version is damaged") from None
    if not isinstance(manifest, dict):
        raise ModelIntegrityError(f"{where}: not a JSON object; the version is damaged")
    fmt = manifest.get("format_version")
    if fmt not in READABLE_FORMATS or isinstance(fmt, bool):
        raise ModelIntegrityError(
            f"{where}: model format {fmt!r} is not readable by this artclf "
            f"(reads {', '.join(map(str, READABLE_FORMATS))}); upgrade artclf or retrain the model"
        )
    for key in _REQUIRED:
        if key not in manifest:
            raise ModelIntegrityError(f"{where}: '{key}' is missing; the version is damaged")
    for key, value in manifest.items():
        check = _FIELDS.get(key)
        if check is not None and not check[0](value):
            raise ModelIntegrityError(f"{where}: '{key}' must be {check[1]}, got {json.dumps(value)[:60]}; the version is damaged")
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


def read_manifest(folder: Path) -> Manifest:
    """The checked manifest of a version folder."""
    path = folder / MANIFEST
    try:
        if path.is_symlink():
            raise UnsafeModelError(f"{path}: is a symbolic link; a version folder holds regular files only")
        with path.open("rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise ModelIntegrityError(f"{folder}: no {MANIFEST}; not a model version") from None
    except IsADirectoryError:
        raise ModelIntegrityError(f"{path}: is a folder, not a manifest; the version is damaged") from None
    except OSError as exc:
        raise ModelIntegrityError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_manifest(data, str(path))
