"""The loaded model: the saved pipelines behind ``predict`` / ``predict_proba`` / ``classify``.

Topic scores are calibrated probabilities (``artclf.calibration``; the manifest's ``calibration``
record): each label's tuned threshold is folded into its classifier, and a label is predicted
exactly when its probability is >= that label's threshold on the probability scale, which is
the plain pipeline's own decision. Models saved without calibration keep the threshold-adjusted
sigmoid and the cut 0.5. Tone probabilities go through the tone map (temperature scaling).
A model may carry only one of the two tasks (the benchmarks train one); the other is then absent
from every result. Scores are computed by ``train.model.scoring`` from the pipelines' fitted attributes
when it supports them and reproduces the pipelines on a probe text, else by the pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from artclf.calibration import (IDENTITY, binary_probability, check_binary, check_evidence, check_tone, evidence_terms,
                                temper, topic_maps)
from artclf.outputs import PREDICT_KEYS, PROBA_KEYS, abstain, answers_from_scores, answer_with_empties, check_min_confidence, empty_result, pick


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _ordered_classes(pipeline: Any, configured: Sequence[str]) -> tuple[list[str], list[int]]:
    """A multiclass head's labels in the configured order (not the classifier's sorted classes_),
    and the score column of each."""
    classes = [str(c) for c in pipeline.classes_]
    ordered = [t for t in configured if t in classes]
    ordered += [c for c in classes if c not in ordered]
    return ordered, [classes.index(t) for t in ordered]


def _class_scores(clf: Any, X: Any, columns: list[int]) -> np.ndarray:
    """Class probabilities of a multiclass head (softmax of decision values without predict_proba)."""
    if hasattr(clf, "predict_proba"):
        scores = np.asarray(clf.predict_proba(X), dtype=float)
    else:
        decision = np.asarray(clf.decision_function(X), dtype=float)
        scores = _softmax(decision if decision.ndim == 2 else np.column_stack([-decision, decision]))
    return scores[:, columns]


class ArticleModel:
    """A saved model version: ``predict(texts)``, ``predict_proba(texts)``, ``classify(texts)``,
    ``explain(text)``."""

    def __init__(self, topic: Any | None, tone: Any | None, manifest: dict[str, Any], path: Path | None = None) -> None:
        self.topic_pipeline = topic
        self.tone_pipeline = tone
        self.manifest = manifest
        self.path = path
        # "multilabel": one binary model per topic; "multiclass": one category per article.
        self.topic_mode: str = str(manifest.get("topic_mode", "multilabel"))
        self.topic_labels: list[str] = list(manifest["labels"]["topics"]) if topic is not None else []
        self._topic_columns: list[int] = []
        if topic is not None and self.topic_mode == "multiclass":
            self.topic_labels, self._topic_columns = _ordered_classes(topic, manifest["labels"]["topics"])
        self.tone_labels: list[str] = []
        self._tone_columns: list[int] = []
        if tone is not None:
            self.tone_labels, self._tone_columns = _ordered_classes(tone, manifest["labels"].get("tone", []))
        calibration = manifest.get("calibration") or {}
        self.topic_maps: list[dict[str, Any]] = []
        if topic is not None and self.topic_mode == "multilabel":
            self.topic_maps = [check_binary(m, f"calibration of topic {label!r}")
                               for m, label in zip(topic_maps(calibration, self.topic_labels), self.topic_labels)]
        self._calibrated = any(m != IDENTITY for m in self.topic_maps)
        # The probability each topic label needs (0.5 in multiclass mode and for uncalibrated models).
        self.topic_thresholds: list[float] = [float(m["threshold"]) for m in self.topic_maps] or [0.5] * len(self.topic_labels)
        self.tone_map: dict[str, Any] | None = (check_tone(calibration["tone"], "tone calibration")
                                                if tone is not None and calibration.get("tone") else None)
        self.evidence_maps: dict[str, Any] | None = None
        self._words: tuple[Any, Any] | None = None
        if calibration.get("evidence"):
            self.evidence_maps = check_evidence(calibration["evidence"], self.topic_labels, "calibration evidence")
            self._stop_words = frozenset(self.evidence_maps["stop_words"])
            self._words = _words_branch(topic if topic is not None else tone)
        # Both pipelines were fitted with one vectorizer: transform once, not twice.
        self._shared = bool(manifest.get("shared_vectorizer")) and topic is not None and tone is not None
        self._explainer: Any = None
        self._fast: _FastPath | None = _FastPath.build(self)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", ""))

    def low_evidence(self, texts: Sequence[str]) -> np.ndarray | None:
        """Which texts hold too little evidence for the full-text maps (see
        ``artclf.calibration``), or None when the model has no low-evidence maps."""
        if self.evidence_maps is None or self._words is None:
            return None
        analyze, vocabulary = self._words
        return np.array([evidence_terms(analyze(t), vocabulary, self._stop_words) < self.evidence_maps["min_terms"] for t in texts], dtype=bool)

    def topic_scores(self, X: Any, low: np.ndarray | None = None) -> np.ndarray:
        """Threshold-adjusted per-label scores from a fitted OneVsRest classifier (or pipeline);
        in multiclass mode, class probabilities that sum to 1."""
        clf = self.topic_pipeline if not self._shared else self.topic_pipeline[-1]
        if self.topic_mode == "multiclass":
            return _class_scores(clf, X, self._topic_columns)
        final = clf[-1] if hasattr(clf, "steps") else clf
        if all(hasattr(e, "predict_proba") for e in getattr(final, "estimators_", [])):
            scores = np.asarray(clf.predict_proba(X), dtype=float)
        else:
            scores = _sigmoid(np.asarray(clf.decision_function(X), dtype=float))
        if scores.ndim == 2 and scores.shape[1] == 2 and len(self.topic_labels) == 1:
            # One topic: OneVsRest treats it as a binary problem and returns [P(not), P(topic)].
            scores = scores[:, 1]
        scores = scores[:, None] if scores.ndim == 1 else scores
        if self._calibrated:
            from sklearn.multiclass import _ConstantPredictor

            decision = np.asarray(clf.decision_function(X), dtype=float).reshape(len(scores), -1)
            for j, estimator in enumerate(final.estimators_):
                if not isinstance(estimator, _ConstantPredictor):
                    scores[:, j] = self._label_probability(decision[:, j], j, low)
        return scores

    def _label_probability(self, d: np.ndarray, j: int, low: np.ndarray | None) -> np.ndarray:
        p = binary_probability(d, self.topic_maps[j])
        low_map = (self.evidence_maps or {}).get("topic", {}).get(self.topic_labels[j]) if low is not None else None
        if low_map is not None and low.any():
            p[low] = binary_probability(d[low], low_map)
        return p

    def calibrate_topics(self, decision: np.ndarray, low: np.ndarray | None = None) -> np.ndarray:
        """Probabilities from folded decision values (n, labels) under each label's map (the
        low-evidence map for rows marked in ``low``)."""
        if not self._calibrated:
            return _sigmoid(decision)
        return np.column_stack([self._label_probability(decision[:, j], j, low) for j in range(decision.shape[1])])

    def calibrate_tone(self, p: np.ndarray, low: np.ndarray | None = None) -> np.ndarray:
        out = temper(p, self.tone_map)
        low_map = (self.evidence_maps or {}).get("tone") if low is not None else None
        if low_map is not None and low.any():
            out[low] = temper(p[low], low_map)
        return out

    def tone_scores(self, X: Any, low: np.ndarray | None = None) -> np.ndarray:
        clf = self.tone_pipeline if not self._shared else self.tone_pipeline[-1]
        return self.calibrate_tone(_class_scores(clf, X, self._tone_columns), low)

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(topic scores, tone scores) arrays for ``texts``, through the fast path when it holds."""
        texts = list(texts)
        if self._fast is not None:
            return self._fast.scores(texts)
        return self._pipeline_scores(texts)

    def _pipeline_scores(self, texts: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        low = self.low_evidence(texts)
        X = self.topic_pipeline[:-1].transform(texts) if self._shared else texts
        topic = self.topic_scores(X, low) if self.topic_pipeline is not None else None
        tone = self.tone_scores(X, low) if self.tone_pipeline is not None else None
        return topic, tone

    def empty_result(self) -> dict[str, Any]:
        """The answer for an empty or whitespace-only text (see ``artclf.outputs.empty_result``)."""
        return empty_result(self.topic_pipeline is not None, self.tone_pipeline is not None)

    def _with_empties(self, texts: Sequence[str], answer: Any) -> list[dict[str, Any]]:
        return answer_with_empties(texts, answer, self.empty_result())

    def classify(self, texts: Sequence[str], min_confidence: float | None = None) -> list[dict[str, Any]]:
        """Labels and scores per text: {"topics", "topic_scores", "tone", "tone_scores"} (and "topic"
        in multiclass mode); an empty
        or whitespace-only text gets ``empty_result()`` without being scored. With
        ``min_confidence`` a decision whose probability is below it is withheld: the label goes to
        "uncertain", the tone becomes "uncertain" (``artclf.outputs.abstain``)."""
        cut = check_min_confidence(min_confidence)
        results = self._with_empties(texts, self._classify)
        return results if cut is None else [abstain(r, cut) for r in results]

    def _classify(self, texts: list[str]) -> list[dict[str, Any]]:
        topic, tone = self.scores(texts)
        low = self.low_evidence(texts)
        return answers_from_scores(topic, tone, topic_labels=self.topic_labels, tone_labels=self.tone_labels,
                                   topic_thresholds=self.topic_thresholds, multiclass=self.topic_mode == "multiclass",
                                   n=len(texts), low=low)

    def predict(self, texts: Sequence[str], min_confidence: float | None = None) -> list[dict[str, Any]]:
        """{"topics": [...], "tone": ...} per text (and "topic" in multiclass mode, "empty": True for
        an empty text, "uncertain" with ``min_confidence``)."""
        return pick(self.classify(texts, min_confidence), PREDICT_KEYS)

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topic_scores": {label: p}, "tone_scores": {label: p}} per text (plus "empty": True)."""
        return pick(self.classify(texts), PROBA_KEYS)

    def explain(self, text: str, top: int = 5) -> dict[str, Any]:
        """classify() for one text plus "explanation": for each predicted label, the ``top``
        n-grams whose coefficient times feature value pushed its score most."""
        return self.explain_batch([text], top)[0]

    def explain_batch(self, texts: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
        from train.model.explain import Explainer

        if self._explainer is None:
            self._explainer = Explainer(self)
        explained = self._with_empties(texts, lambda t: self._explainer.explain(t, top))
        return [r | {"explanation": {}} if "explanation" not in r else r for r in explained]

    def evidence(self, text: str, task: str, label: str, top: int = 5, toward: bool = True) -> list[dict[str, Any]]:
        """The n-grams of ``text`` pushing ``label`` ("topic" or "tone" ``task``) up, or down with
        ``toward=False``, predicted or not: {"ngram", "weight"}, strongest first."""
        from train.model.explain import Explainer

        if self._explainer is None:
            self._explainer = Explainer(self)
        return self._explainer.evidence(text, task, label, top, toward)

    def raw_scores(self, texts: Sequence[str]) -> list[dict[str, dict[str, float]]]:
        """Unrounded scores per text, as the load-time canary check compares them."""
        texts = list(texts)
        topic, tone = self.scores(texts)
        out: list[dict[str, dict[str, float]]] = [{} for _ in texts]
        if topic is not None:
            for row, scores in zip(out, topic):
                row["topic_scores"] = {label: float(p) for label, p in zip(self.topic_labels, scores)}
        if tone is not None:
            for row, scores in zip(out, tone):
                row["tone_scores"] = {label: float(p) for label, p in zip(self.tone_labels, scores)}
        return out

    def __repr__(self) -> str:
        return f"ArticleModel(version={self.version!r}, topics={self.topic_labels}, tones={self.tone_labels})"


# Exercises tokens, numbers and punctuation; the fast path must match the pipeline on it.
_PROBE = "Ministers met on Tuesday: gas pipeline talks, border dispute, shares rose 5% (Reuters)."


class _FastPath:
    """``ArticleModel`` scores computed by ``train.model.scoring`` instead of through the pipelines."""

    def __init__(self, model: ArticleModel, featurize: Any, topic: Any, tone: Any, tone_kind: str, topic_kind: str) -> None:
        self.model, self.featurize, self.topic, self.tone = model, featurize, topic, tone
        self.tone_kind, self.topic_kind = tone_kind, topic_kind

    @classmethod
    def build(cls, model: ArticleModel) -> "_FastPath | None":
        from sklearn.linear_model import LogisticRegression, SGDClassifier

        from train.model.scoring import fast_decision, fast_featurizer

        pipelines = [p for p in (model.topic_pipeline, model.tone_pipeline) if p is not None]
        if not pipelines or not all(hasattr(p, "steps") and len(p.steps) >= 2 for p in pipelines):
            return None
        if len(pipelines) == 2 and not model._shared:
            return None
        featurize = fast_featurizer(pipelines[0][:-1])
        topic = fast_decision(model.topic_pipeline[-1]) if model.topic_pipeline is not None else None
        tone = fast_decision(model.tone_pipeline[-1]) if model.tone_pipeline is not None else None
        if featurize is None or (model.topic_pipeline is not None and topic is None) or (model.tone_pipeline is not None and tone is None):
            return None
        def kind(pipeline: Any) -> str:
            clf = pipeline[-1] if pipeline is not None else None
            if isinstance(clf, SGDClassifier) and len(clf.classes_) > 2:
                # scikit-learn's SGD predict_proba: one-vs-rest sigmoids, normalised to sum to one.
                return "ovr"
            return "sigmoid" if isinstance(clf, (LogisticRegression, SGDClassifier)) and len(clf.classes_) == 2 else "softmax"

        fast = cls(model, featurize, topic, tone, kind(model.tone_pipeline),
                   kind(model.topic_pipeline) if model.topic_mode == "multiclass" else "multilabel")
        # Trust it only where it reproduces the pipeline (a model from another scikit-learn version
        # could compute something this path does not know about).
        try:
            mine, theirs = fast.scores([_PROBE, ""]), model._pipeline_scores([_PROBE, ""])
        except Exception:
            return None
        for a, b in zip(mine, theirs):
            if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, rtol=1e-4, atol=1e-6)):
                return None
        return fast

    def scores(self, texts: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        X = self.featurize(texts)
        low = self.model.low_evidence(texts)
        topic = tone = None
        if self.topic is not None:
            d = self.topic(X)
            topic = self.model.calibrate_topics(d, low) if self.topic_kind == "multilabel" else _fast_class_scores(d, self.topic_kind, self.model._topic_columns)
        if self.tone is not None:
            tone = self.model.calibrate_tone(_fast_class_scores(self.tone(X), self.tone_kind, self.model._tone_columns), low)
        return topic, tone


def _fast_class_scores(d: np.ndarray, kind: str, columns: list[int]) -> np.ndarray:
    """Class probabilities from a multiclass head's decision values, as the pipeline computes them."""
    if kind == "sigmoid":
        p = _sigmoid(d[:, 0])
        scores = np.column_stack([1 - p, p])
    elif kind == "ovr":
        p = _sigmoid(d)
        scores = p / p.sum(axis=1, keepdims=True)
    else:
        scores = _softmax(d if d.shape[1] > 1 else np.column_stack([-d[:, 0], d[:, 0]]))
    return scores[:, columns]


def _words_branch(pipeline: Any) -> tuple[Any, Any] | None:
    """(analyzer, vocabulary or None when hashed) of the featurizer's "words" branch, which the
    low-evidence rule counts terms with; None when there is no such branch."""
    from features import fitted_branches, hasher_of

    if not hasattr(pipeline, "steps"):
        return None
    for branch, transformer in fitted_branches(pipeline[:-1]):
        if branch.name == "words":
            hasher = hasher_of(transformer)
            if hasher is not None:
                return hasher.build_analyzer(), None
            return transformer.build_analyzer(), transformer.vocabulary_
    return None
