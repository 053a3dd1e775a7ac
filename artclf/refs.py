"""Model references: ``latest``, a version such as ``v3``, an alias such as ``production``, or a
path to a version folder. The one place a reference becomes a folder.

A reference that names nothing is an error that lists what exists (and the closest name for a
near miss); nothing ever falls back to another model.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from artclf.errors import ModelIntegrityError, ModelNotFoundError
from artclf.manifest import MANIFEST

__all__ = ["ALIASES", "is_alias_name", "list_versions", "looks_like_ref", "read_aliases", "resolve_ref", "version_number"]

ALIASES = "aliases.json"
_VERSION_DIR = re.compile(r"^v(\d+)$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MAX_ALIASES_BYTES = 1024 * 1024
# What a version or model file is called when someone points at it: v3, V3, v3.1, version3, manifest.json.
_VERSION_LIKE = re.compile(r"^v(ersion)?[-_.]?\d+(\.\d+)*$", re.IGNORECASE)
MODEL_EXTENSIONS = (".joblib", ".skops", ".json", ".pkl", ".pickle")
# How close a word must be to an existing name (difflib ratio) to count as a misspelled reference.
NEAR_MISS = 0.8


def version_number(name: str) -> int | None:
    match = _VERSION_DIR.match(name)
    return int(match.group(1)) if match else None


def is_alias_name(name: str) -> bool:
    """Whether ``name`` can be an alias: a word starting with a letter, not ``latest`` or ``vN``."""
    return bool(_ALIAS.match(name)) and name != "latest" and version_number(name) is None


def list_versions(models_dir: str | Path) -> list[Path]:
    """Saved versions, oldest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    found = [(version_number(p.name), p) for p in root.iterdir() if p.is_dir()]
    return [p for n, p in sorted((n, p) for n, p in found if n is not None) if (p / MANIFEST).is_file()]


def read_aliases(models_dir: str | Path) -> dict[str, str]:
    """alias -> version name, from ``aliases.json`` (empty when there is none)."""
    path = Path(models_dir) / ALIASES
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ALIASES_BYTES + 1)
        if len(data) > MAX_ALIASES_BYTES:
            raise ValueError(f"over {MAX_ALIASES_BYTES} bytes")
        aliases = json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelIntegrityError(f"{path}: unreadable ({text}); fix or delete it and re-run `artclf models promote`") from None
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise ModelIntegrityError(f"{path}: expected an object of alias -> version name; fix or delete it")
    return aliases


def _known(root: Path) -> tuple[list[str], list[str]]:
    versions = [p.name for p in list_versions(root)]
    try:
        aliases = sorted(read_aliases(root))
    except ModelIntegrityError:
        aliases = []
    return versions, aliases


def _closest(word: str, names: list[str], cutoff: float) -> str | None:
    """The existing name nearest to ``word`` (case-insensitive), if any is within ``cutoff``."""
    lowered = {name.lower(): name for name in names}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[close[0]] if close else None


def looks_like_ref(word: str, models_dir: str | Path = "models") -> bool:
    """Whether ``word``, which did not resolve, was still meant as a model reference (so a caller
    must report it rather than treat it as something else, such as a text to classify).

    A reference-shaped word is ``latest`` or a version in any case (``V2``, ``v1.0``), a path
    (``/`` or ``\\`` inside, a leading ``.`` or ``~``, a model file extension), anything that
    exists on disk, or a single word within difflib ratio 0.8 of an existing version or alias
    (``prodution``, ``lastest``). Anything holding whitespace, a NUL or a newline never is.
    """
    if not isinstance(word, str) or not word or len(word) > 4096 or "\x00" in word or any(c.isspace() for c in word):
        return False
    if word.lower() == "latest" or _VERSION_LIKE.match(word):
        return True
    if "/" in word or "\\" in word or word.startswith((".", "~")) or word.lower().endswith(MODEL_EXTENSIONS):
        return True
    try:
        if Path(word).exists():
            return True
    except (OSError, ValueError):
        pass
    versions, aliases = _known(Path(models_dir))
    return word in aliases or _closest(word, ["latest", *versions, *aliases], NEAR_MISS) is not None


def _not_found(ref: str, root: Path, what: str) -> ModelNotFoundError:
    versions, aliases = _known(root)
    names = ["latest", *versions, *aliases] if versions else aliases
    closest = _closest(ref, names, 0.6)
    hint = f"did you mean '{closest}'? " if closest and closest != ref else ""
    return ModelNotFoundError(f"model '{ref}' not found: {what} in {root} ({_listing(versions, aliases)}); "
                              f"{hint}see `artclf models list` or pass --models-dir")


def _listing(versions: list[str], aliases: list[str]) -> str:
    return f"versions: {', '.join(versions) or 'none'}; aliases: {', '.join(aliases) or 'none'}"


def resolve_ref(ref: str, models_dir: str | Path = "models") -> Path:
    """A version folder for ``latest``, ``vN``, an alias from ``aliases.json``, or a path.

    A path (``../other/v2``, ``/srv/models/v7``) may point anywhere, but only at a real version
    folder, one with a manifest: nothing else is ever opened as a model.
    """
    root = Path(models_dir)
    if not isinstance(ref, str) or not ref or "\x00" in ref:
        raise ModelNotFoundError(f"model reference {ref!r}: expected latest, a version like v3, an alias or a folder")
    if ref == "latest":
        versions = list_versions(root)
        if not versions:
            raise ModelNotFoundError(f"{root}: no saved model versions; run `artclf train` first, "
                                     "or pass --models-dir with the folder your versions are in")
        return versions[-1]
    if version_number(ref) is not None:
        path = root / ref
        if not (path / MANIFEST).is_file():
            raise _not_found(ref, root, "no such version")
        return path
    if _ALIAS.match(ref):
        aliases = read_aliases(root)
        if ref in aliases:
            path = root / aliases[ref]
            if version_number(aliases[ref]) is None or not (path / MANIFEST).is_file():
                raise ModelNotFoundError(f"alias '{ref}' points at {aliases[ref]!r}, which is not a saved version in {root} "
                                         f"({_listing(*_known(root))}); "
                                         f"re-point it with `artclf models promote VERSION --alias {ref}`")
            return path
    path = Path(ref)
    try:
        if path.is_dir() and (path / MANIFEST).is_file():
            return path
        exists = path.exists()
    except OSError:
        exists = False
    if exists:
        raise ModelNotFoundError(f"{path}: not a model version folder (no {MANIFEST}); refusing to load anything from it; "
                                 f"pass a folder written by `artclf train`, or a saved version in {root} "
                                 f"({_listing(*_known(root))})")
    path_like = "/" in ref or "\\" in ref or ref.startswith((".", "~"))
    raise _not_found(ref, root, "no such folder" if path_like else "not 'latest', a version, an alias or a model folder")
