"""Provenance recorded in every saved version: library versions, the git commit, the time."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "library_versions", "now_utc"]


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import scipy
    import sklearn

    versions = {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }
    try:
        from importlib.metadata import version

        # From metadata: importing skops itself costs ~0.4 s (it walks every sklearn estimator).
        versions["skops"] = version("skops")
    except Exception:  # noqa: BLE001 - skops missing or broken metadata: just don't record it
        pass
    return versions


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


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
