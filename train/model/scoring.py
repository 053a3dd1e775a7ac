"""Serving path: the saved pipelines' own arithmetic without scikit-learn's per-call validation.

On one short text, scikit-learn's input checks (``validate_data`` and friends, run again by every
step) cost more than the work: 0.39 ms of a 0.47 ms featurize on a 20 Newsgroups post, measured
here. For the stock pieces our pipelines are made of (TfidfVectorizer, HashingVectorizer,
TfidfTransformer, FeatureUnion, Pipeline; LogisticRegression, LinearSVC, RidgeClassifier, alone or
one-vs-rest) this module computes the same features and scores directly: tokenizing and counting
still go through the fitted vectorizer, then TF-IDF weighting, row normalisation and the linear
decision are done with numpy on the fitted attributes.

Anything else (ComplementNB, a custom step, weighted unions) gets ``None`` from the builders and
the caller keeps the pipeline. ``ArticleModel`` also checks the fast scores against the pipeline's
on a probe text when it is built, and keeps the pipeline when they differ.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from features import fitted_branches

Featurizer = Callable[[Sequence[str]], Any]
Decision = Callable[[Any], np.ndarray]


def fast_featurizer(transformer: Any) -> Featurizer | None:
    """texts -> CSR features equal to ``transformer.transform(texts)``, or None if unsupported."""
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(transformer, Pipeline):
        steps = [fast_featurizer(step) if i == 0 else _fast_weighting(step) for i, (_, step) in enumerate(transformer.steps)]
        if any(s is None for s in steps):
            return None
        first, rest = steps[0], steps[1:]

        def through(texts: Sequence[str]) -> Any:
            X = first(texts)
            for step in rest:
                X = step(X)
            return X
        return through
    if isinstance(transformer, FeatureUnion):
        if transformer.transformer_weights:
            return None
        parts = [fast_featurizer(t) for _, t in fitted_branches(transformer)]
        if not parts or any(p is None for p in parts):
            return None
        return lambda texts: sp.hstack([p(texts) for p in parts], format="csr")
    if isinstance(transformer, TfidfVectorizer):
        weigh = _tfidf(transformer.sublinear_tf, getattr(transformer, "idf_", None) if transformer.use_idf else None, transformer.norm)
        if weigh is None:
            return None
        return lambda texts: weigh(CountVectorizer.transform(transformer, texts))
    if isinstance(transformer, HashingVectorizer):
        return transformer.transform
    # Anything else, TfidfTransformer included (it weighs counts; it cannot start from text).
    return None


def _fast_weighting(step: Any) -> Callable[[Any], Any] | None:
    from sklearn.feature_extraction.text import TfidfTransformer

    if isinstance(step, TfidfTransformer):
        return _tfidf(step.sublinear_tf, getattr(step, "idf_", None) if step.use_idf else None, step.norm)
    return None


def _tfidf(sublinear: bool, idf: np.ndarray | None, norm: str | None) -> Callable[[Any], Any] | None:
    """TfidfTransformer.transform's arithmetic on a count matrix (same order of operations)."""
    if norm not in (None, "l1", "l2"):
        return None

    def weigh(X: Any) -> Any:
        X = sp.csr_matrix(X, copy=True)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if sublinear:
            np.log(X.data, X.data)
            X.data += 1.0
        if idf is not None:
            X.data *= idf[X.indices]
        if norm is not None:
            rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
            values = np.abs(X.data) if norm == "l1" else X.data * X.data
            totals = np.bincount(rows, weights=values, minlength=X.shape[0])
            totals = totals if norm == "l1" else np.sqrt(totals)
            totals[totals == 0] = 1.0
            X.data /= totals[rows].astype(X.dtype)
        return X
    return weigh


def fast_decision(classifier: Any) -> Decision | None:
    """features -> decision values, shape (n, k), equal to the classifier's ``decision_function``
    (one column per one-vs-rest label; one column for a binary model), or None if unsupported."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import LinearSVC

    linear = (LogisticRegression, LinearSVC, RidgeClassifier, SGDClassifier)
    if isinstance(classifier, OneVsRestClassifier):
        estimators = getattr(classifier, "estimators_", [])
        if not estimators or not all(isinstance(e, linear) for e in estimators):
            return None
        rows = [e.coef_ for e in estimators]
        intercept = np.concatenate([np.ravel(e.intercept_) for e in estimators])
        if any(sp.issparse(r) for r in rows):
            coef = sp.vstack([sp.csr_matrix(r) for r in rows], format="csc")
        else:
            coef = np.vstack([np.asarray(r).reshape(1, -1) for r in rows])
    elif isinstance(classifier, linear):
        coef, intercept = classifier.coef_, np.ravel(classifier.intercept_)
    else:
        return None
    if sp.issparse(coef):
        # Pruned models: (features x labels) row-major, so a text's few features pick a few rows.
        weights = sp.csr_matrix(coef.T)

        def decide_sparse(X: Any) -> np.ndarray:
            return np.asarray((sp.csr_matrix(X) @ weights).todense()) + intercept
        return decide_sparse
    # Column-major so coef.T is row-major: the product then needs no copy of the matrix per call.
    coef = np.asfortranarray(np.asarray(coef))

    def decide(X: Any) -> np.ndarray:
        return np.asarray(X @ coef.T) + intercept
    return decide
