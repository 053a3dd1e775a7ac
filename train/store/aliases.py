"""Aliases (``production`` -> ``v7``) in ``models/aliases.json``: written here, read by
``artclf.refs``."""

from __future__ import annotations

from pathlib import Path

from artclf.errors import ArtclfError
from artclf.refs import ALIASES, is_alias_name, read_aliases, resolve_ref
from train.fsutil import write_json_atomic
from train.store.versions import aliases_lock

__all__ = ["promote"]


def promote(ref: str, alias: str, models_dir: str | Path = "models") -> tuple[str, str | None]:
    """Point ``alias`` at the version ``ref`` resolves to; returns (version, previous version or None)."""
    root = Path(models_dir)
    if not is_alias_name(alias):
        raise ArtclfError(f"alias {alias!r}: use letters, digits, '.', '_' or '-', starting with a letter "
                          "(not 'latest' or a version name like v3)")
    path = resolve_ref(ref, root)
    if path.resolve().parent != root.resolve():
        raise ArtclfError(f"{path}: only versions inside {root} can get an alias; copy the folder there first")
    with aliases_lock(root):
        aliases = read_aliases(root)
        previous = aliases.get(alias)
        aliases[alias] = path.name
        write_json_atomic(root / ALIASES, dict(sorted(aliases.items())))
    return path.name, previous
