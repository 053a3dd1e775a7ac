"""Reading a model version folder without trusting it: bounded, symlink-free, read once.

Whoever hands us a version folder (a shared drive, an artifact store, a download) controls every
byte in it, the manifest included. The loaders therefore read each file exactly once through the
functions here and hash, verify and deserialize *those bytes*: no second ``open`` by path, so
nothing can be swapped between the sha256 check and the load (the TOCTOU window of issue 17).

Standard library only (the ``artclf`` runtime must not import scikit-learn, scipy, skops or joblib),
and nothing runs at import time. Every refusal raises :class:`artclf.errors.UnsafeModelError` (an
``ArtclfError``, so the CLI prints it as one ``error:`` line) naming the file and saying what to do.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from itertools import accumulate
from pathlib import Path
from typing import Any

from artclf.errors import UnsafeModelError

__all__ = [
    "MAX_FILES",
    "MAX_BYTES_PER_FILE",
    "MAX_TOTAL_BYTES",
    "MAX_FOLDER_ENTRIES",
    "MAX_MANIFEST_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_NUMBER_CHARS",
    "MODEL_EXTENSIONS",
    "UnsafeModelError",
    "check_file_name",
    "read_version_files",
    "check_folder_entries",
    "parse_json_bounded",
    "sha256_hex",
    "check_sha256",
    "manifest_file_names",
]

# Caps (see SECURITY.md). A version folder holds ~6 files; the largest model measured in
# BENCHMARKS.md (hashed 2^20 features, float64, all weights) is 22 MB for the whole version, the
# plain-joblib vanilla baseline 72 MB. The caps leave an order of magnitude of headroom for real
# models while bounding memory a hostile folder can make us allocate.
MAX_FILES = 64
MAX_BYTES_PER_FILE = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
# Entries looked at by check_folder_entries: a folder with millions of entries is refused before
# we spend time listing all of it.
MAX_FOLDER_ENTRIES = 1000
# A manifest is ~10-50 KB (config, labels, metrics, canaries, hashes). The largest measured: a
# 90-category Reuters-21578 model, 33 KB as fitted and ~80 KB with per-label metrics of two splits
# and canary scores for every label. 4 MiB is ~50x that and still parses in milliseconds.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# The manifest nests about 6 levels; 64 is far above that and far below the ~1000 frames at which
# json.loads would hit RecursionError.
MAX_JSON_DEPTH = 64
# Longest number literal accepted. int("9" * 10**6) is quadratic; Python's int_max_str_digits guard
# (4300) can be switched off process-wide by any library, so we do not rely on it alone.
MAX_JSON_NUMBER_CHARS = 400

# Files that a loader might deserialize. Any of these in a version folder that the manifest does
# not list is refused: "unlisted but present" is how the skops->joblib downgrade of issue 17 looks.
MODEL_EXTENSIONS: tuple[str, ...] = (".skops", ".joblib", ".pkl", ".pickle", ".npy", ".json")

_READ_CHUNK = 1024 * 1024
# O_NOFOLLOW: a symlink as the last component fails with ELOOP instead of being followed.
# O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer forever
# (fstat then refuses it); for regular files the flag has no effect.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    # Names come from the folder, i.e. from the attacker: never let one break the one-line promise.
    return _CONTROL.sub("?", text)


def _fail(where: object, problem: str) -> UnsafeModelError:
    return UnsafeModelError(_one_line(f"{where}: {problem}"))


def check_file_name(name: object, *, where: object) -> str:
    """Return ``name`` if it is a plain file name inside the folder; refuse anything else.

    Refused: non-strings, empty, '.', '..', any '/' or '\\' (so no traversal and no absolute path),
    NUL and other control characters (they would also break one-line messages), names that are not
    valid UTF-8 text, and names over 255 bytes (the usual file-system limit).
    """
    if not isinstance(name, str):
        raise _fail(where, f"file name {name!r} is not a string; the manifest is malformed, re-save the version")
    shown = repr(name[:80])
    if name in ("", ".", ".."):
        raise _fail(where, f"file name {shown} is not a file name; the manifest is malformed, re-save the version")
    if "/" in name or "\\" in name:
        raise _fail(where, f"file name {shown} contains a path separator (it would leave the version folder); "
                           "refusing to read it, only load versions you trust")
    if _CONTROL.search(name):
        raise _fail(where, f"file name {shown} contains a control character; refusing to read it")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(where, f"file name {shown} is not valid UTF-8; refusing to read it") from None
    if len(encoded) > 255:
        raise _fail(where, f"file name {shown}... is {len(encoded)} bytes (over 255); refusing to read it")
    return name


def _open_folder(folder: str | os.PathLike[str]) -> int:
    """A descriptor for the folder itself: every file is then opened relative to it (dir_fd), so
    renaming or re-pointing the folder's path mid-load cannot redirect later reads.

    O_NOFOLLOW refuses a folder whose last component is a symlink. A caller that wants to load a
    version through a symlink (an alias the user made) resolves it first, on purpose."""
    try:
        return os.open(folder, _DIR_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and os.path.islink(folder)):
            raise _fail(folder, "the version folder is a symbolic link; refusing to follow it: pass the real "
                                "folder (resolve the link yourself if you trust its target)") from None
        if exc.errno == errno.ENOTDIR:
            raise _fail(folder, "not a folder; pass a model version folder") from None
        if exc.errno == errno.ENOENT:
            raise _fail(folder, "no such version folder") from None
        raise _fail(folder, f"cannot open the version folder ({exc.strerror or exc})") from None


def _read_fd(fd: int, where: object, max_bytes: int, budget: int) -> bytes:
    """Read a whole regular file from ``fd``, failing as soon as it passes ``max_bytes`` (or the
    remaining ``budget`` for the whole version): a file that grows while we read, or one whose
    size fstat under-reports, costs at most cap + one chunk of memory."""
    limit = min(max_bytes, budget)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise _fail(where, f"is {kind}, not a regular file; refusing to read it; a version folder holds only "
                           "regular files")
    if info.st_size > limit:
        raise _fail(where, _too_big(info.st_size, max_bytes, budget))
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - total))
        except BlockingIOError:  # pragma: no cover - regular files never block; belt and braces
            raise _fail(where, "would block while reading; refusing it") from None
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise _fail(where, _too_big(total, max_bytes, budget, growing=True))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(size: int, max_bytes: int, budget: int, growing: bool = False) -> str:
    what = "grew past" if growing else "is over"
    if size > max_bytes:
        return (f"{what} the {max_bytes}-byte cap per file ({size}+ bytes); refusing to read it; "
                "raise the cap only for versions you trust")
    return (f"{what} the remaining budget of {budget} bytes for the whole version; refusing to read it; "
            "raise the total cap only for versions you trust")


def read_version_files(
    folder: str | os.PathLike[str],
    names: Iterable[str],
    *,
    max_files: int = MAX_FILES,
    max_bytes_per_file: int = MAX_BYTES_PER_FILE,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> dict[str, bytes]:
    """Read each named file of a version folder once and return ``{name: bytes}``.

    Hash, verify and deserialize from the returned bytes; never re-open the files by path.

    Every name must be a plain file name (:func:`check_file_name`); each is opened relative to a
    descriptor of the folder with ``O_NOFOLLOW | O_NONBLOCK`` and must be a regular file per
    ``fstat`` of the opened descriptor (so no symlink, FIFO, folder or device, and no race between
    the check and the read). The folder itself must not be a symlink. Sizes are capped while
    reading. Duplicate names and more than ``max_files`` names are refused.
    """
    listed = list(names)
    if len(listed) > max_files:
        raise _fail(folder, f"lists {len(listed)} files, over the cap of {max_files}; refusing to load it")
    seen: set[str] = set()
    for name in listed:
        check_file_name(name, where=folder)
        if name in seen:
            raise _fail(Path(folder) / name, "is listed twice; the manifest is malformed, re-save the version")
        seen.add(name)
    result: dict[str, bytes] = {}
    budget = max_total_bytes
    dir_fd = _open_folder(folder)
    try:
        for name in listed:
            where = Path(folder) / name
            try:
                fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise _open_error(where, exc) from None
            try:
                data = _read_fd(fd, where, max_bytes_per_file, budget)
            finally:
                os.close(fd)
            budget -= len(data)
            result[name] = data
    finally:
        os.close(dir_fd)
    return result


def _open_error(where: Path, exc: OSError) -> UnsafeModelError:
    if exc.errno == errno.ELOOP:
        return _fail(where, "is a symbolic link; refusing to follow it; a version folder holds only regular files "
                            "(copy the real file in place of the link if you trust it)")
    if exc.errno == errno.ENOENT:
        return _fail(where, "is listed but missing; the version is damaged, restore or re-save it")
    if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket: open() cannot open one at all
        return _fail(where, "is not a regular file; refusing to read it")
    return _fail(where, f"cannot be read ({exc.strerror or exc}); check permissions")


def check_folder_entries(
    folder: str | os.PathLike[str],
    listed: Iterable[str],
    allowed_extra: Iterable[str] = (),
    *,
    max_entries: int = MAX_FOLDER_ENTRIES,
) -> None:
    """Refuse a version folder holding anything but regular files, or model files nobody listed.

    Refused: a symlink anywhere in the folder (even one that points inside it), sub-folders, FIFOs,
    sockets and devices, and any file with a model extension (:data:`MODEL_EXTENSIONS`) that is in
    neither ``listed`` (the manifest's files) nor ``allowed_extra`` (e.g. ``manifest.json``,
    ``signature.json``). Other regular files (``MODEL_CARD.md``) are allowed. Nothing is opened
    except the folder; file contents are read only by :func:`read_version_files`.
    """
    known = set(listed) | set(allowed_extra)
    dir_fd = _open_folder(folder)
    try:
        count = 0
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                count += 1
                if count > max_entries:
                    raise _fail(folder, f"holds over {max_entries} entries; refusing to load it; a version folder "
                                        "holds a handful of files")
                where = Path(folder) / entry.name
                if entry.is_symlink():
                    raise _fail(where, "is a symbolic link inside the version folder; refusing to load the version; "
                                       "replace the link with the real file if you trust it")
                if not entry.is_file(follow_symlinks=False):
                    kind = "a folder" if entry.is_dir(follow_symlinks=False) else "not a regular file"
                    raise _fail(where, f"is {kind} inside the version folder; refusing to load the version; "
                                       "a version folder holds only regular files")
                if entry.name.lower().endswith(MODEL_EXTENSIONS) and entry.name not in known:
                    raise _fail(where, "is a model file the manifest does not list; refusing to load the version "
                                       "(a file slipped in next to the listed ones); remove it or re-save the version")
    finally:
        os.close(dir_fd)


# A JSON string: '"', then any run of non-quote/non-backslash characters or backslash escapes, '"'.
# The two alternatives are disjoint, so matching is linear (no catastrophic backtracking).
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings, in C-speed passes (no Python loop per char).

    For valid JSON this is exact; for invalid JSON it may over-count, and json.loads would have
    refused such text anyway."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(_STEP[c] for c in brackets), default=0)


class _Refused(Exception):
    """Raised inside json hooks; turned into UnsafeModelError with the file name by the caller."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"key {key[:80]!r} appears twice in one object (readers disagree on which wins)")
            seen.add(key)
    return result


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not valid JSON")


def _int(text: str) -> int:
    if len(text) > MAX_JSON_NUMBER_CHARS:
        raise _Refused(f"a {len(text)}-digit integer (over {MAX_JSON_NUMBER_CHARS} characters)")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_JSON_NUMBER_CHARS:
        raise _Refused(f"a {len(text)}-character number (over {MAX_JSON_NUMBER_CHARS} characters)")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:40]} overflows to infinity")
    return value


def parse_json_bounded(data: bytes, *, where: object, max_bytes: int = MAX_MANIFEST_BYTES,
                       max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from untrusted bytes with bounded work.

    Refused, each with one line naming ``where``: more than ``max_bytes``; a UTF-8 byte-order mark
    (our writer never emits one and RFC 8259 forbids adding it: a BOM means another tool rewrote
    the file, so we refuse rather than strip); anything but strict UTF-8 (no UTF-16/32 guessing);
    nesting deeper than ``max_depth`` (checked before ``json.loads``, which would otherwise recurse
    until RecursionError); number literals over :data:`MAX_JSON_NUMBER_CHARS` characters (the
    quadratic int-parsing DoS, even if ``sys.set_int_max_str_digits(0)`` was called); NaN,
    Infinity and floats that overflow to infinity; duplicate keys in an object.
    """
    if not isinstance(data, bytes):
        raise _fail(where, f"expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise _fail(where, f"is {len(data)} bytes, over the {max_bytes}-byte cap; refusing to parse it; "
                           "a file this large was not written by artclf")
    if data.startswith(b"\xef\xbb\xbf"):
        raise _fail(where, "starts with a UTF-8 byte-order mark (another tool rewrote it); refusing to parse it; "
                           "re-save the version or remove the BOM")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise _fail(where, f"is not UTF-8 (invalid byte at offset {exc.start}); refusing to parse it; "
                           "re-save the version") from None
    depth = _json_depth(text)
    if depth > max_depth:
        raise _fail(where, f"nests {depth} levels deep, over the cap of {max_depth}; refusing to parse it; "
                           "a file this deep was not written by artclf")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant,
                          parse_int=_int, parse_float=_float)
    except _Refused as exc:
        raise _fail(where, f"refusing to parse it: {exc}; re-save the version") from None
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and int's own max-str-digits guard.
        raise _fail(where, f"is not valid JSON ({_one_line(str(exc))[:200]}); re-save the version") from None


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes already read (hash what you deserialize, never the path)."""
    return hashlib.sha256(data).hexdigest()


def check_sha256(where: object, data: bytes, expected: object) -> None:
    """Refuse ``data`` unless its sha256 equals ``expected`` (64 lowercase hex digits)."""
    if not isinstance(expected, str) or not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise _fail(where, "has no valid sha256 in the manifest; the manifest is malformed, re-save the version")
    actual = sha256_hex(data)
    if actual != expected:
        raise _fail(where, f"sha256 is {actual[:12]}..., the manifest says {expected[:12]}...; the file was changed "
                           "or damaged since saving; refusing to load it, restore or re-save the version")


def manifest_file_names(manifest: Mapping[str, Any], *, where: object) -> list[str]:
    """The names in a manifest's ``files`` object, each checked by :func:`check_file_name`."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise _fail(where, "has no 'files' object; the manifest is malformed, re-save the version")
    return [check_file_name(name, where=where) for name in files]
