"""Wall time and peak resident memory of one step, measured in this process."""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    # Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so each training run gets
    # its own peak instead of the process-wide high-water mark.
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Yields a dict filled on exit with ``wall_s``, ``peak_rss_mb`` and ``rss_before_mb``."""
    out: dict[str, float] = {}
    exact = _reset_peak()
    before = _status_kb("VmRSS") or 0
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["wall_s"] = time.perf_counter() - start
        peak = _status_kb("VmHWM") if exact else None
        if peak is None:  # not Linux: the process-wide peak, an upper bound
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["peak_rss_mb"] = peak / 1024
        out["rss_before_mb"] = before / 1024
