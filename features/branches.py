"""The featurizer's branches, declared once: their names in the FeatureUnion, what each analyzes,
and how explanations name its n-grams. ``build_vectorizer`` builds from these names; scoring and
explanations walk a fitted featurizer through :func:`fitted_branches` instead of re-discovering
its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BRANCHES", "Branch", "fitted_branches", "hasher_of", "is_hashed"]


@dataclass(frozen=True)
class Branch:
    name: str  # the FeatureUnion part name
    analyzer: str  # scikit-learn's analyzer: "word" or "char_wb"
    prefix: str  # how an explanation names this branch's n-grams ("" for plain words)


BRANCHES: dict[str, Branch] = {
    "words": Branch("words", "word", ""),
    # The headline and opening sentence counted again (features.lead_chars).
    "lead": Branch("lead", "word", "lead:"),
    "chars": Branch("chars", "char_wb", "char:"),
}


def fitted_branches(featurizer: Any) -> list[tuple[Branch, Any]]:
    """(branch, fitted transformer) in column order: the FeatureUnion's parts, or the one
    featurizer as the "words" branch."""
    from sklearn.pipeline import FeatureUnion, Pipeline

    while isinstance(featurizer, Pipeline) and len(featurizer.steps) == 1:
        featurizer = featurizer.steps[0][1]
    if isinstance(featurizer, FeatureUnion):
        return [(BRANCHES.get(name, Branch(name, "word", f"{name}:")), t)
                for name, t in featurizer.transformer_list if t not in ("drop", None)]
    return [(BRANCHES["words"], featurizer)]


def hasher_of(transformer: Any) -> Any:
    """The HashingVectorizer a hashed branch starts with, or None for a vocabulary branch."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.pipeline import Pipeline

    first = transformer.steps[0][1] if isinstance(transformer, Pipeline) else transformer
    return first if isinstance(first, HashingVectorizer) else None


def is_hashed(featurizer: Any) -> bool:
    """Whether every branch hashes (``build_vectorizer`` hashes every branch or none)."""
    return all(hasher_of(t) is not None for _, t in fitted_branches(featurizer))
