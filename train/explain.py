"""Why a label was predicted: the n-grams whose coefficient times TF-IDF value pushed it most.

For a topic label the push is toward that label's own binary decision. For a tone the push is
measured against the average of all tones (the coefficient minus its mean over classes): a
multiclass linear model only cares about differences between classes, so a word that raises every
tone equally explains nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from train.model import ArticleModel


def _feature_names(vectorizer: Any) -> np.ndarray:
    names = np.asarray(vectorizer.get_feature_names_out(), dtype=object)
    # A FeatureUnion prefixes its parts ("words__oil", "chars__ oi"): keep words plain, mark chars.
    return np.asarray([n[len("words__"):] if n.startswith("words__") else
                       "char:" + n[len("chars__"):] if n.startswith("chars__") else n for n in names], dtype=object)


def _class_weights(clf: Any) -> np.ndarray | None:
    """(n_classes, n_features) weights whose row dot x is the class's decision value (up to a
    constant shared by all classes), or None when the classifier has no linear weights."""
    if hasattr(clf, "coef_"):
        coef = np.asarray(clf.coef_, dtype=float)
        if coef.shape[0] == 1 and len(clf.classes_) == 2:
            coef = np.vstack([-coef[0], coef[0]])
        return coef
    if hasattr(clf, "feature_log_prob_"):  # ComplementNB: decision = x @ feature_log_prob_.T
        return np.asarray(clf.feature_log_prob_, dtype=float)
    return None


def _top(row: Any, weights: np.ndarray, names: np.ndarray, top: int) -> list[dict[str, Any]]:
    indices, values = row.indices, row.data
    if len(indices) == 0:
        return []
    push = values * weights[indices]
    order = np.argsort(-push, kind="stable")[:top]
    return [{"ngram": str(names[indices[i]]), "weight": round(float(push[i]), 4)} for i in order if push[i] > 0]


class Explainer:
    """Feature names and weights of a loaded model, computed once (they are vocabulary-sized)."""

    def __init__(self, model: "ArticleModel") -> None:
        self.model = model
        self._cache: dict[str, Any] = {}

    def _parts(self, task: str) -> tuple[Any, Any]:
        pipeline = self.model.topic_pipeline if task == "topic" else self.model.tone_pipeline
        return pipeline[:-1], pipeline[-1]

    def _names(self, task: str) -> np.ndarray:
        key = "names" if self.model._shared else f"names_{task}"
        if key not in self._cache:
            self._cache[key] = _feature_names(self._parts(task)[0])
        return self._cache[key]

    def _topic_weights(self) -> list[np.ndarray | None]:
        if "topic_weights" not in self._cache:
            weights = []
            for estimator in self._parts("topic")[1].estimators_:
                coef = getattr(estimator, "coef_", None)  # a label constant in training has none
                weights.append(None if coef is None else np.asarray(coef, dtype=float).ravel())
            self._cache["topic_weights"] = weights
        return self._cache["topic_weights"]

    def _tone_weights(self) -> dict[str, np.ndarray] | None:
        if "tone_weights" not in self._cache:
            clf = self._parts("tone")[1]
            coef = _class_weights(clf)
            if coef is None:
                self._cache["tone_weights"] = None
            else:
                relative = coef - coef.mean(axis=0, keepdims=True)
                self._cache["tone_weights"] = {str(c): relative[i] for i, c in enumerate(clf.classes_)}
        return self._cache["tone_weights"]

    def explain(self, texts: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
        """Per text: classify() output plus "explanation": {"topics": {label: [...]}, "tone": {label: [...]}}
        for each predicted label, each entry {"ngram", "weight"}, strongest first."""
        texts = list(texts)
        results = self.model.classify(texts)
        explanations: list[dict[str, Any]] = [{} for _ in texts]
        if self.model.topic_pipeline is not None:
            X = self._parts("topic")[0].transform(texts).tocsr()
            names, weights = self._names("topic"), self._topic_weights()
            for i, result in enumerate(results):
                explanations[i]["topics"] = {
                    label: _top(X[i], weights[self.model.topic_labels.index(label)], names, top)
                    if weights[self.model.topic_labels.index(label)] is not None else []
                    for label in result["topics"]
                }
        if self.model.tone_pipeline is not None:
            X = self._parts("tone")[0].transform(texts).tocsr()
            names, weights = self._names("tone"), self._tone_weights()
            for i, result in enumerate(results):
                tone = result["tone"]
                explanations[i]["tone"] = {tone: _top(X[i], weights[tone], names, top) if weights else []}
        return [r | {"explanation": e} for r, e in zip(results, explanations)]
