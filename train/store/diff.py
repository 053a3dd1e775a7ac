"""What differs between two saved versions: config keys, headline metrics, thresholds, data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artclf.manifest import read_manifest
from artclf.refs import resolve_ref

__all__ = ["diff_versions"]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def diff_versions(a: str, b: str, models_dir: str | Path = "models") -> dict[str, Any]:
    """Config keys, headline metrics and provenance that differ between two versions."""
    pa, pb = resolve_ref(a, models_dir), resolve_ref(b, models_dir)
    ma, mb = read_manifest(pa), read_manifest(pb)

    def changed(x: Any, y: Any) -> dict[str, list[Any]]:
        fx, fy = _flatten(x or {}), _flatten(y or {})
        return {k: [fx.get(k), fy.get(k)] for k in sorted(set(fx) | set(fy)) if fx.get(k) != fy.get(k)}

    def headline(m: dict[str, Any]) -> dict[str, Any]:
        # Per-label figures and confusion matrices are in `models show`; the diff keeps summaries.
        return {split: {task: {k: v for k, v in values.items() if not isinstance(v, (dict, list))}
                        for task, values in tasks.items() if isinstance(values, dict)}
                for split, tasks in (m.get("metrics") or {}).items()}

    return {
        "a": ma.get("version", pa.name),
        "b": mb.get("version", pb.name),
        "config": changed(ma.get("config"), mb.get("config")),
        "metrics": changed(headline(ma), headline(mb)),
        "thresholds": changed({k: v.get("decision") for k, v in (ma.get("thresholds") or {}).items()},
                              {k: v.get("decision") for k, v in (mb.get("thresholds") or {}).items()}),
        "dataset": changed({"fingerprint": (ma.get("dataset") or {}).get("fingerprint")},
                           {"fingerprint": (mb.get("dataset") or {}).get("fingerprint")}),
        "library_versions": changed(ma.get("library_versions"), mb.get("library_versions")),
    }

