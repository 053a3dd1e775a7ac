"""Canaries, shared by both runtimes: fixed texts whose scores are stored at save time and
re-predicted at load time, so a library upgrade (or an edited file) that silently changes
predictions is caught before use."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from artclf.errors import ModelIntegrityError
from artclf.manifest import MANIFEST

__all__ = ["CANARY_TEXTS", "CANARY_TOLERANCE", "canary_scores", "verify_canaries"]

# Canary articles written for this purpose (never training text). Their scores are stored at save
# time and re-predicted at load time: a library upgrade that silently changes predictions is caught.
CANARY_TEXTS = (
    "The foreign ministers of both countries met in Geneva and signed a treaty on trade and visas.",
    "Crude oil production rose this quarter as the new pipeline and the gas terminal reached capacity.",
    "Troops crossed the disputed border and the government rejected the neighbour's claim to the islands.",
    "The national football team won the cup final after extra time in front of a record crowd.",
    "Talks on the energy deal collapsed amid a bitter dispute over the maritime boundary.",
)
CANARY_TOLERANCE = 1e-3



class Scorer(Protocol):
    def raw_scores(self, texts: Sequence[str]) -> list[dict[str, dict[str, float]]]: ...


def canary_scores(model: Scorer) -> dict[str, Any]:
    """The manifest's "canaries": the canary texts with the scores this model gives them."""
    return {"tolerance": CANARY_TOLERANCE, "texts": list(CANARY_TEXTS), "expected": model.raw_scores(CANARY_TEXTS)}


def verify_canaries(model: Scorer, manifest: dict[str, Any], tolerance: float | None = None) -> float | None:
    """Re-predict the stored canary texts; refuse the model when any score moved beyond the
    tolerance. Returns the largest difference seen (None for a version without canaries)."""
    canaries = manifest.get("canaries")
    if not canaries:
        return None
    where = f"model {manifest.get('version', '?')}"
    try:
        tol = float(canaries.get("tolerance", CANARY_TOLERANCE) if tolerance is None else tolerance)
        texts, expected = canaries.get("texts", []), canaries.get("expected", [])
        ok = (isinstance(texts, list) and all(isinstance(t, str) for t in texts) and isinstance(expected, list)
              and all(isinstance(e, dict) and all(isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values())
                                                  for v in e.values()) for e in expected))
    except (AttributeError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelIntegrityError(f"{where}: {MANIFEST} canaries are damaged (expected texts and scores per label); "
                          "restore the version or retrain")
    if len(texts) != len(expected):
        raise ModelIntegrityError(f"{where}: {MANIFEST} canaries are damaged ({len(texts)} texts, {len(expected)} expected scores)")
    worst = 0.0
    for i, (text, want, got) in enumerate(zip(texts, expected, model.raw_scores(texts)), start=1):
        for task in sorted(set(want) | set(got)):
            w, g = want.get(task, {}), got.get(task, {})
            if set(w) != set(g):
                raise ModelIntegrityError(f"{where}: canary {i} {task} labels differ (saved {sorted(w)}, now {sorted(g)}); "
                                  "the files do not match the manifest; retrain or restore the version")
            for label in w:
                diff = abs(float(w[label]) - g[label])
                worst = max(worst, diff)
                if diff > tol:
                    libs = manifest.get("library_versions", {})
                    raise ModelIntegrityError(
                        f"{where}: predictions changed since saving: canary {i} ({text[:40]!r}...) {task}.{label} is "
                        f"{g[label]:.6f}, saved {float(w[label]):.6f} (tolerance {tol}); likely causes: the label names "
                        "or their order in the manifest were edited, a model file was replaced, or other library versions "
                        f"(saved with scikit-learn {libs.get('scikit-learn', '?')}, numpy {libs.get('numpy', '?')}, "
                        f"scipy {libs.get('scipy', '?')}); restore the version, install those versions or retrain; refusing to load it"
                    )
    return worst
