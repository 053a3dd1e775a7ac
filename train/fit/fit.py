"""Fit stage: the topic (one binary linear model per label, each with a tuned threshold) and tone
(multiclass linear model) pipelines.

Both pipelines share one TF-IDF vectorizer fitted on the training split only. A topic label's
tuned threshold is folded into its classifier's intercept, so the saved pipeline's plain
``predict`` applies it: an app with only scikit-learn and joblib gets the same labels as ours.
"""

from __future__ import annotations

import dataclasses
import re
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
from train.data.augment import augment_with_sources, make_augmenters
from train.progress import ProgressCallback, emit
from train.data.labels import topic_matrix
from train.data.split import iterative_stratification
from train.fit.calibrate import best_threshold  # noqa: F401  (re-exported: the threshold tuner's own cut)






@dataclass
class FittedModels:
    topic: Pipeline | None
    tone: Pipeline | None
    # label -> {"decision": float, "probability": float | None, "fold_thresholds": [...], ...}
    thresholds: dict[str, dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    # {"method", "topic": {label: map}, "tone": map}: see artclf/calibration.py.
    calibration: dict[str, Any] = field(default_factory=dict)

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

    ``topic_decision``: (n, labels) decision values, or None when no topic matrix was given;
    ``tone_proba``: (n, tones) probabilities in ``tone_labels`` order, or None when tone was not
    asked for; ``folds``: each row's fold. The ``evidence_*`` fields hold the scores of
    low-evidence views (one or two title words, or only stop words) of held-out articles: the row
    of their article, their fold, and their scores (None unless asked for).
    """

    folds: np.ndarray
    topic_decision: np.ndarray | None
    tone_proba: np.ndarray | None = None
    tone_labels: list[str] = field(default_factory=list)
    evidence_rows: np.ndarray | None = None
    evidence_folds: np.ndarray | None = None
    evidence_topic: np.ndarray | None = None
    evidence_tone: np.ndarray | None = None


def evidence_views(text: str, seed: int) -> list[str]:
    """Texts with too little evidence made from an article's title: one informative word, two
    (in title order), and its stop words alone, as a user typing a word or two would send."""
    import random

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from artclf.text import leading_paragraphs

    words = re.findall(r"(?u)\b\w\w+\b", leading_paragraphs(text, 1).lower())
    informative = list(dict.fromkeys(w for w in words if w not in ENGLISH_STOP_WORDS and not w.isdigit()))
    stop = [w for w in words if w in ENGLISH_STOP_WORDS]
    rng = random.Random(seed)
    views = []
    if informative:
        views.append(rng.choice(informative))
    if len(informative) >= 2:
        a, b = sorted(rng.sample(range(len(informative)), 2))
        views.append(f"{informative[a]} {informative[b]}")
    if stop:
        views.append(" ".join(stop[:3]))
    return views


def wants_evidence(config: Config) -> bool:
    """Whether training fits low-evidence maps (and so scores low-evidence views out of fold)."""
    return config.calibration.method != "none" and config.calibration.min_evidence > 0


def cross_validate(
    texts: Sequence[str], Y: np.ndarray | None, labels: Sequence[str], config: Config,
    groups: Sequence[int] | None = None, tones: Sequence[str] | None = None, progress: ProgressCallback | None = None,
    tone_rows: Sequence[bool] | None = None, evidence: bool = False,
) -> OutOfFold:
    """Out-of-fold topic decision values (and tone probabilities when ``tones`` is given).

    Rows in one group (an article and its views) share a fold, so no article is scored by a
    model that saw a copy of it. Both heads are fitted on each fold's one vectorizer, as in
    training, so the threshold tuning, the calibration maps and the label audit read the same
    cross-validation. ``tone_rows``: the rows the tone head may train on (no title-only views).
    ``evidence``: also score low-evidence views of each held-out article (for the low-evidence maps).
    """
    k = config.topic.threshold_folds
    n = len(set(groups)) if groups is not None else len(texts)
    if n < 2 * k:
        k = max(2, n // 2)
    # The folds depend on the topics only, so asking for tone as well changes no topic score: the
    # audit reads exactly the decision values threshold tuning reads. A tone-only model stratifies on tones.
    if Y is not None:
        label_sets = [[labels[j] for j in np.flatnonzero(row)] for row in Y]
    else:
        label_sets = [[t] for t in tones or []]
    folds = np.asarray(iterative_stratification(label_sets, [1.0] * k, config.train.seed, groups))
    oof = np.zeros(Y.shape, dtype=float) if Y is not None else None
    tone_labels = [t for t in config.labels.tone if tones is not None and t in set(tones)]
    tone_labels += sorted(set(tones or []) - set(tone_labels))
    tone_oof = np.zeros((len(texts), len(tone_labels))) if tones is not None else None
    tone_arr = np.asarray(tones, dtype=object) if tones is not None else None
    base = OneVsRestClassifier(make_topic_classifier(config.topic, config.train.seed))
    texts = np.asarray(texts, dtype=object)
    original = np.arange(len(texts)) == (np.asarray(groups) if groups is not None else np.arange(len(texts)))
    ev_rows: list[int] = []
    ev_texts: list[str] = []
    if evidence:
        for i in np.flatnonzero(original):
            for view in evidence_views(str(texts[i]), config.train.seed * 1_000_003 + int(i)):
                ev_rows.append(int(i))
                ev_texts.append(view)
    ev_rows_a = np.asarray(ev_rows, dtype=int)
    ev_folds = folds[ev_rows_a] if ev_rows else np.zeros(0, dtype=int)
    ev_topic = np.zeros((len(ev_rows), Y.shape[1])) if Y is not None and evidence else None
    ev_tone = np.zeros((len(ev_rows), len(tone_labels))) if tones is not None and evidence else None
    ev_text_array = np.asarray(ev_texts, dtype=object)
    for fold in range(k):
        emit(progress, "thresholds", fold, k, unit="folds", message=f"fold {fold + 1} of {k}")
        held = folds == fold
        if held.all() or not held.any():
            continue
        ev_held = ev_folds == fold
        vectorizer = build_vectorizer(config.features).fit(texts[~held & original])
        X_fit = vectorizer.transform(texts[~held])
        X_held = vectorizer.transform(texts[held])
        X_ev = vectorizer.transform(list(ev_text_array[ev_held])) if ev_held.any() else None
        if oof is not None and Y is not None and Y.shape[1]:
            with _quiet_constant_labels():
                clf = clone(base).fit(X_fit, Y[~held])
            oof[held] = decision_scores(clf, X_held)
            if ev_topic is not None and X_ev is not None:
                ev_topic[ev_held] = decision_scores(clf, X_ev)
        if tone_oof is not None and tone_arr is not None:
            tone_fit = ~held & (np.asarray(tone_rows, dtype=bool) if tone_rows is not None else True)
            fold_tones = [str(t) for t in tone_arr[tone_fit]]
            if len(set(fold_tones)) < 2:
                tone_oof[held] = 1.0 / len(tone_labels)
                if ev_tone is not None:
                    ev_tone[ev_held] = 1.0 / len(tone_labels)
                continue
            X_tone = X_fit if tone_rows is None else vectorizer.transform(texts[tone_fit])
            tone_clf = fit_tone_classifier(config.tone, config.train.seed, X_tone, fold_tones)
            tone_oof[held] = class_probabilities(tone_clf, X_held, tone_labels)
            if ev_tone is not None and X_ev is not None:
                ev_tone[ev_held] = class_probabilities(tone_clf, X_ev, tone_labels)
    emit(progress, "thresholds", k, k, unit="folds", message=f"{k} folds done")
    if not evidence or not ev_rows:
        return OutOfFold(folds, oof, tone_oof, tone_labels)
    return OutOfFold(folds, oof, tone_oof, tone_labels, ev_rows_a, ev_folds, ev_topic, ev_tone)


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


def tune_thresholds(
    texts: Sequence[str], Y: np.ndarray, labels: Sequence[str], config: Config, groups: Sequence[int] | None = None,
    progress: ProgressCallback | None = None, oof: OutOfFold | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-label thresholds (and calibration maps) from out-of-fold decision values on the
    training split; see :func:`thresholds_from_oof`."""
    if oof is None:
        oof = cross_validate(texts, Y, labels, config, groups, progress=progress)
    return thresholds_from_oof(oof, Y, labels, config)


def thresholds_from_oof(oof: OutOfFold, Y: np.ndarray, labels: Sequence[str], config: Config) -> dict[str, dict[str, Any]]:
    """Per label, from out-of-fold decision values: the calibration map (``[calibration] method``),
    the threshold on its probability scale (best out-of-fold F1, or ``topic.precision_target``),
    and that threshold as a raw decision value (``decision``, folded into the intercept by the
    caller), with its spread across folds. ``thresholds = "fixed"`` keeps the classifier's own cut
    (decision 0); so does a label whose tuned cut reached under ``topic.threshold_min_f1``
    out-of-fold F1 (``fallback``)."""
    from train.fit.calibrate import choose_map, decision_at, folded, probability_cut

    assert oof.topic_decision is not None
    method = config.calibration.method
    folds, k = oof.folds, int(oof.folds.max()) + 1 if len(oof.folds) else 0
    out = {}
    for j, label in enumerate(labels):
        d, y = oof.topic_decision[:, j], Y[:, j].astype(float)
        degenerate = y.sum() < 2 or y.sum() > len(y) - 2
        if method == "none" or degenerate:
            raw, losses = {"kind": "platt", "a": 1.0, "b": 0.0}, {}
        else:
            raw, losses = choose_map(d, y, folds, method)
        p = _probabilities(d, raw)
        cut, f1, details = probability_cut(p, y, config.topic.precision_target)
        if degenerate:
            f1 = float("nan")
        tuned = decision_at(raw, cut)
        fallback = (config.topic.thresholds == "fixed" or y.sum() < 2 or np.isnan(f1) or f1 < config.topic.threshold_min_f1)
        decision = 0.0 if fallback else tuned
        per_fold = []
        for fold in range(k):
            held = folds == fold
            if 0 < y[held].sum() < held.sum():
                per_fold.append(round(probability_cut(p[held], y[held], config.topic.precision_target)[0], 4))
        # "none": the threshold-adjusted sigmoid with cut 0.5, as before calibration existed.
        mapped = folded(raw, decision) if method != "none" else {"kind": "platt", "a": 1.0, "b": 0.0, "threshold": 0.5}
        out[label] = {
            "decision": round(decision, 6) if not fallback else 0.0,
            "probability": round(mapped["threshold"], 6),
            "oof_f1": None if np.isnan(f1) else round(f1, 4),
            # True: the tuned threshold was not trusted (see TopicConfig.threshold_min_f1).
            "fallback": bool(fallback) and config.topic.thresholds != "fixed",
            "tuned_decision": round(tuned, 6),
            "tuned_probability": round(cut, 6),
            "fold_thresholds": per_fold,
            "fold_std": round(float(np.std(per_fold)), 4) if per_fold else None,
            "folds": k if config.topic.thresholds == "tuned" else 0,
            "calibration": {key: value for key, value in mapped.items()},
            "calibration_log_loss": losses,
            **details,
        }
        # The map is stored once, exactly; the decision actually folded is the unrounded one.
        out[label]["_decision_exact"] = decision
        if oof.evidence_topic is not None and oof.evidence_rows is not None and method != "none":
            y_e = y[oof.evidence_rows]
            d_e = oof.evidence_topic[:, j]
            if 2 <= y_e.sum() <= len(y_e) - 2:
                raw_e, losses_e = choose_map(d_e, y_e, oof.evidence_folds, "platt" if method == "auto" else method)
                low = folded(raw_e, decision)
                # One threshold per label: a low-evidence text needs the same probability.
                low["threshold"] = mapped["threshold"]
                out[label]["_evidence_map"] = low
                out[label]["evidence_calibration_log_loss"] = losses_e
    return out


# i18's name for the same function.
calibrate_topics = thresholds_from_oof


def _probabilities(d: np.ndarray, raw: dict[str, Any]) -> np.ndarray:
    from artclf.calibration import binary_probability

    return binary_probability(d, raw)


def calibrate_tone(oof: OutOfFold, tones: Sequence[str], config: Config, rows: Sequence[bool] | None = None) -> dict[str, Any] | None:
    """The tone map (temperature scaling on out-of-fold probabilities), or None for method none.
    ``rows``: the rows to fit it on (those the tone head trains on: no title-only views)."""
    from train.fit.calibrate import class_indices, fit_temperature, tone_log_loss

    if config.calibration.method == "none" or oof.tone_proba is None:
        return None
    y = class_indices([str(t) for t in tones], oof.tone_labels)
    use = np.asarray(rows, dtype=bool) if rows is not None else np.ones(len(y), dtype=bool)
    scale = fit_temperature(oof.tone_proba[use], y[use])
    from artclf.calibration import temper

    spec = {"kind": "temperature", "scale": round(scale, 6)}
    out = {**spec, "oof_log_loss": {"uncalibrated": round(tone_log_loss(oof.tone_proba, y), 5),
                                    "temperature": round(tone_log_loss(temper(oof.tone_proba, spec), y), 5)}}
    if oof.evidence_tone is not None and oof.evidence_rows is not None and len(oof.evidence_tone):
        y_e = y[oof.evidence_rows]
        out["evidence"] = {"kind": "temperature", "scale": round(fit_temperature(oof.evidence_tone, y_e), 6)}
    return out


@dataclass
class OutOfFoldProbabilities:
    """Out-of-fold probabilities of the original articles (short and headline views dropped), for
    the label audit: ``topic`` (n, labels) per-label probabilities as the saved model reports them
    (the label's calibration map on the threshold-folded decision value; ``calibration.method =
    "none"``: its logistic), ``topic_threshold`` each label's threshold on the same scale, ``tone``
    (n, tones) in ``tone_labels`` order (temperature-scaled unless method none)."""

    topic: np.ndarray
    topic_threshold: np.ndarray
    tone: np.ndarray | None
    tone_labels: list[str]
    thresholds: dict[str, dict[str, Any]]


def training_rows(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], config: Config
) -> tuple[Sequence[str], Sequence[Sequence[str]], Sequence[str], list[int] | None, list[bool] | None]:
    """The rows a fit (and its cross-validation) trains on: the articles plus the views the
    config's augmenters add, with each row's group (its article) and whether it trains tone;
    groups and tone rows are None without augmentation."""
    augmenters = make_augmenters(config.augment)
    if not augmenters:
        return texts, topic_sets, tones, None, None
    return augment_with_sources(texts, topic_sets, tones, augmenters)


def out_of_fold_probabilities(
    texts: Sequence[str], topic_sets: Sequence[Sequence[str]], tones: Sequence[str], config: Config
) -> OutOfFoldProbabilities:
    """One cross-validation, as training runs it (views included, grouped with their article),
    giving out-of-fold probabilities for both tasks and the thresholds and maps fitted on them."""
    from threadpoolctl import threadpool_limits

    from artclf.calibration import binary_probability, temper

    labels = list(config.labels.topics)
    n = len(texts)
    texts, topic_sets, tones, groups, tone_rows = training_rows(texts, topic_sets, tones, config)
    Y = topic_matrix(topic_sets, labels)
    with threadpool_limits(limits=1, user_api="blas"):
        oof = cross_validate(texts, Y, labels, config, groups, list(tones) if config.labels.tone else None, tone_rows=tone_rows)
    thresholds = thresholds_from_oof(oof, Y, labels, config)
    assert oof.topic_decision is not None
    topic = np.zeros((n, len(labels)))
    for j, label in enumerate(labels):
        t = thresholds[label]
        topic[:, j] = binary_probability(oof.topic_decision[:n, j] - t.pop("_decision_exact"), t["calibration"])
        t.pop("_evidence_map", None)
    tone = None
    if oof.tone_proba is not None:
        tone_map = calibrate_tone(oof, tones, config, tone_rows)
        tone = temper(oof.tone_proba[:n], tone_map)
    return OutOfFoldProbabilities(
        topic=topic,
        topic_threshold=np.array([thresholds[label]["calibration"]["threshold"] for label in labels], dtype=float),
        tone=tone,
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
    texts, topic_sets, tones, groups, tone_rows = training_rows(texts, topic_sets, tones, config)
    if groups is not None:
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
    calibration: dict[str, Any] = {"method": config.calibration.method}
    oof: OutOfFold | None = None
    want_tone_oof = bool(config.labels.tone) and config.calibration.method != "none"
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
        if config.topic.thresholds == "tuned" or config.calibration.method != "none":
            if oof is None:
                oof = cross_validate(texts, Y, labels, config, groups, list(tones) if want_tone_oof else None, progress,
                                     tone_rows, wants_evidence(config))
            thresholds = thresholds_from_oof(oof, Y, labels, config)
        else:
            thresholds = {label: {"decision": 0.0, "probability": 0.5, "oof_f1": None, "fold_thresholds": [], "fold_std": None,
                                  "folds": 0, "calibration": {"kind": "platt", "a": 1.0, "b": 0.0, "threshold": 0.5},
                                  "_decision_exact": 0.0} for label in labels}
        timings["tune_thresholds_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        emit(progress, "fit", message=f"topic model ({len(labels)} labels)")
        with _quiet_constant_labels():
            topic_clf = OneVsRestClassifier(make_topic_classifier(config.topic, config.train.seed)).fit(X, Y)
        for estimator, label in zip(topic_clf.estimators_, labels):
            exact = thresholds[label].pop("_decision_exact")
            if hasattr(estimator, "intercept_"):
                # Predict positive when decision > threshold  <=>  (decision - threshold) > 0.
                estimator.intercept_ = estimator.intercept_ - exact
            else:
                # A constant predictor (label constant in training): its score is not calibrated.
                thresholds[label]["calibration"] = {"kind": "platt", "a": 1.0, "b": 0.0, "threshold": 0.5}
                thresholds[label]["probability"] = 0.5
        calibration["topic"] = {}
        evidence_maps = {}
        for label in labels:
            calibration["topic"][label] = thresholds[label].pop("calibration")
            thresholds[label]["calibration"] = calibration["topic"][label]["kind"]
            low = thresholds[label].pop("_evidence_map", None)
            if low is not None and hasattr(topic_clf.estimators_[labels.index(label)], "intercept_"):
                evidence_maps[label] = low
        if evidence_maps:
            calibration["evidence"] = {"min_terms": config.calibration.min_evidence, "stop_words": _stop_words(),
                                       "topic": evidence_maps}
        timings["fit_topic_s"] = round(time.perf_counter() - start, 3)
        topic = Pipeline([("tfidf", vectorizer), ("clf", topic_clf)])

    tone = None
    if config.labels.tone:
        start = time.perf_counter()
        emit(progress, "fit", message=f"tone model ({config.tone.classifier})")
        if tone_rows is not None and not all(tone_rows):
            keep = np.flatnonzero(tone_rows)
            tone_clf = fit_tone_classifier(config.tone, config.train.seed, X[keep], [tones[i] for i in keep])
        else:
            tone_clf = fit_tone_classifier(config.tone, config.train.seed, X, list(tones))
        timings["fit_tone_s"] = round(time.perf_counter() - start, 3)
        missing = sorted(set(config.labels.tone) - set(tones))
        if missing:
            timings["tones_missing_from_train"] = missing
        tone = Pipeline([("tfidf", vectorizer), ("clf", tone_clf)])
        if want_tone_oof:
            start = time.perf_counter()
            if oof is None or oof.tone_proba is None:
                oof = cross_validate(texts, None, labels, config, groups, list(tones), progress, tone_rows, wants_evidence(config))
            tone_map = calibrate_tone(oof, tones, config, tone_rows)
            if tone_map is not None:
                low_tone = tone_map.pop("evidence", None)
                calibration["tone"] = tone_map
                if low_tone is not None:
                    calibration.setdefault("evidence", {"min_terms": config.calibration.min_evidence,
                                                        "stop_words": _stop_words(), "topic": {}})["tone"] = low_tone
            timings["calibrate_tone_s"] = round(time.perf_counter() - start, 3)

    for pipeline in (topic, tone):
        if pipeline is not None:
            compact_classifier(pipeline[-1], config.train.coef_dtype, config.train.keep_weights)
    return FittedModels(topic=topic, tone=tone, thresholds=thresholds, timings=timings, calibration=calibration)


def _stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS)


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
