"""Fit stage: the topic (one binary linear model per label, each with a tuned threshold) and tone
(multiclass linear model) pipelines.

Both pipelines share one TF-IDF vectorizer fitted on the training split only. A topic label's
tuned threshold is folded into its classifier's intercept, so the saved pipeline's plain
``predict`` applies it: an app with only scikit-learn and joblib gets the same labels as ours.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from features import build_vectorizer
from train.config import Config, TopicConfig, ToneConfig
from artclf.errors import ArtclfError
from train.data.augment import augment, make_augmenters
from train.progress import ProgressCallback, emit
from train.data.labels import topic_matrix
from train.data.split import iterative_stratification






@dataclass
class FittedModels:
    topic: Pipeline | None
    tone: Pipeline | None
    # label -> {"decision": float, "probability": float | None, "fold_thresholds": [...], ...}
    thresholds: dict[str, dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def shares_vectorizer(self) -> bool:
        """Both heads read one fitted vectorizer (so a loaded model transforms each text once)."""
        return self.topic is not None and self.tone is not None and self.topic.steps[0][1] is self.tone.steps[0][1]


def make_topic_classifier(config: TopicConfig, seed: int) -> Any:
    """The binary classifier cloned for each topic label."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    weight = "balanced" if config.class_weight == "balanced" else None
    if config.classifier == "linear_svc":
        return LinearSVC(C=config.C, class_weight=weight, random_state=seed)
    return LogisticRegression(C=config.C, class_weight=weight, max_iter=2000, random_state=seed)


def make_tone_classifier(config: ToneConfig, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    weight = "balanced" if config.class_weight == "balanced" else None
    if config.classifier == "linear_svc":
        return LinearSVC(C=config.C, class_weight=weight, random_state=seed)
    if config.classifier == "complement_nb":
        # ComplementNB has no class weights; its complement estimate already copes with imbalance.
        return ComplementNB(alpha=config.alpha)
    return LogisticRegression(C=config.C, class_weight=weight, max_iter=2000, random_state=seed)


def fit_tone_classifier(config: ToneConfig, seed: int, X: Any, tones: list[str]) -> Any:
    """The fitted tone classifier; the naive-Bayes-scaled options are fitted by train/fit/nbsvm.py."""
    if config.classifier in ("nb_svm", "nb_logreg"):
        from train.fit.nbsvm import fit_nb_linear

        base = dataclasses.replace(config, classifier="linear_svc" if config.classifier == "nb_svm" else "logreg")
        return fit_nb_linear(X, tones, lambda: make_tone_classifier(base, seed), config.nb_scale, config.nb_blend)
    return make_tone_classifier(config, seed).fit(X, tones)


def best_threshold(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The decision threshold that maximises F1 on (scores, y), and that F1.

    Among equally good thresholds the one nearest 0 (the model's own boundary) wins, which keeps
    thresholds from drifting to the extremes on small data.
    """
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return 0.0, float("nan")
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (positives + k)
    # Cutting after position k is only possible where the next score is strictly lower.
    valid = np.append(s[:-1] > s[1:], True)
    f1 = np.where(valid, f1, -1.0)
    cut_after = np.append(s[1:], s[-1] - 1.0)
    candidates = (s + cut_after) / 2
    best = f1.max()
    ties = np.flatnonzero(np.isclose(f1, best, rtol=0, atol=1e-12))
    choice = ties[np.argmin(np.abs(candidates[ties]))]
    return float(candidates[choice]), float(best)


def decision_scores(classifier: Any, X: Any) -> np.ndarray:
    """Per-label decision values of a fitted OneVsRestClassifier, shape (n, labels)."""
    columns = []
    for estimator in classifier.estimators_:
        if hasattr(estimator, "decision_function"):
            columns.append(np.asarray(estimator.decision_function(X), dtype=float).ravel())
        else:
            # A label constant in the training data: sklearn stores a constant predictor.
            p = np.clip(estimator.predict_proba(X)[:, 1], 1e-6, 1 - 1e-6)
            columns.append(np.log(p / (1 - p)))
    return np.column_stack(columns)


@dataclass
class OutOfFold:
    """Scores of every row from the fold model that did not see it (one cross-validation).

    ``topic_decision``: (n, labels) decision values; ``tone_proba``: (n, tones) probabilities in
    ``tone_labels`` order, or None when tone was not asked for; ``folds``: each row's fold.
    """

    folds: np.ndarray
    topic_decision: np.ndarray
    tone_proba: np.ndarray | None = None
    tone_labels: list[str] = field(default_factory=list)


def cross_validate(
    texts: Sequence[str], Y: np.ndarray, labels: Sequence[str], config: Config,
    groups: Sequence[int] | None = None, tones: Sequence[str] | None = None, progress: ProgressCallback | None = None,
) -> OutOfFold:
    """Out-of-fold topic decision values (and tone probabilities when ``tones`` is given).

    Rows in one group (an article and its short view) share a fold, so no article is scored by a
    model that saw a copy of it. Both heads are fitted on each fold's one vectorizer, as in
    training, so the threshold tuning and the label audit read the same cross-validation.
    """
    k = config.topic.threshold_folds
    n = len(set(groups)) if groups is not None else len(texts)
    if n < 2 * k:
        k = max(2, n // 2)
    # The folds depend on the topics only, so asking for tone as well changes no topic score: the
    # audit reads exactly the decision values threshold tuning reads.
    label_sets = [[labels[j] for j in np.flatnonzero(row)] for row in Y]
    folds = np.asarray(iterative_stratification(label_sets, [1.0] * k, config.train.seed, groups))
    oof = np.zeros(Y.shape, dtype=float)
    tone_labels = [t for t in config.labels.tone if tones is not None and t in set(tones)]
    tone_oof = np.zeros((len(texts), len(tone_labels))) if tones is not None else None
    tone_arr = np.asarray(tones, dtype=object) if tones is not None else None
    base = OneVsRestClassifier(make_topic_classifier(config.topic, config.train.seed))
    texts = np.asarray(texts, dtype=object)
    original = np.arange(len(texts)) == (np.asarray(groups) if groups is not None else np.arange(len(texts)))
    for fold in range(k):
        emit(progress, "thresholds", fold, k, unit="folds", message=f"fold {fold + 1} of {k}")
        held = folds == fold
        if held.all() or not held.any():
            continue
        vectorizer = build_vectorizer(config.features).fit(texts[~held & original])
        X_fit = vectorizer.transform(texts[~held])
        X_held = vectorizer.transform(texts[held])
        if Y.shape[1]:
            with _quiet_constant_labels():
                clf = clone(base).fit(X_fit, Y[~held])
            oof[held] = decision_scores(clf, X_held)
        if tone_oof is not None and tone_arr is not None:
            tone_clf = fit_tone_classifier(config.tone, config.train.seed, X_fit, list(tone_arr[~held]))
            tone_oof[held] = class_probabilities(tone_clf, X_held, tone_labels)
    emit(progress, "thresholds", k, k, unit="folds", message=f"{k} folds done")
    return OutOfFold(folds, oof, tone_oof, tone_labels)


def class_probabilities(classifier: Any, X: Any, classes: Sequence[str]) -> np.ndarray:
    """(n, len(classes)) probabilities of a fitted multiclass classifier, columns in ``classes``
    order; a class the classifier never saw gets 0. Margin classifiers get a softmax of their
    decision values (as ``ArticleModel`` scores them)."""
    known = [str(c) for c in classifier.classes_]
    if hasattr(classifier, "predict_proba"):
        p = np.asarray(classifier.predict_proba(X), dtype=float)
    else:
        d = np.asarray(classifier.decision_function(X), dtype=float)
        d = d if d.ndim == 2 else np.column_stack([-d, d])
        z = np.exp(d - d.max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
    out = np.zeros((p.shape[0], len(classes)))
    for j, c in enumerate(classes):
        if c in known:
            out[:, j] = p[:, known.index(c)]
    return out


def thresholds_from_oof(
    oof: OutOfFold, Y: np.ndarray, labels: Sequence[str], config: Config
) -> dict[str, dict[str, Any]]:
    """Per-label thresholds (and their fold spread) from out-of-fold decision values."""
    folds = oof.folds
    k = int(folds.max()) + 1 if len(folds) else 0
    out = {}
    for j, label in enumerate(labels):
        threshold, f1 = best_threshold(oof.topic_decision[:, j], Y[:, j])
        fallback = Y[:, j].sum() < 2 or np.isnan(f1) or f1 < config.topic.threshold_min_f1
        per_fold = []
        for fold in range(k):
            held = folds == fold
            if 0 < Y[held, j].sum() < held.sum():
                per_fold.append(round(best_threshold(oof.topic_decision[held, j], Y[held, j])[0], 4))
        out[label] = {
            "decision": 0.0 if fallback else round(threshold, 6),
            "oof_f1": None if np.isnan(f1) else round(f1, 4),
            # True: the tuned threshold was not trusted (see TopicConfig.threshold_min_f1).
            "fallback": bool(fallback),
            "tuned_decision": round(threshold, 6),
            "fold_thresholds": per_fold,
            "fold_std": round(float(np.std(per_fold)), 4) if per_fold else None,
            "folds": k,
        }
    return out


def tune_thresholds(
    texts: Sequence[str], Y: np.ndarray, labels: Sequence[str], config: Config, groups: Sequence[int] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-label thresholds from out-of-fold decision values on the training split."""
    return thresholds_from_oof(cross_validate(texts, Y, labels, config, groups, progress=progress), Y, labels, config)


@dataclass
class OutOfFoldProbabilities:
    """Out-of-fold probabilities of the original articles (short views dropped), for the label
    audit: ``topic`` (n, labels) per-label probabilities (logistic of the decision value; with a
    margin classifier, of the raw margin), ``topic_threshold`` each label's tuned threshold on the
    same scale, ``tone`` (n, tones) in ``tone_labels`` order."""

    topic: np.ndarray
    topic_threshold: np.ndarray
    tone: np.ndarray | None
    tone_labels: list[str]
    thresholds: dict[str, dict[str, Any]]


def out_of_fold_probabilities(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], config: Config
) -> OutOfFoldProbabilities:
    """One cross-validation, as training runs it (short views included, grouped with their
    article), giving out-of-fold probabilities for both tasks and the thresholds tuned on them."""
    from threadpoolctl import threadpool_limits

    labels = list(config.labels.topics)
    n = len(texts)
    groups = None
    augmenters = make_augmenters(config.augment)
    if augmenters:
        texts, topic_sets, tones, groups = augment(texts, topic_sets, tones, augmenters)
    Y = topic_matrix(topic_sets, labels)
    with threadpool_limits(limits=1, user_api="blas"):
        oof = cross_validate(texts, Y, labels, config, groups, list(tones) if config.labels.tone else None)
    thresholds = thresholds_from_oof(oof, Y, labels, config)
    sigmoid = lambda x: 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))  # noqa: E731
    return OutOfFoldProbabilities(
        topic=sigmoid(oof.topic_decision[:n]),
        topic_threshold=sigmoid([thresholds[label]["decision"] for label in labels]),
        tone=oof.tone_proba[:n] if oof.tone_proba is not None else None,
        tone_labels=oof.tone_labels,
        thresholds=thresholds,
    )


def fit_models(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], config: Config,
    progress: ProgressCallback | None = None,
) -> FittedModels:
    """Fit the configured pipelines on the training split (texts, topic label lists, tone names).

    A task whose label list is empty in the config is skipped (its pipeline is None). ``progress``
    hears each stage as it starts (featurize, thresholds with fold counts, fit); nothing is printed.
    """
    from threadpoolctl import threadpool_limits

    # These sparse linear fits gain nothing from threaded BLAS, and on a busy machine its spinning
    # threads made one tone fit take 5.7 s instead of 0.06 s (measured on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_models(texts, topic_sets, tones, config, progress)


def _fit_models(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], config: Config, progress: ProgressCallback | None
) -> FittedModels:
    labels = list(config.labels.topics)
    if len(texts) < 4:
        raise ArtclfError(f"only {len(texts)} training article(s); at least 4 are needed to train")
    if config.labels.tone and len(set(tones)) < 2:
        raise ArtclfError(f"the training split has only one tone ({tones[0]}); label more articles")
    timings: dict[str, Any] = {}
    originals = list(texts)
    groups = None
    augmenters = make_augmenters(config.augment)
    if augmenters:
        texts, topic_sets, tones, groups = augment(texts, topic_sets, tones, augmenters)
        timings["augmented_views"] = len(texts) - len(originals)

    start = time.perf_counter()
    emit(progress, "featurize", message=f"TF-IDF on {len(originals)} training articles" + (f" (+{len(texts) - len(originals)} short views)" if len(texts) != len(originals) else ""))
    vectorizer = build_vectorizer(config.features)
    try:
        # Vocabulary and IDF come from the articles themselves; a short view is not a new document.
        if len(texts) == len(originals):
            # One pass over the text instead of two (fit, then transform): the same matrix.
            X = vectorizer.fit_transform(originals)
        else:
            vectorizer.fit(originals)
            X = vectorizer.transform(list(texts))
    except ValueError as exc:
        f = config.features
        if f.hash_bits == 0 and f.min_df > f.max_df * len(originals):
            # Only known once the training split's size is: name both keys rather than echo sklearn.
            raise ArtclfError(
                f"features.min_df ({f.min_df} articles) is more than features.max_df ({f.max_df} of "
                f"{len(originals)} training articles); lower min_df or raise max_df"
            ) from None
        raise ArtclfError(f"cannot build features from the training text ({exc}); check the [features] settings") from None
    timings["vectorize_s"] = round(time.perf_counter() - start, 3)

    topic, thresholds = None, {}
    if labels and config.topic.mode == "multiclass":
        # One category per article: one softmax (or one-vs-rest SVM) model over the topics, no thresholds.
        categories = [t[0] if len(t) == 1 else "" for t in topic_sets]
        if "" in categories or len(set(categories)) < 2:
            raise ArtclfError('topic.mode = "multiclass" needs exactly one topic per training article and at least '
                              f"two topics among them (found: {', '.join(sorted(set(categories) - {''})) or 'none'})")
        start = time.perf_counter()
        emit(progress, "fit", message=f"topic model (multiclass, {len(set(categories))} topics)")
        topic_clf = make_topic_classifier(config.topic, config.train.seed).fit(X, categories)
        timings["fit_topic_s"] = round(time.perf_counter() - start, 3)
        topic = Pipeline([("tfidf", vectorizer), ("clf", topic_clf)])
    elif labels:
        Y = topic_matrix(topic_sets, labels)
        start = time.perf_counter()
        if config.topic.thresholds == "tuned":
            thresholds = tune_thresholds(texts, Y, labels, config, groups, progress)
        else:
            thresholds = {label: {"decision": 0.0, "oof_f1": None, "fold_thresholds": [], "fold_std": None, "folds": 0} for label in labels}
        timings["tune_thresholds_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        emit(progress, "fit", message=f"topic model ({len(labels)} labels)")
        with _quiet_constant_labels():
            topic_clf = OneVsRestClassifier(make_topic_classifier(config.topic, config.train.seed)).fit(X, Y)
        for estimator, label in zip(topic_clf.estimators_, labels):
            if hasattr(estimator, "intercept_"):
                # Predict positive when decision > threshold  <=>  (decision - threshold) > 0.
                estimator.intercept_ = estimator.intercept_ - thresholds[label]["decision"]
            if config.topic.classifier == "logreg":
                thresholds[label]["probability"] = round(float(1 / (1 + np.exp(-thresholds[label]["decision"]))), 6)
        timings["fit_topic_s"] = round(time.perf_counter() - start, 3)
        topic = Pipeline([("tfidf", vectorizer), ("clf", topic_clf)])

    tone = None
    if config.labels.tone:
        start = time.perf_counter()
        emit(progress, "fit", message=f"tone model ({config.tone.classifier})")
        tone_clf = fit_tone_classifier(config.tone, config.train.seed, X, list(tones))
        timings["fit_tone_s"] = round(time.perf_counter() - start, 3)
        missing = sorted(set(config.labels.tone) - set(tones))
        if missing:
            timings["tones_missing_from_train"] = missing
        tone = Pipeline([("tfidf", vectorizer), ("clf", tone_clf)])

    for pipeline in (topic, tone):
        if pipeline is not None:
            compact_classifier(pipeline[-1], config.train.coef_dtype, config.train.keep_weights)
    return FittedModels(topic=topic, tone=tone, thresholds=thresholds, timings=timings)


def compact_classifier(classifier: Any, coef_dtype: str = "float64", keep_weights: float = 1.0) -> None:
    """Shrink a fitted linear classifier (or OneVsRest of them) in place for saving.

    Keeps the ``keep_weights`` fraction of each model's non-zero weights with the largest
    magnitude and zeroes the rest. ``float32`` halves what is left; pruned float32 weights are
    stored in a column-compressed sparse ``coef_`` (as scikit-learn's own ``sparsify()`` does, but
    CSC: a CSR ``coef_`` makes every ``decision_function`` call convert the whole matrix, 3.7 ms
    per article on 20 Newsgroups). Other compacted coefficients stay dense but column-major:
    ``decision_function`` multiplies by ``coef_.T``, which scipy would otherwise copy on every call.
    Estimators without ``coef_`` (ComplementNB, constant predictors) are left alone.
    """
    estimators = getattr(classifier, "estimators_", None) or [classifier]
    dtype = np.float32 if coef_dtype == "float32" else np.float64
    for estimator in estimators:
        coef = getattr(estimator, "coef_", None)
        if coef is None or not isinstance(coef, np.ndarray):
            continue
        coef = coef.astype(dtype)
        if keep_weights < 1.0:
            magnitude = np.abs(coef[coef != 0])
            keep = int(np.ceil(keep_weights * magnitude.size))
            if 0 < keep < magnitude.size:
                cutoff = np.partition(magnitude, magnitude.size - keep)[magnitude.size - keep]
                coef[np.abs(coef) < cutoff] = 0
        if keep_weights < 1.0 and dtype == np.float32:
            # Column-compressed sparse: coef_.T is then row-compressed, which scikit-learn's
            # decision_function multiplies without converting (as fast as dense per article), and
            # the file holds only the kept weights (a pruned 20-class 2**20-column model: 84 MB
            # dense in memory, 3.7 MB sparse; skops loads it in 0.02 s instead of 0.3-0.4 s).
            # float32 only: scikit-learn multiplies sparse by sparse only at one dtype, and the
            # features are float32.
            estimator.coef_ = sp.csc_matrix(coef)
        else:
            # Only when asked to compact: the default model stays bit-for-bit what the solver produced.
            compacted = coef_dtype != "float64" or keep_weights < 1.0
            estimator.coef_ = np.asfortranarray(coef) if compacted else coef
        estimator.intercept_ = np.asarray(estimator.intercept_, dtype=dtype)


class _quiet_constant_labels:
    """Silence OneVsRest's warning for a label absent from a (small) fold; we handle it."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
