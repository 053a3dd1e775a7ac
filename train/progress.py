"""Progress events: what a long library call reports while it runs, for the caller to show.

The library never prints; ``train()`` and the streaming fit call a ``ProgressCallback`` with a
:class:`Progress` event at each stage and every few batches, and the CLI decides how to show it
(a redrawn line on a terminal, plain lines in a log or a pipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ["Progress", "ProgressCallback", "emit"]


@dataclass(frozen=True)
class Progress:
    # "build", "featurize", "epoch 2/5", "thresholds", "evaluate", "save", ...
    stage: str
    done: int = 0
    # 0 when the stage has no known size (a single step).
    total: int = 0
    unit: str = "articles"
    message: str = ""

    def __str__(self) -> str:
        if self.total:
            share = f"{self.done:,}/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)"
            return f"{self.stage}: {share}" + (f" {self.message}" if self.message else "")
        return f"{self.stage}" + (f": {self.message}" if self.message else "")


ProgressCallback = Callable[[Progress], None]


def emit(callback: Optional[ProgressCallback], stage: str, done: int = 0, total: int = 0, unit: str = "articles", message: str = "") -> None:
    """Call ``callback`` (when there is one) with a Progress event."""
    if callback is not None:
        callback(Progress(stage, done, total, unit, message))
