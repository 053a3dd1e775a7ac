"""Helpers shared by the CLI commands: error reporting, config lookup, table printing."""

from __future__ import annotations

import contextlib
import errno
import sys
from pathlib import Path
from typing import Iterator, Sequence

import typer

from artclf.errors import ArtclfError

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


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """A plain fixed-width table (no colour codes, so it pipes and diffs cleanly)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
