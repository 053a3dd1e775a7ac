"""Featurize stage: the TF-IDF vectorizer an experiment config describes.

Only stock scikit-learn objects are built here (no custom tokenizers or callables), so a saved
pipeline unpickles in an app that has scikit-learn but not this repository.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from features.branches import BRANCHES, Branch, fitted_branches, hasher_of, is_hashed

if TYPE_CHECKING:
    from sklearn.base import TransformerMixin

__all__ = ["BRANCHES", "Branch", "FeatureSettings", "build_vectorizer", "fitted_branches", "hasher_of", "is_hashed", "lead_settings"]


class FeatureSettings(Protocol):
    """What the featurizer reads from a config's ``[features]`` section (train.config.FeaturesConfig
    provides it; the featurize stage does not import the training config)."""

    ngram_range: tuple[int, int]
    sublinear_tf: bool
    min_df: int
    max_df: float
    max_features: int
    lowercase: bool
    strip_accents: bool
    stop_words: str
    char_ngrams: bool
    char_ngram_range: tuple[int, int]
    char_max_features: int
    hash_bits: int
    token_pattern: str
    lead_chars: int


def build_vectorizer(config: "FeatureSettings") -> "TransformerMixin":
    """An unfitted word (and optionally char) TF-IDF vectorizer; fit it on training text only."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    common = dict(
        sublinear_tf=config.sublinear_tf,
        min_df=config.min_df,
        max_df=config.max_df,
        lowercase=config.lowercase,
        strip_accents="unicode" if config.strip_accents else None,
        # float32 halves the size of the vocabulary-sized arrays and of the matrices.
        dtype=np.float32,
    )
    if config.hash_bits:
        return _hashed(config, common)
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=tuple(config.ngram_range),
        max_features=config.max_features or None,
        stop_words="english" if config.stop_words == "english" else None,
        token_pattern=config.token_pattern,
        **common,
    )
    branches = [(BRANCHES["words"].name, words)]
    if config.lead_chars:
        lead = {**common, "min_df": 1, "max_df": 1.0}
        branches.append((BRANCHES["lead"].name, TfidfVectorizer(analyzer="word", **lead_settings(config), **lead)))
    if config.char_ngrams:
        branches.append((BRANCHES["chars"].name, TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=tuple(config.char_ngram_range),
            max_features=config.char_max_features or None,
            **common,
        )))
    return words if len(branches) == 1 else FeatureUnion(branches)


def lead_settings(config: "FeatureSettings") -> dict:
    """token_pattern and stop_words of the lead branch: words of the first ``lead_chars`` characters.

    Past that point the pattern's first alternative matches the whole rest of the text outside the
    capturing group, so scikit-learn yields it as one empty token, and ``stop_words=[""]`` drops
    it. Only stock settings, so the saved vectorizer needs nothing of ours to load. Unigrams, every
    lead word kept (min_df 1): the lead's vocabulary is small.
    """
    body = config.token_pattern.removeprefix("(?u)")
    return {"token_pattern": rf"(?u)(?<=[\s\S]{{{config.lead_chars}}})[\s\S]+|({body})", "stop_words": [""], "ngram_range": (1, 1)}


def _hashed(config: "FeatureSettings", common: dict) -> "TransformerMixin":
    """HashingVectorizer + TfidfTransformer: the same TF-IDF weighting without a vocabulary.

    The vocabulary dict is most of a large model's pickle and of its load time; hashing drops it
    at the cost of rare collisions. Counts stay unnormalised and unsigned so TF-IDF sees real
    term counts; the transformer normalises.
    """
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    def branch(**analyzer: object) -> Pipeline:
        return Pipeline([
            ("hash", HashingVectorizer(
                n_features=2**config.hash_bits, alternate_sign=False, norm=None, dtype=np.float32,
                lowercase=common["lowercase"], strip_accents=common["strip_accents"], **analyzer,
            )),
            ("tfidf", TfidfTransformer(sublinear_tf=common["sublinear_tf"])),
        ])

    branches = [(BRANCHES["words"].name, branch(
        analyzer="word",
        ngram_range=tuple(config.ngram_range),
        stop_words="english" if config.stop_words == "english" else None,
        token_pattern=config.token_pattern,
    ))]
    if config.lead_chars:
        branches.append((BRANCHES["lead"].name, branch(analyzer="word", **lead_settings(config))))
    if config.char_ngrams:
        branches.append((BRANCHES["chars"].name, branch(analyzer="char_wb", ngram_range=tuple(config.char_ngram_range))))
    return branches[0][1] if len(branches) == 1 else FeatureUnion(branches)
