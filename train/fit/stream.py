"""Fit stage, out of core: the topic and tone models from a dataset on disk, in flat memory.

``fit_stream`` never holds the training split: it reads it from the saved Arrow dataset in
batches, in a seeded random order.

1. **Featurize** (one pass): each batch (and its short views) is hashed (``HashingVectorizer``,
   stateless) into term counts, which are spilled to a temporary folder as sparse chunks, and the
   document frequencies for IDF are counted from the articles (not their views), as memory mode
   fits its vectorizer on the articles only. Label counts come from the same pass.
2. **Fit** (``train.stream_epochs`` passes over the spilled chunks, in a new random order each
   epoch, rows shuffled within each chunk): ``SGDClassifier.partial_fit`` with the logistic loss
   (scores are probabilities), one binary model per topic and one multiclass (one-vs-rest) tone
   model; ``class_weight = "balanced"`` becomes the weights that the counts of pass 1 give.
3. **Thresholds**: a seeded ``train.stream_holdout`` share of the training articles (with their
   views) is held out of the fit; each topic's threshold is the F1-best cut of its decision values
   there (``fit.best_threshold``, with the same fallback as memory mode), folded into the intercept.

The result is an ordinary :class:`FittedModels` of stock scikit-learn objects: the hashed
vectorizer ``features.build_vectorizer`` makes (HashingVectorizer + TfidfTransformer with the
streamed IDF), a ``OneVsRestClassifier`` of ``SGDClassifier`` and an ``SGDClassifier``, so the
version it becomes loads, evaluates and explains like any other. The spill folder is a
``.tmp-PID-*`` folder of the models directory: removed when the fit ends or fails (Ctrl-C
included), and by the version store's stale-folder cleanup after a SIGKILL.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import scipy.sparse as sp

from artclf.errors import ArtclfError, ConfigError
from features import build_vectorizer
from train.config import Config
from train.data.augment import augment, make_augmenters
from train.data.dataset import open_split
from train.fit.fit import FittedModels, best_threshold, compact_classifier
from train.progress import ProgressCallback, emit

__all__ = ["STREAM_HASH_BITS", "fit_stream", "stream_features"]

# Hashed columns when the config asks for a vocabulary (hash_bits = 0): a vocabulary needs the
# whole corpus in memory, which is what stream mode avoids. 2**20 is the benchmarks' best setting.
STREAM_HASH_BITS = 20
MAX_STREAM_CLASS_WEIGHT = 10.0


def stream_features(config: Config) -> Any:
    """The [features] section stream mode uses: the config's, hashed (``hash_bits`` 0 -> 20)."""
    f = config.features
    if f.lead_chars or f.char_ngrams:
        raise ConfigError("train.mode = \"stream\" supports the word branch only; set features.lead_chars = 0 and "
                          "features.char_ngrams = false, or train in memory mode")
    return dataclasses.replace(f, hash_bits=f.hash_bits or STREAM_HASH_BITS)


class _Spill:
    """Sparse count chunks written to a temporary folder and read back in any order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.chunks: list[int] = []

    def write(self, X: sp.csr_matrix, Y: np.ndarray, tones: np.ndarray) -> None:
        k = len(self.chunks)
        np.savez(self.folder / f"chunk-{k:05d}.npz", data=X.data, indices=X.indices, indptr=X.indptr,
                 shape=np.array(X.shape), Y=Y, tones=tones)
        self.chunks.append(X.shape[0])

    def read(self, k: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        with np.load(self.folder / f"chunk-{k:05d}.npz") as z:
            X = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
            return X, z["Y"], z["tones"]


def _batches(ds: Any, rows: np.ndarray, size: int) -> Iterator[dict[str, list[Any]]]:
    for start in range(0, len(rows), size):
        # Sorted within the batch: Arrow gathers runs faster, and the chunk is shuffled later.
        yield ds[np.sort(rows[start : start + size]).tolist()]


def fit_stream(dataset_path: Path, config: Config, progress: ProgressCallback | None = None) -> tuple[FittedModels, int]:
    """Fit both heads from the ``train`` split of a saved dataset; returns the models and the
    number of training articles."""
    features = stream_features(config)
    models_dir = Path(config.train.models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    spill_dir = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", suffix="-stream", dir=models_dir))
    try:
        with open_split(dataset_path, "train") as ds:
            return _fit(ds, config, features, _Spill(spill_dir), progress)
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)


def _fit(ds: Any, config: Config, features: Any, spill: _Spill, progress: ProgressCallback | None) -> tuple[FittedModels, int]:
    from sklearn.linear_model import SGDClassifier
    from threadpoolctl import threadpool_limits

    t = config.train
    topics, tones = list(config.labels.topics), list(config.labels.tone)
    n = len(ds)
    if n < 4:
        raise ArtclfError(f"only {n} training article(s); at least 4 are needed to train")
    topic_names = ds.features["topics"].feature.names
    tone_feature = ds.features["tone"]
    tone_names = list(getattr(tone_feature, "names", []) or [])
    if list(topic_names) != topics or (tones and tone_names != tones):
        raise ArtclfError("the dataset's labels differ from the config's [labels]; rebuild it with `artclf build-dataset`")

    rng = np.random.default_rng(t.seed)
    order = rng.permutation(n)
    n_hold = max(1, int(round(t.stream_holdout * n))) if topics else 0
    held_rows, fit_rows = order[:n_hold], order[n_hold:]
    vectorizer = build_vectorizer(features)
    hasher = vectorizer.steps[0][1]
    n_features = 2**features.hash_bits
    augmenters = make_augmenters(config.augment)
    timings: dict[str, Any] = {"mode": "stream", "hash_bits": features.hash_bits}

    # 1. One pass: hash, spill, count document frequencies and labels.
    start = time.perf_counter()
    df = np.zeros(n_features, dtype=np.int64)
    topic_pos = np.zeros(len(topics), dtype=np.int64)
    tone_count = np.zeros(len(tones), dtype=np.int64)
    rows_fit = 0
    held: list[tuple[sp.csr_matrix, np.ndarray]] = []
    done = 0
    for part, rows in (("fit", fit_rows), ("held", held_rows)):
        for batch in _batches(ds, rows, t.stream_batch):
            texts = batch["text"]
            Y0 = np.zeros((len(texts), len(topics)), dtype=np.uint8)
            for i, ids in enumerate(batch["topics"]):
                Y0[i, ids] = 1
            tone0 = np.asarray(batch["tone"], dtype=np.int8) if tones else np.zeros(len(texts), dtype=np.int8)
            all_texts, _, _, groups = augment(texts, [()] * len(texts), [""] * len(texts), augmenters)
            index = np.asarray(groups)
            X = hasher.transform(all_texts)
            X.sum_duplicates()
            df += np.bincount(X[: len(texts)].indices, minlength=n_features).astype(np.int64)
            Y, tone_y = Y0[index], tone0[index]
            if part == "fit":
                spill.write(X, Y, tone_y)
                rows_fit += X.shape[0]
                topic_pos += Y.sum(axis=0, dtype=np.int64)
                if tones:
                    tone_count += np.bincount(tone_y, minlength=len(tones))
            else:
                held.append((X, Y))
            done += len(texts)
            emit(progress, "featurize", done, n)
    # IDF exactly as TfidfTransformer computes it (smooth_idf): ln((1 + n) / (1 + df)) + 1.
    tfidf = vectorizer.steps[1][1]
    tfidf.idf_ = (np.log((1 + n) / (1 + df)) + 1).astype(np.float64)
    tfidf.n_features_in_ = n_features
    timings["featurize_s"] = round(time.perf_counter() - start, 3)
    timings["augmented_views"] = rows_fit + sum(X.shape[0] for X, _ in held) - n

    def weights(counts: np.ndarray, total: int) -> list[float]:
        # scikit-learn's "balanced": n / (classes * count); a class never seen gets weight 1.
        return [total / (len(counts) * c) if c else 1.0 for c in counts]

    balanced_topic = config.topic.class_weight == "balanced"
    topic_models = []
    for j in range(len(topics)):
        w = weights(np.array([rows_fit - topic_pos[j], topic_pos[j]]), rows_fit) if balanced_topic else [1.0, 1.0]
        # Capped: a rare topic's balanced weight (200 for 0.25% positives) makes SGD's steps on its
        # positives blow the weights up (decision values of 14 to 290 on the 20k benchmark corpus,
        # topic micro-F1 0.40 against 0.67 unweighted); the tuned threshold does the rest.
        w = [min(x, MAX_STREAM_CLASS_WEIGHT) for x in w]
        topic_models.append(SGDClassifier(loss="log_loss", alpha=t.stream_alpha, average=True, random_state=t.seed,
                                          class_weight={0: w[0], 1: w[1]}))
    tone_model = None
    if tones:
        w = weights(tone_count, rows_fit) if config.tone.class_weight == "balanced" else [1.0] * len(tones)
        tone_model = SGDClassifier(loss="log_loss", alpha=t.stream_alpha, average=True, random_state=t.seed,
                                   class_weight=dict(zip(tones, w)))
    tone_labels = np.asarray(tones, dtype=object)

    # 2. Epochs of SGD over the spilled chunks.
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        for epoch in range(t.stream_epochs):
            stage = f"epoch {epoch + 1}/{t.stream_epochs}"
            seen = 0
            for k in rng.permutation(len(spill.chunks)):
                X, Y, tone_y = spill.read(int(k))
                shuffle = rng.permutation(X.shape[0])
                X = tfidf.transform(X[shuffle])
                Y, tone_y = Y[shuffle], tone_y[shuffle]
                for j, model in enumerate(topic_models):
                    model.partial_fit(X, Y[:, j], classes=np.array([0, 1]))
                if tone_model is not None:
                    tone_model.partial_fit(X, tone_labels[tone_y], classes=tone_labels)
                seen += X.shape[0]
                emit(progress, stage, seen, rows_fit, unit="rows")
    timings["fit_s"] = round(time.perf_counter() - start, 3)

    # 3. Thresholds on the held-out slice.
    start = time.perf_counter()
    thresholds: dict[str, dict[str, Any]] = {}
    topic_clf = None
    if topics:
        emit(progress, "thresholds", 0, 0, message=f"{n_hold:,} held-out articles")
        X_held = tfidf.transform(sp.vstack([X for X, _ in held], format="csr")) if held else None
        Y_held = np.vstack([Y for _, Y in held]) if held else np.zeros((0, len(topics)), dtype=np.uint8)
        for j, label in enumerate(topics):
            scores = topic_models[j].decision_function(X_held) if X_held is not None else np.zeros(0)
            threshold, f1 = best_threshold(scores, Y_held[:, j]) if len(scores) else (0.0, float("nan"))
            fallback = topic_pos[j] < 2 or np.isnan(f1) or f1 < config.topic.threshold_min_f1
            decision = 0.0 if fallback else round(threshold, 6)
            thresholds[label] = {
                "decision": decision,
                "oof_f1": None if np.isnan(f1) else round(f1, 4),
                "fallback": bool(fallback),
                "tuned_decision": round(threshold, 6),
                "fold_thresholds": [],
                "fold_std": None,
                "folds": 0,
                "holdout": int(n_hold),
                "probability": round(float(1 / (1 + np.exp(-decision))), 6),
            }
            topic_models[j].intercept_ = topic_models[j].intercept_ - decision
        topic_clf = _one_vs_rest(topic_models, topics, n_features)
    timings["tune_thresholds_s"] = round(time.perf_counter() - start, 3)
    timings["epochs"] = t.stream_epochs
    timings["holdout"] = int(n_hold)

    topic = tone = None
    from sklearn.pipeline import Pipeline

    if topic_clf is not None:
        topic = Pipeline([("tfidf", vectorizer), ("clf", topic_clf)])
    if tone_model is not None:
        missing = sorted(set(tones) - {tones[i] for i in np.flatnonzero(tone_count)})
        if len(missing) == len(tones) - 1 or not rows_fit:
            raise ArtclfError("the training split has only one tone; label more articles")
        if missing:
            timings["tones_missing_from_train"] = missing
        tone = Pipeline([("tfidf", vectorizer), ("clf", tone_model)])
    for model in topic_models + ([tone_model] if tone_model is not None else []):
        _finished(model)
    for pipeline in (topic, tone):
        if pipeline is not None:
            compact_classifier(pipeline[-1], t.coef_dtype, t.keep_weights)
    # Stream mode fits no calibration maps (no out-of-fold scores): threshold-adjusted scores, cut 0.5.
    return FittedModels(topic=topic, tone=tone, thresholds=thresholds, timings=timings, calibration={"method": "none"}), n


def _finished(model: Any) -> None:
    """Drop what only further ``partial_fit`` calls read: the averaging state (three more arrays
    the size of the coefficients) and the Cython loss object (a type outside the trusted list the
    skops loader accepts). ``coef_`` and ``intercept_`` are already the averaged weights."""
    for name in ("_standard_coef", "_average_coef", "_standard_intercept", "_average_intercept", "_loss_function_"):
        if hasattr(model, name):
            delattr(model, name)


def _one_vs_rest(models: Sequence[Any], labels: Sequence[str], n_features: int) -> Any:
    """A fitted multi-label OneVsRestClassifier holding already-fitted binary models, with the
    attributes its own ``fit`` would set (so predict, predict_proba and pickling behave as usual)."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import LabelBinarizer

    ovr = OneVsRestClassifier(models[0])
    ovr.label_binarizer_ = LabelBinarizer(sparse_output=True).fit(np.vstack([np.ones(len(labels)), np.zeros(len(labels))]).astype(int))
    ovr.classes_ = ovr.label_binarizer_.classes_
    ovr.estimators_ = list(models)
    ovr.n_features_in_ = n_features
    return ovr


def training_mode(config: Config, n_train: int) -> str:
    """``memory`` or ``stream`` for a training split of ``n_train`` articles (``auto`` streams
    above ``train.stream_above``)."""
    if config.train.mode != "auto":
        return config.train.mode
    return "stream" if n_train > config.train.stream_above else "memory"
