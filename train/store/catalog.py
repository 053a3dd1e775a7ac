"""The model store as a catalog: what versions exist and what each one is (for ``models list``,
``models show`` and ``models audit``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artclf.errors import ArtclfError
from artclf.manifest import read_manifest
from artclf.refs import list_versions, read_aliases, resolve_ref

__all__ = ["audit_file", "list_models", "show_model"]


def list_models(models_dir: Path = Path("models")) -> list[dict[str, Any]]:
    """One summary per saved version, oldest first."""
    aliases: dict[str, list[str]] = {}
    for alias, version in read_aliases(models_dir).items():
        aliases.setdefault(version, []).append(alias)
    out = []
    for path in list_versions(models_dir):
        try:
            m = read_manifest(path)
        except ArtclfError as exc:
            out.append({"version": path.name, "error": str(exc)})
            continue
        try:
            test = m.get("metrics", {}).get("test", {})
            out.append(
                {
                    "version": m.get("version", path.name),
                    "created": m.get("created"),
                    "config": m.get("config_name"),
                    "dataset": (m.get("dataset", {}).get("fingerprint") or "")[:12],
                    "topic_micro_f1": test.get("topic", {}).get("micro_f1"),
                    "tone_accuracy": test.get("tone", {}).get("accuracy"),
                    "bytes": sum(f.get("bytes", 0) for f in m.get("files", {}).values()),
                    "aliases": sorted(aliases.get(path.name, [])),
                }
            )
        except (AttributeError, TypeError):
            # A hand-edited manifest with odd types: list it as damaged, keep listing the rest.
            out.append({"version": path.name, "error": f"{path / 'manifest.json'}: unexpected value types; the version is damaged"})
    return out


def show_model(ref: str, models_dir: Path = Path("models")) -> dict[str, Any]:
    """The version's manifest plus its folder; canary texts and scores are left out (long, internal)."""
    path = resolve_ref(ref, models_dir)
    manifest = read_manifest(path)
    canaries = manifest.pop("canaries", None)
    if canaries:
        manifest["canaries"] = {"count": len(canaries.get("texts", [])), "tolerance": canaries.get("tolerance")}
    return {"path": str(path), **manifest}


def audit_file(path: Path) -> list[dict[str, Any]]:
    """Types each skops file would create: a .skops file, or every .skops file of a version folder."""
    from train.store import skops_io

    if path.is_dir():
        targets = sorted(path.glob("*.skops"))
        if not targets:
            raise ArtclfError(f"{path}: no .skops files in this folder; pass a .skops file or a version folder")
    elif path.is_file():
        targets = [path]
    else:
        raise ArtclfError(f"{path}: no such file or folder")
    return [skops_io.audit(t) for t in targets]
