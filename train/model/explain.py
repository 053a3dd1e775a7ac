"""Why a label was predicted: the n-grams whose coefficient times TF-IDF value pushed it most.

For a topic label the push is toward that label's own binary decision. For a tone the push is
measured against the average of all tones (the coefficient minus its mean over classes): a
multiclass linear model only cares about differences between classes, so a word that raises every
tone equally explains nothing.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from features import fitted_branches, hasher_of, is_hashed


def _feature_names(vectorizer: Any) -> np.ndarray:
    """Column -> n-gram, each branch's names marked with its declared prefix (plain words, "lead:",
    "char:")."""
    names: list[str] = []
    for branch, transformer in fitted_branches(vectorizer):
        names += [branch.prefix + str(n) for n in transformer.get_feature_names_out()]
    return np.asarray(names, dtype=object)


def _dense(coef: Any) -> np.ndarray:
    """Coefficients as a float array; pruned models keep them in a scipy sparse matrix."""
    return coef.toarray().astype(float) if hasattr(coef, "toarray") else np.asarray(coef, dtype=float)


def _class_weights(clf: Any) -> np.ndarray | None:
    """(n_classes, n_features) weights whose row dot x is the class's decision value (up to a
    constant shared by all classes), or None when the classifier has no linear weights."""
    if hasattr(clf, "coef_"):
        coef = _dense(clf.coef_)
        if coef.shape[0] == 1 and len(clf.classes_) == 2:
            coef = np.vstack([-coef[0], coef[0]])
        return coef
    if hasattr(clf, "feature_log_prob_"):  # ComplementNB: decision = x @ feature_log_prob_.T
        return np.asarray(clf.feature_log_prob_, dtype=float)
    return None


def _top(row: Any, weights: np.ndarray, names: Any, top: int) -> list[dict[str, Any]]:
    """``names`` maps a column to its n-gram: an array (vocabulary) or a dict (hashed, per text)."""
    indices, values = row.indices, row.data
    if len(indices) == 0:
        return []
    push = values * weights[indices]
    order = np.argsort(-push, kind="stable")[:top]
    return [{"ngram": str(names[indices[i]]), "weight": round(float(push[i]), 4)} for i in order if push[i] > 0]


def _hashed_names(featurizer: Any, text: str) -> dict[int, str]:
    """Column -> n-gram(s) of this text, for hashed featurizers (which keep no vocabulary): the
    text's own n-grams, hashed as the vectorizer hashes them. ``features.build_vectorizer`` hashes
    every branch or none."""
    from sklearn.feature_extraction import FeatureHasher

    names: dict[int, str] = {}
    offset = 0
    for branch, transformer in fitted_branches(featurizer):
        prefix = branch.prefix
        hasher = hasher_of(transformer)
        ngrams = sorted({g for g in hasher.build_analyzer()(text) if g})
        if ngrams:
            columns = FeatureHasher(n_features=hasher.n_features, input_type="string", alternate_sign=False).transform(
                [[g] for g in ngrams]).indices
            for ngram, column in zip(ngrams, columns):
                key = offset + int(column)
                # Two n-grams of one text in one hashed column: name both.
                names[key] = f"{names[key]}|{prefix}{ngram}" if key in names else prefix + ngram
        offset += hasher.n_features
    return names


class Explainer:
    """Feature names and weights of a loaded model, computed once (they are vocabulary-sized)."""

    def __init__(self, model: Any) -> None:
        # ``model`` is the ArticleModel that owns this explainer (not imported: it imports us).
        self.model = model
        self._cache: dict[str, Any] = {}

    def _parts(self, task: str) -> tuple[Any, Any]:
        pipeline = self.model.topic_pipeline if task == "topic" else self.model.tone_pipeline
        return pipeline[:-1], pipeline[-1]

    def _names(self, task: str, text: str) -> Any:
        featurizer = self._parts(task)[0]
        if is_hashed(featurizer):
            return _hashed_names(featurizer, text)
        key = "names" if self.model._shared else f"names_{task}"
        if key not in self._cache:
            self._cache[key] = _feature_names(featurizer)
        return self._cache[key]

    def _topic_weights(self) -> dict[str, np.ndarray | None]:
        if "topic_weights" not in self._cache:
            if self.model.topic_mode == "multiclass":
                # One category per article: the push toward a topic relative to the average topic, as for tone.
                self._cache["topic_weights"] = self._multiclass_weights("topic") or {}
            else:
                weights: dict[str, np.ndarray | None] = {}
                for label, estimator in zip(self.model.topic_labels, self._parts("topic")[1].estimators_):
                    coef = getattr(estimator, "coef_", None)  # a label constant in training has none
                    weights[label] = None if coef is None else _dense(coef).ravel()
                self._cache["topic_weights"] = weights
        return self._cache["topic_weights"]

    def _tone_weights(self) -> dict[str, np.ndarray] | None:
        if "tone_weights" not in self._cache:
            self._cache["tone_weights"] = self._multiclass_weights("tone")
        return self._cache["tone_weights"]

    def _multiclass_weights(self, task: str) -> dict[str, np.ndarray] | None:
        clf = self._parts(task)[1]
        coef = _class_weights(clf)
        if coef is None:
            return None
        relative = coef - coef.mean(axis=0, keepdims=True)
        return {str(c): relative[i] for i, c in enumerate(clf.classes_)}

    def explain(self, texts: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
        """Per text: classify() output plus "explanation": {"topics": {label: [...]}, "tone": {label: [...]}}
        for each predicted label, each entry {"ngram", "weight"}, strongest first."""
        texts = list(texts)
        results = self.model.classify(texts)
        explanations: list[dict[str, Any]] = [{} for _ in texts]
        if self.model.topic_pipeline is not None:
            X = self._parts("topic")[0].transform(texts).tocsr()
            weights = self._topic_weights()
            for i, result in enumerate(results):
                names = self._names("topic", texts[i])
                explanations[i]["topics"] = {
                    label: _top(X[i], weights[label], names, top) if weights.get(label) is not None else []
                    for label in result["topics"]
                }
        if self.model.tone_pipeline is not None:
            X = self._parts("tone")[0].transform(texts).tocsr()
            weights = self._tone_weights()
            for i, result in enumerate(results):
                tone = result["tone"]
                names = self._names("tone", texts[i]) if weights else None
                explanations[i]["tone"] = {tone: _top(X[i], weights[tone], names, top) if weights else []}
        return [r | {"explanation": e} for r, e in zip(results, explanations)]

    def evidence(self, text: str, task: str, label: str, top: int = 5, toward: bool = True) -> list[dict[str, Any]]:
        """The ``top`` n-grams of ``text`` that push ``label`` of ``task`` ("topic" or "tone")
        most, up (``toward``) or down (against it), whether or not the label is predicted: what a
        reviewer reads to judge a suggested label change."""
        featurizer = self._parts(task)[0]
        row = featurizer.transform([text]).tocsr()[0]
        if task == "topic":
            weights = self._topic_weights().get(label)
        else:
            tone_weights = self._tone_weights()
            weights = None if tone_weights is None else tone_weights.get(label)
        if weights is None:
            return []
        return _top(row, weights if toward else -weights, self._names(task, text), top)
