"""Safe writes to a ``labels.jsonl``: never half-written, never lost.

Every change holds an exclusive lock (``<labels>.lock`` beside it, so two sessions or an import and
a session never interleave). An addition is one fsynced append of a whole line; any other change
(a replacement, an undo) writes the whole file beside it and renames it into place. Ctrl-C is held
off while a change is committed, then delivered.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import threading
from pathlib import Path
from typing import Any, Iterator

from artclf.errors import ArtclfError
from train.fsutil import file_lock, fsync_dir, write_bytes_atomic

HISTORY_SUFFIX = ".history.jsonl"


def lock_path(labels: Path) -> Path:
    return labels.with_name(labels.name + ".lock")


def history_path(labels: Path) -> Path:
    """Where replaced and undone labels are kept: ``labels.history.jsonl`` beside the file."""
    stem = labels.name[: -len(".jsonl")] if labels.name.endswith(".jsonl") else labels.name
    return labels.with_name(stem + HISTORY_SUFFIX)


def check_writable(labels: Path) -> None:
    """Refuse a read-only labels file up front (an atomic rename would otherwise replace it: the
    folder, not the file, decides, and root passes every permission check)."""
    if labels.exists() and not labels.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise ArtclfError(f"{labels}: the labels file is read-only; make it writable (chmod u+w) or pass another --labels file")
    folder = labels.parent if str(labels.parent) else Path(".")
    if not folder.is_dir():
        raise ArtclfError(f"{labels}: folder {folder} does not exist; create it or pass another --labels file")


def read_records(labels: Path) -> list[dict[str, Any]]:
    """The file's objects in order (a missing file has none); malformed lines name their number."""
    from train.data.labels import read_jsonl

    if not labels.exists():
        return []
    return [record for _, record in read_jsonl(labels)]


@contextlib.contextmanager
def locked(labels: Path) -> Iterator[None]:
    check_writable(labels)
    with file_lock(lock_path(labels)):
        yield


@contextlib.contextmanager
def no_interrupt() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) off for the block, then deliver it: a commit finishes or never starts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def append_synced(path: Path, records: list[dict[str, Any]]) -> None:
    """Append whole lines and fsync them (a file not ending in a newline gets one first)."""
    if not records:
        return
    data = "".join(line(r) for r in records)
    new = not path.exists()
    with path.open("ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                data = "\n" + data
        handle.write(data.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    if new:
        fsync_dir(path.parent if str(path.parent) else Path("."))


def rewrite(labels: Path, records: list[dict[str, Any]]) -> None:
    write_bytes_atomic(labels, "".join(line(r) for r in records))


def append_label(labels: Path, record: dict[str, Any]) -> None:
    """Add one label line (under the lock, fsynced; Ctrl-C held off)."""
    with locked(labels), no_interrupt():
        append_synced(labels, [record])


def remove_label(labels: Path, article_id: str, reason: str, when: str) -> dict[str, Any] | None:
    """Remove the last line for ``article_id`` (an undo), keeping it in the history file."""
    with locked(labels):
        records = read_records(labels)
        for i in range(len(records) - 1, -1, -1):
            if records[i].get("id") == article_id:
                removed = records.pop(i)
                with no_interrupt():
                    append_synced(history_path(labels), [{**removed, "removed_at": when, "removed_because": reason}])
                    rewrite(labels, records)
                return removed
    return None
