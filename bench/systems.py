"""The systems compared on each task, each fitted on the same training records.

- ``vanilla``: the pipeline a user writes by hand (the baseline every ratio is against);
- ``fasttext``: fastText from PyPI (``fasttext-numpy2``), one thread;
- ``ours``: this project's ``fit_models`` with a config, predicting through ``ArticleModel``.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any, Sequence

from train.data.dataset import Record

# Settings reported in BENCHMARKS.md; lr 0.5 is fastText's own tutorial setting for classifiers.
FASTTEXT_SETTINGS: dict[str, Any] = {"epoch": 25, "wordNgrams": 2, "lr": 0.5, "dim": 100, "minCount": 1, "thread": 1, "seed": 13}
VANILLA_DESCRIPTION = "TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2) + LinearSVC() (OneVsRestClassifier for multi-label)"


class Fitted:
    """A fitted system: ``predict(texts)`` -> list of label tuples (one label for multiclass)."""

    def __init__(self, kind: str, model: Any, predict: Any, save: Any, raw_scores: Any = None) -> None:
        self.kind, self.model, self._predict, self._save = kind, model, predict, save
        # texts -> raw_scores rows (probabilities), for systems whose scores claim to be probabilities.
        self.raw_scores = raw_scores

    def predict(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        return self._predict(list(texts))

    def save(self, folder: Path) -> Path:
        """Write the model as its users would ship it; returns the file or folder."""
        return self._save(folder)


def fit_vanilla(train: list[Record], kind: str, labels: list[str]) -> Fitted:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    texts = [r.text for r in train]
    if kind == "multiclass":
        pipe = make_pipeline(vectorizer, LinearSVC()).fit(texts, [r.tone for r in train])
        return Fitted(kind, pipe, lambda t: [(str(y),) for y in pipe.predict(t)], lambda d: _dump(joblib, pipe, d))
    binarizer = MultiLabelBinarizer(classes=labels)
    Y = binarizer.fit_transform([r.topics for r in train])
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Label not .* is present")
        pipe = make_pipeline(vectorizer, OneVsRestClassifier(LinearSVC())).fit(texts, Y)
    return Fitted(kind, pipe, lambda t: [tuple(labels[j] for j in row.nonzero()[0]) for row in pipe.predict(t)],
                  lambda d: _dump(joblib, pipe, d))


def _dump(joblib: Any, obj: Any, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.joblib"
    joblib.dump(obj, path)  # what a hand-written script does: no compression
    return path


_TOKEN = re.compile(r"\w+|[^\w\s]")


def fasttext_line(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


def fit_fasttext(train: list[Record], kind: str, labels: list[str]) -> Fitted:
    import fasttext

    lines = []
    for r in train:
        tags = [r.tone] if kind == "multiclass" else list(r.topics)
        lines.append(" ".join(f"__label__{t}" for t in tags) + " " + fasttext_line(r.text))
    # fastText learns badly from label-sorted input, and our splits are sorted by id (= by label).
    random.Random(13).shuffle(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        extra = {"loss": "ova"} if kind == "multilabel" else {}
        model = fasttext.train_supervised(input=str(path), verbose=0, **FASTTEXT_SETTINGS, **extra)

    def predict(texts: list[str]) -> list[tuple[str, ...]]:
        clean = [fasttext_line(t) for t in texts]
        if kind == "multiclass":
            got, _ = model.predict(clean, k=1)
            return [(g[0].removeprefix("__label__"),) for g in got]
        got, _ = model.predict(clean, k=-1, threshold=0.5)
        return [tuple(x.removeprefix("__label__") for x in g) for g in got]

    def save(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        model.save_model(str(folder / "model.bin"))
        return folder / "model.bin"

    return Fitted(kind, model, predict, save)


def fit_ours(train: list[Record], kind: str, labels: list[str], config: Any) -> Fitted:
    from train.fit.fit import fit_models
    from train.model.model import ArticleModel

    fitted = fit_models([r.text for r in train], [r.topics for r in train], [r.tone for r in train], config)
    manifest = manifest_for(config, fitted)
    model = ArticleModel(fitted.topic, fitted.tone, manifest)

    def predict(texts: list[str]) -> list[tuple[str, ...]]:
        out = model.predict(texts)
        return [(p["tone"],) if kind == "multiclass" else tuple(p["topics"]) for p in out]

    def save(folder: Path) -> Path:
        from train.store.versions import save_version

        estimators = {name: est for name, est in (("topic", fitted.topic), ("tone", fitted.tone)) if est is not None}
        return save_version(folder, estimators, manifest)

    return Fitted(kind, model, predict, save, model.raw_scores)


def manifest_for(config: Any, fitted: Any) -> dict[str, Any]:
    from train.store.record import describe_fit

    return describe_fit(config, fitted)


def load_config_for(path: str | None, labels: Any, overrides: list[str] | None = None) -> Any:
    """A config file (or the defaults) with the task's label sets; models are not saved by fitting."""
    from train.config import load_config

    config = load_config(path, overrides)
    return dataclasses.replace(config, labels=labels)


def one_thread_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env
