"""Fit stage, tone head options ``nb_svm`` and ``nb_logreg``: linear models on naive-Bayes-scaled
features, optionally blended with multinomial naive Bayes (after Wang & Manning 2012, "Baselines
and bigrams").

For each class k, every feature is scaled by |r_k|^p, where r_k is its naive-Bayes log-count ratio
(class k against the rest, from document frequencies), and a binary LinearSVC (or logistic
regression) is fitted on the scaled features. Scaling a feature's column by s and then learning weight w is the same linear
function as weight w * s on the unscaled column, so the scaling is folded into the coefficients;
so is the naive-Bayes blend (its per-class log probabilities are linear in the features too). The
result is a stock ``LinearSVC`` (or ``LogisticRegression``) whose ``coef_`` and ``intercept_`` hold
the combined model: it pickles, loads and predicts without this repository. Its classes are scored
one-vs-rest, so a logistic model's probabilities are a softmax over those scores.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

# Smoothing for the log-count ratios (document counts, as in NBSVM) and for the naive-Bayes
# blend's per-class TF-IDF mass.
RATIO_ALPHA = 1.0
BLEND_ALPHA = 0.01


def fit_nb_linear(X: Any, y: Sequence[str], make: Callable[[], Any], scale_power: float, blend: float) -> Any:
    """The classifier ``make()`` builds (a LinearSVC or LogisticRegression), fitted attributes set,
    scoring like NB-scaled one-vs-rest copies of it plus ``blend`` times naive Bayes.
    ``scale_power`` 0 and ``blend`` 0 give plain one-vs-rest models."""
    X = sp.csr_matrix(X)
    classes, codes = np.unique(np.asarray(y, dtype=object).astype(str), return_inverse=True)
    if len(classes) < 2:
        raise ValueError("nb_svm needs at least two classes in the training data")
    # Hashed features leave most columns empty: fit in the space of the columns training uses.
    seen = np.unique(X.indices)
    remap = np.full(X.shape[1], -1, dtype=np.int64)
    remap[seen] = np.arange(len(seen))
    Xs = sp.csr_matrix((X.data.astype(np.float64), remap[X.indices], X.indptr), shape=(X.shape[0], len(seen)))
    present = sp.csr_matrix((np.ones(Xs.nnz), Xs.indices, Xs.indptr), shape=Xs.shape)
    members = sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(classes), len(codes)))
    doc_freq = np.asarray((members @ present).todense())
    mass = np.asarray((members @ Xs).todense())

    # Binary problems are one SVM (for classes[1], as LinearSVC stores them); else one per class.
    targets = [1] if len(classes) == 2 else list(range(len(classes)))
    W = np.zeros((len(targets), len(seen)))
    b = np.zeros(len(targets))
    total = doc_freq.sum(axis=0)
    for row, k in enumerate(targets):
        scale = np.ones(len(seen))
        if scale_power:
            inside, outside = doc_freq[k] + RATIO_ALPHA, total - doc_freq[k] + RATIO_ALPHA
            ratio = np.log((inside / inside.sum()) / (outside / outside.sum()))
            scale = np.abs(ratio) ** scale_power
            scale /= scale.mean()
        scaled = sp.csr_matrix((Xs.data * scale[Xs.indices], Xs.indices, Xs.indptr), shape=Xs.shape)
        with warnings.catch_warnings():
            # Convergence warnings at the default tolerance; the fit is still the model.
            warnings.simplefilter("ignore")
            fitted = make().fit(scaled, (codes == k).astype(int))
        W[row] = fitted.coef_[0] * scale
        b[row] = fitted.intercept_[0]
    if blend:
        log_prob = np.log((mass + BLEND_ALPHA) / (mass + BLEND_ALPHA).sum(axis=1, keepdims=True))
        log_prob -= log_prob.mean(axis=0)
        nb = log_prob[targets] if len(classes) > 2 else (log_prob[1] - log_prob[0])[None, :]
        # Put naive Bayes on the SVMs' scale, measured on the training decisions only.
        spread = np.std(Xs @ nb.T)
        W += blend * (np.std(Xs @ W.T) / spread if spread > 0 else 0.0) * nb

    coef = np.zeros((len(targets), X.shape[1]))
    coef[:, seen] = W
    model = make()
    model.coef_, model.intercept_ = coef, b
    model.classes_ = classes
    model.n_features_in_ = X.shape[1]
    model.n_iter_ = 0
    return model
