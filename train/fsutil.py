"""File-system helpers every store in the repository shares: durable atomic writes, advisory
locks, content hashes, and the process check used to clean up after killed runs.

One implementation each, so that the dataset store, the model store and the experiment runs all
get the same guarantees: a reader sees the old file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "file_lock",
    "fsync_dir",
    "pid_alive",
    "replacing",
    "sha256_file",
    "write_bytes_atomic",
    "write_json_atomic",
    "write_synced",
]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a temp folder named after it may still be in use)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def json_text(payload: Any, indent: int | None = 2) -> str:
    """The one JSON style of our files: UTF-8, keys as given, a trailing newline."""
    return json.dumps(payload, indent=indent, ensure_ascii=False) + "\n"


def write_synced(path: Path, data: bytes | str) -> None:
    """Write a new file and fsync it (for files inside a folder that is renamed into place)."""
    with path.open("wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed over ``path`` when the block succeeds.

    Readers see the old file or the new one, never a partial one; on any failure (Ctrl-C
    included) the temporary file is removed and ``path`` is untouched. The temporary name carries
    our pid, so clean-up code can tell a live writer's file from a dead one's.
    """
    tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}.{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` durably (see :func:`replacing`)."""
    with replacing(path) as tmp:
        write_synced(tmp, data)


def write_json_atomic(path: Path, payload: Any, indent: int | None = 2) -> None:
    write_bytes_atomic(path, json_text(payload, indent))


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort: some file systems refuse a folder fsync)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path, shared: bool = False, optional: bool = False) -> Iterator[None]:
    """An advisory ``flock`` on ``path`` (created if missing) for the ``with`` block.

    ``shared`` takes a reader's lock; ``optional`` goes on without a lock when the lock file
    cannot be created (a reader in a read-only folder has nobody to race with it).
    """
    import fcntl

    try:
        handle = path.open("a")
    except OSError:
        if not optional:
            raise
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
