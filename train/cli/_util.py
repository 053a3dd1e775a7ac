"""Helpers shared by the CLI commands: error reporting, config lookup, table printing."""

from __future__ import annotations

import contextlib
import errno
import sys
from pathlib import Path
from typing import Any, Iterator

import typer

from artclf.errors import ArtclfError
from train.tables import table

DEFAULT_CONFIG = Path("configs/default.toml")

SET_HELP = "Override one config key, e.g. --set features.min_df=2 (repeatable)."


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and exit status 1 (130 on Ctrl-C)."""
    try:
        yield
    except ArtclfError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; nothing partial was saved", err=True)
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # `artclf predict ... | head`: the reader left; that is not an error.
        sys.stderr.close()
        raise typer.Exit(0) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        hint = "free some disk space" if exc.errno == errno.ENOSPC else "check the path and its permissions"
        typer.echo(f"error: {where}{exc.strerror or exc}; {hint}", err=True)
        raise typer.Exit(1) from None


def config_path(path: Path | None) -> Path | None:
    """The config to use: the given one, else configs/default.toml when present, else built-ins."""
    if path is not None:
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def format_metrics(result: dict[str, Any]) -> str:
    lines = [f"articles: {result['n']}"]
    if "topic" in result:
        topic = result["topic"]
        lines.append(
            f"\ntopic  micro-F1 {topic['micro_f1']:.3f}  macro-F1 {topic['macro_f1']:.3f}  samples-F1 {topic['samples_f1']:.3f}"
            f"  hamming {topic['hamming_loss']:.3f}  subset-acc {topic['subset_accuracy']:.3f}"
        )
        lines.append(_per_label_table("topic", topic["per_label"]))
    if "tone" in result:
        tone = result["tone"]
        lines.append(f"\ntone   accuracy {tone['accuracy']:.3f}  macro-F1 {tone['macro_f1']:.3f}")
        lines.append(_per_label_table("tone", tone["per_label"]))
        cm = tone["confusion_matrix"]
        rows = [[f"true {label}"] + row for label, row in zip(cm["labels"], cm["matrix"])]
        lines.append("\n" + table(rows, [""] + [f"pred {label}" for label in cm["labels"]]))
    return "\n".join(lines)


def _per_label_table(task: str, per_label: dict[str, dict[str, Any]]) -> str:
    rows = [[k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]] for k, v in per_label.items()]
    return table(rows, [task, "precision", "recall", "f1", "support"])


class ProgressPrinter:
    """Shows :class:`train.progress.Progress` events on stderr: one redrawn line per stage on a
    terminal; in a log or a pipe, plain lines (a stage's first event, then every 10% of it, and
    at most one a second for stages of unknown size)."""

    def __init__(self, stream: Any = None) -> None:
        import time

        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._clock = time.monotonic
        self._stage = ""
        self._step = -1
        self._last = 0.0

    def __call__(self, event: Any) -> None:
        now = self._clock()
        new_stage = event.stage != self._stage
        if self.tty:
            if new_stage and self._stage:
                self.stream.write("\n")
            self.stream.write("\r\x1b[K" + str(event))
            self.stream.flush()
        else:
            step = int(10 * event.done / event.total) if event.total else -1
            if new_stage or (event.total and step != self._step) or (not event.total and now - self._last >= 1.0):
                self.stream.write(str(event) + "\n")
                self.stream.flush()
                self._step, self._last = step, now
        self._stage = event.stage

    def close(self) -> None:
        if self.tty and self._stage:
            self.stream.write("\n")
            self.stream.flush()
