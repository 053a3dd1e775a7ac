"""Save side of the portable format (artclf/FORMAT.md): fitted scikit-learn pipelines -> files,
and the parity gate that must pass before those files are published.

``export_portable`` writes only what it can express exactly; any other step, estimator or
setting raises ``PortableUnsupported`` with the reason, which the manifest records so a version
without portable files says why. ``check_parity`` then scores texts both ways and refuses the
export unless the scores agree within ``tol`` and every label is the same.
"""

from __future__ import annotations

import io
import json
import unicodedata
from typing import Any, Mapping, Sequence

import numpy as np

from artclf._format_version import FORMAT_NAME, FORMAT_VERSION
from artclf._portable import MANIFEST_NAME, PortableModel

__all__ = ["PortableUnsupported", "export_portable", "check_parity"]


class PortableUnsupported(Exception):
    """The pipelines use something the portable format cannot reproduce exactly (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # Little-endian, C order, no pickle: what every reader of the format expects.
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _float_dtype(array: Any, what: str) -> np.dtype:
    dtype = np.dtype(array.dtype)
    if dtype not in (np.float32, np.float64):
        raise PortableUnsupported(f"{what} has dtype {dtype}; only float32 and float64 are supported")
    return dtype


# -- featurizer ---------------------------------------------------------------------------------

def _branches(featurizer: Any) -> list[tuple[str, Any]] | None:
    """(name, transformer) per column block in order; None for a bare featurizer (no union)."""
    from sklearn.pipeline import FeatureUnion, Pipeline

    while isinstance(featurizer, Pipeline) and len(featurizer.steps) == 1:
        featurizer = featurizer.steps[0][1]
    if isinstance(featurizer, FeatureUnion):
        if featurizer.transformer_weights:
            raise PortableUnsupported("FeatureUnion with transformer_weights")
        parts = [(n, t) for n, t in featurizer.transformer_list if t not in ("drop", None)]
        if any(t == "passthrough" for _, t in parts) or not parts:
            raise PortableUnsupported("FeatureUnion with a passthrough part or no parts")
        return parts
    return None


def _analyzer_spec(vectorizer: Any) -> dict[str, Any]:
    """The analyzer settings of a fitted TfidfVectorizer / HashingVectorizer, or PortableUnsupported."""
    name = type(vectorizer).__name__
    for attr, ok in (("input", "content"), ("preprocessor", None), ("tokenizer", None)):
        if getattr(vectorizer, attr) != ok:
            raise PortableUnsupported(f"{name} with {attr}={getattr(vectorizer, attr)!r}")
    if getattr(vectorizer, "binary", False):
        raise PortableUnsupported(f"{name} with binary=True")
    if vectorizer.strip_accents not in (None, "unicode"):
        raise PortableUnsupported(f"{name} with strip_accents={vectorizer.strip_accents!r} (only 'unicode' or None)")
    if vectorizer.analyzer not in ("word", "char_wb"):
        raise PortableUnsupported(f"{name} with analyzer={vectorizer.analyzer!r} (only 'word' and 'char_wb')")
    low, high = (int(x) for x in vectorizer.ngram_range)
    if not 1 <= low <= high:
        raise PortableUnsupported(f"{name} with ngram_range={vectorizer.ngram_range!r}")
    spec: dict[str, Any] = {
        "kind": vectorizer.analyzer,
        "lowercase": bool(vectorizer.lowercase),
        "strip_accents": vectorizer.strip_accents,
        "ngram_range": [low, high],
    }
    if vectorizer.analyzer == "word":
        import re

        pattern = re.compile(vectorizer.token_pattern)
        if pattern.groups > 1 or pattern.flags & ~(re.UNICODE) or isinstance(vectorizer.token_pattern, bytes):
            raise PortableUnsupported(f"{name} token_pattern {vectorizer.token_pattern!r}: more than one group or flags other than (?u)")
        stop = vectorizer.get_stop_words()
        spec["token_pattern"] = vectorizer.token_pattern
        spec["stop_words"] = sorted(stop) if stop is not None else None
    return spec


def _branch(name: str, prefix: str, transformer: Any, offset: int, files: dict[str, bytes]) -> tuple[dict[str, Any], np.dtype]:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
    from sklearn.pipeline import Pipeline

    if isinstance(transformer, TfidfVectorizer):
        vectorizer, weighting = transformer, transformer
        names = vectorizer.get_feature_names_out()
        if any(vectorizer.vocabulary_[t] != i for i, t in enumerate(names)):
            raise PortableUnsupported(f"branch {name}: vocabulary columns are not 0..n-1")
        vocab_file = f"{name}.vocab.json"
        files[vocab_file] = json.dumps([str(t) for t in names], ensure_ascii=False).encode("utf-8")
        n_features = len(names)
        terms: dict[str, Any] = {"kind": "vocabulary", "file": vocab_file}
        idf = weighting.idf_ if weighting.use_idf else None
    elif (isinstance(transformer, Pipeline) and len(transformer.steps) == 2
          and isinstance(transformer.steps[0][1], HashingVectorizer) and isinstance(transformer.steps[1][1], TfidfTransformer)):
        vectorizer, weighting = transformer.steps[0][1], transformer.steps[1][1]
        if vectorizer.alternate_sign or vectorizer.norm is not None:
            raise PortableUnsupported(f"branch {name}: HashingVectorizer with alternate_sign or norm set")
        n_features = int(vectorizer.n_features)
        terms = {"kind": "hashing", "hash": "murmurhash3_x86_32", "seed": 0, "alternate_sign": False, "n_features": n_features}
        idf = weighting.idf_ if weighting.use_idf else None
    else:
        raise PortableUnsupported(f"branch {name}: {type(transformer).__name__} is not a TfidfVectorizer or HashingVectorizer+TfidfTransformer")
    if weighting.norm not in ("l2", None):
        raise PortableUnsupported(f"branch {name}: norm={weighting.norm!r} (only 'l2' or None)")
    dtype = np.dtype(vectorizer.dtype)
    if dtype not in (np.float32, np.float64):
        raise PortableUnsupported(f"branch {name}: feature dtype {dtype}")
    idf_file = None
    if idf is not None:
        idf = np.asarray(idf)
        _float_dtype(idf, f"branch {name} idf_")
        if idf.shape != (n_features,):
            raise PortableUnsupported(f"branch {name}: idf_ shape {idf.shape} for {n_features} columns")
        idf_file = f"{name}.idf.npy"
        files[idf_file] = _npy(idf)
    spec = {
        "name": name, "explain_prefix": prefix, "offset": offset, "n_features": n_features,
        "analyzer": _analyzer_spec(vectorizer), "terms": terms,
        "tfidf": {"sublinear_tf": bool(weighting.sublinear_tf), "idf_file": idf_file, "norm": weighting.norm},
    }
    return spec, dtype


def _features(featurizer: Any, files: dict[str, bytes]) -> dict[str, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.pipeline import Pipeline

    parts = _branches(featurizer)
    if parts is None:
        while isinstance(featurizer, Pipeline) and len(featurizer.steps) == 1:
            featurizer = featurizer.steps[0][1]
        parts = [("words", featurizer)]
        prefixes = {"words": ""}
    else:
        hashed = all(isinstance(t, Pipeline) and isinstance(t.steps[0][1], HashingVectorizer) for _, t in parts)
        # The names train/explain.py gives each branch's columns (vocabulary: from
        # get_feature_names_out's "branch__term"; hashed: re-hashed n-grams).
        fixed = {"words": "", "chars": "char:", "lead": "lead:"}
        prefixes = {n: fixed.get(n, f"{n}:" if hashed else f"{n}__") for n, _ in parts}
    if len({n for n, _ in parts}) != len(parts):
        raise PortableUnsupported("FeatureUnion with repeated branch names")
    branches, dtypes, offset = [], set(), 0
    for name, transformer in parts:
        spec, dtype = _branch(name, prefixes[name], transformer, offset, files)
        branches.append(spec)
        dtypes.add(dtype)
        offset += spec["n_features"]
    if len(dtypes) != 1:
        raise PortableUnsupported("branches with different feature dtypes")
    return {"dtype": str(dtypes.pop()), "n_features": offset, "branches": branches}


# -- heads ----------------------------------------------------------------------------------------

def _coef_files(task: str, rows: list[Any], n_features: int, files: dict[str, bytes]) -> dict[str, Any]:
    """(outputs x features) weights: dense .npy, or CSC parts when any row is scipy-sparse."""
    import scipy.sparse as sp

    for r in rows:
        _float_dtype(r, f"{task} coef_")
        if r.shape[-1] != n_features:
            raise PortableUnsupported(f"{task}: coef_ has {r.shape[-1]} columns for {n_features} features")
    dtype = np.result_type(*[r.dtype for r in rows])
    if any(sp.issparse(r) for r in rows):
        W = sp.vstack([sp.csr_matrix(r) for r in rows], format="csc").astype(dtype)
        W.sort_indices()
        W.sum_duplicates()
        files[f"{task}.coef.data.npy"] = _npy(np.asarray(W.data))
        files[f"{task}.coef.indices.npy"] = _npy(np.asarray(W.indices, dtype=np.int32))
        files[f"{task}.coef.indptr.npy"] = _npy(np.asarray(W.indptr, dtype=np.int64))
        return {"layout": "csc", "shape": [int(W.shape[0]), int(W.shape[1])], "data_file": f"{task}.coef.data.npy",
                "indices_file": f"{task}.coef.indices.npy", "indptr_file": f"{task}.coef.indptr.npy"}
    W = np.vstack([np.asarray(r, dtype=dtype).reshape(1, -1) if np.ndim(r) == 1 else np.asarray(r, dtype=dtype) for r in rows])
    files[f"{task}.coef.npy"] = _npy(W)
    return {"layout": "dense", "file": f"{task}.coef.npy"}


def _intercept(estimator: Any, k: int) -> np.ndarray:
    b = np.ravel(np.asarray(getattr(estimator, "intercept_", 0.0)))
    if b.dtype not in (np.float32, np.float64):
        b = b.astype(np.float64)
    return np.broadcast_to(b, (k,)).copy() if b.size == 1 and k != 1 else b


def _topic_head(clf: Any, labels: Sequence[str], n_features: int, files: dict[str, bytes]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier, _ConstantPredictor
    from sklearn.svm import LinearSVC

    if not isinstance(clf, OneVsRestClassifier) or not getattr(clf, "multilabel_", False):
        raise PortableUnsupported(f"topic classifier {type(clf).__name__} is not a multi-label OneVsRestClassifier")
    estimators = list(clf.estimators_)
    if len(estimators) != len(labels):
        raise PortableUnsupported(f"topic: {len(estimators)} estimators for {len(labels)} labels")
    # ArticleModel.topic_scores: predict_proba when every estimator has it, else sigmoid(decision).
    proba = all(hasattr(e, "predict_proba") for e in estimators)
    rows, intercepts, constant = [], [], []
    for label, e in zip(labels, estimators):
        if isinstance(e, _ConstantPredictor):
            y = float(np.ravel(e.y_)[0])
            constant.append(y if proba else float(1.0 / (1.0 + np.exp(-y))))
            rows.append(np.zeros((1, n_features)))
            intercepts.append(np.zeros(1))
            continue
        if type(e) not in (LogisticRegression, LinearSVC):
            raise PortableUnsupported(f"topic label {label!r}: estimator {type(e).__name__} is not LogisticRegression or LinearSVC")
        if len(e.classes_) != 2 or np.shape(e.coef_)[0] != 1:
            raise PortableUnsupported(f"topic label {label!r}: not a binary linear model")
        constant.append(None)
        rows.append(e.coef_)
        intercepts.append(_intercept(e, 1))
    live = [r for r, c in zip(rows, constant) if c is None]
    dtype = np.result_type(*[r.dtype for r in live]) if live else np.float64
    rows = [r if c is None else r.astype(dtype) for r, c in zip(rows, constant)]
    coef = _coef_files("topic", rows, n_features, files)
    intercept = np.concatenate(intercepts).astype(np.result_type(*[i.dtype for i in intercepts]))
    files["topic.intercept.npy"] = _npy(intercept)
    return {"labels": [str(x) for x in labels], "link": "sigmoid", "coef": coef,
            "intercept_file": "topic.intercept.npy", "constant_scores": constant}


def _class_head(task: str, clf: Any, labels: Sequence[str], n_features: int, files: dict[str, bytes]) -> dict[str, Any]:
    """A one-class-per-text head: tone, or the topic in multiclass mode."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    classes = [str(c) for c in clf.classes_]
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise PortableUnsupported(f"{task}: fewer than two distinct classes")
    # ArticleModel's report order: configured labels first, then any other class.
    configured = [t for t in labels if t in classes]
    report = configured + [c for c in classes if c not in configured]
    if type(clf) is ComplementNB:
        # Its joint log likelihood is X @ feature_log_prob_.T (plus the prior with one class only).
        rows, intercept, link = [np.asarray(clf.feature_log_prob_)], np.zeros(len(classes), dtype=np.asarray(clf.feature_log_prob_).dtype), "softmax"
    elif type(clf) in (LogisticRegression, LinearSVC):
        rows, intercept = [clf.coef_], _intercept(clf, np.shape(clf.coef_)[0])
        binary = len(classes) == 2
        if binary != (np.shape(clf.coef_)[0] == 1):
            raise PortableUnsupported(f"{task}: coef_ has {np.shape(clf.coef_)[0]} rows for {len(classes)} classes")
        if binary:
            link = "logistic_binary" if type(clf) is LogisticRegression else "softmax_binary"
        else:
            link = "softmax"
    else:
        raise PortableUnsupported(f"{task} classifier {type(clf).__name__} is not LogisticRegression, LinearSVC or ComplementNB")
    coef = _coef_files(task, rows, n_features, files)
    files[f"{task}.intercept.npy"] = _npy(intercept)
    head = {"classes": classes, "labels": report, "link": link, "coef": coef, "intercept_file": f"{task}.intercept.npy"}
    return {"mode": "multiclass", **head} if task == "topic" else head


def _split(pipeline: Any, task: str) -> tuple[Any, Any]:
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise PortableUnsupported(f"{task}: not a Pipeline of featurizer and classifier")
    if len(pipeline.steps) > 2:
        raise PortableUnsupported(f"{task}: pipeline has extra steps {[n for n, _ in pipeline.steps[1:-1]]}")
    return pipeline.steps[0][1], pipeline.steps[-1][1]


def export_portable(topic_pipeline: Any | None, tone_pipeline: Any | None,
                    topic_labels: Sequence[str], tone_labels: Sequence[str], topic_mode: str = "multilabel",
                    calibration: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """{file name: bytes} of the portable model, or PortableUnsupported(reason). ``calibration``
    is the manifest's record (``artclf.calibration``); its maps travel in ``portable.json``
    (multi-label topic heads and tone only: a multiclass topic head is not calibrated).

    Written in the lowest format version that expresses the model: 2 for a multiclass topic head
    or calibration maps (which version 2 added), else 1, so that older readers keep reading every
    other model."""
    if topic_pipeline is None and tone_pipeline is None:
        raise PortableUnsupported("no pipeline to export")
    if topic_mode not in ("multilabel", "multiclass"):
        raise PortableUnsupported(f"topic mode {topic_mode!r}")
    featurizers = {}
    files: dict[str, bytes] = {}
    version = FORMAT_VERSION if topic_mode == "multiclass" and topic_pipeline is not None else 1
    spec: dict[str, Any] = {"format": FORMAT_NAME, "format_version": version,
                            # The Unicode tables behind lower(), NFKD, \w and \s: a reader on other tables may tokenize differently.
                            "unicode_version": unicodedata.unidata_version}
    for task, pipeline in (("topic", topic_pipeline), ("tone", tone_pipeline)):
        if pipeline is not None:
            featurizers[task] = _split(pipeline, task)
    first = next(iter(featurizers.values()))[0]
    spec["features"] = _features(first, files)
    if len(featurizers) == 2 and featurizers["tone"][0] is not first:
        # Saved pipelines load as two copies of one vectorizer: accept them when they export equal.
        other: dict[str, bytes] = {}
        if _features(featurizers["tone"][0], other) != spec["features"] or any(other[k] != files[k] for k in other):
            raise PortableUnsupported("topic and tone pipelines use different featurizers")
    n = spec["features"]["n_features"]
    spec["topic"] = None
    if "topic" in featurizers:
        head = _class_head if topic_mode == "multiclass" else (lambda task, *rest: _topic_head(*rest))
        spec["topic"] = head("topic", featurizers["topic"][1], topic_labels, n, files)
    spec["tone"] = _class_head("tone", featurizers["tone"][1], tone_labels, n, files) if "tone" in featurizers else None
    if calibration:
        from artclf.calibration import IDENTITY, topic_maps

        multilabel = spec["topic"] is not None and topic_mode != "multiclass"
        maps = topic_maps(calibration, spec["topic"]["labels"]) if multilabel else []
        # Identity maps everywhere (calibration.method = "none") say nothing: left out, so version 1.
        if any(m != IDENTITY for m in maps):
            spec["topic"]["calibration"] = maps
        if spec["tone"] is not None and calibration.get("tone"):
            spec["tone"]["calibration"] = {"kind": "temperature", "scale": float(calibration["tone"]["scale"])}
        evidence = calibration.get("evidence")
        if evidence:
            low_topic = {k: v for k, v in (evidence.get("topic") or {}).items() if multilabel}
            low_tone = evidence.get("tone") if spec["tone"] is not None else None
            if low_topic or low_tone:
                spec["evidence"] = {"min_terms": int(evidence["min_terms"]), "stop_words": list(evidence["stop_words"]),
                                    "topic": low_topic}
                if low_tone:
                    spec["evidence"]["tone"] = {"kind": "temperature", "scale": float(low_tone["scale"])}
    calibrated = bool((spec["topic"] or {}).get("calibration") or (spec["tone"] or {}).get("calibration") or spec.get("evidence"))
    if calibrated:
        spec["format_version"] = FORMAT_VERSION
    files[MANIFEST_NAME] = json.dumps(spec, indent=1, ensure_ascii=False).encode("utf-8")
    return files


def _labels(results: Sequence[dict[str, Any]]) -> list[Any]:
    return [(r.get("topics"), r.get("tone"), r.get("low_evidence")) for r in results]


def check_parity(portable_files: Mapping[str, bytes], topic_pipeline: Any | None, tone_pipeline: Any | None,
                 texts: Sequence[str], tol: float = 1e-6, topic_mode: str = "multilabel") -> dict[str, Any]:
    """Score ``texts`` with the numpy runtime and with the pipelines (as ArticleModel._pipeline_scores
    does); {"max_abs_diff", "labels_identical", "n"}, or PortableUnsupported when they differ."""
    from train.model.model import ArticleModel

    texts = list(texts)
    portable = PortableModel(portable_files)
    spec = json.loads(portable_files[MANIFEST_NAME])
    manifest = {
        "labels": {"topics": list(portable.topic_labels), "tone": list(spec["tone"]["labels"]) if spec.get("tone") else []},
        "shared_vectorizer": topic_pipeline is not None and tone_pipeline is not None and topic_pipeline[:-1][0] is tone_pipeline[:-1][0],
        "topic_mode": topic_mode,
        # The reference applies the calibration the portable files carry, from its own code.
        "calibration": {
            "topic": dict(zip(portable.topic_labels, (spec.get("topic") or {}).get("calibration") or [])),
            **({"tone": spec["tone"]["calibration"]} if (spec.get("tone") or {}).get("calibration") else {}),
            **({"evidence": spec["evidence"]} if spec.get("evidence") else {}),
        },
    }
    reference = ArticleModel(topic_pipeline, tone_pipeline, manifest)
    if reference.tone_labels != portable.tone_labels or reference.topic_labels != portable.topic_labels:
        raise PortableUnsupported(f"label order differs: {reference.topic_labels + reference.tone_labels} vs {portable.topic_labels + portable.tone_labels}")
    theirs = reference._pipeline_scores(texts) if texts else (None, None)
    mine = portable.scores(texts) if texts else (None, None)
    diff = 0.0
    # Calibration multiplies rounding differences in the decision values by its slope: float32
    # weights (summed in float32 by scikit-learn, in float64 by the readers, ~1e-7 apart) through
    # a steep map differ by that much more. The tolerance is in decision units times that slope.
    slopes = _steepest(spec)
    scaled = 0.0
    for task, a, b in zip(("topic", "tone"), mine, theirs):
        if (a is None) != (b is None):
            raise PortableUnsupported("the runtime and the pipelines score different tasks")
        if a is not None and a.size:
            if a.shape != b.shape:
                raise PortableUnsupported(f"score shapes differ: {a.shape} vs {b.shape}")
            task_diff = float(np.max(np.abs(a - np.asarray(b, dtype=float))))
            diff = max(diff, task_diff)
            scaled = max(scaled, task_diff / max(1.0, slopes[task]))
    # Labels as each runtime decides them (thresholds, the low-evidence rule), text by text.
    identical = _labels(portable.classify(texts)) == _labels(reference._classify(texts)) if texts else True
    result = {"max_abs_diff": diff, "labels_identical": bool(identical), "n": len(texts)}
    if max(slopes.values()) > 1.0:
        result["max_abs_diff_per_unit_slope"] = scaled
    if not scaled <= tol or not identical:
        raise PortableUnsupported(f"parity check failed on {len(texts)} texts: max |score difference| {diff:.3g} (tolerance {tol:g}"
                                  f"{f' x calibration slope up to {max(slopes.values()):.3g}' if max(slopes.values()) > 1 else ''}), "
                                  f"labels identical: {identical}")
    return result


def _steepest(spec: Mapping[str, Any]) -> dict[str, float]:
    """The largest derivative of each task's calibration maps (1 without calibration)."""
    def binary(m: Mapping[str, Any]) -> float:
        if m["kind"] == "platt":
            return float(m["a"]) / 4.0
        x, y = np.asarray(m["x"], dtype=float), np.asarray(m["y"], dtype=float)
        return float(np.max(np.diff(y) / np.diff(x))) if len(x) > 1 else 0.0

    evidence = spec.get("evidence") or {}
    topic_maps = list((spec.get("topic") or {}).get("calibration") or []) + list((evidence.get("topic") or {}).values())
    tone_maps = [m for m in ((spec.get("tone") or {}).get("calibration"), evidence.get("tone")) if m]
    return {"topic": max([1.0, *map(binary, topic_maps)]), "tone": max([1.0, *(float(m["scale"]) for m in tone_maps)])}


def portable_version_files(
    topic_pipeline: Any | None, tone_pipeline: Any | None, topic_labels: Sequence[str], tone_labels: Sequence[str],
    parity_texts: Sequence[str], topic_mode: str = "multilabel", calibration: Mapping[str, Any] | None = None,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The portable files of a version and the manifest's ``portable`` record.

    The files are published only when the runtime reproduces the pipelines on ``parity_texts``
    (the canaries and the evaluation splits); otherwise no files, and the record says why, so
    `models show` and the runtime's refusal can name the reason.
    """
    try:
        files = export_portable(topic_pipeline, tone_pipeline, topic_labels, tone_labels, topic_mode, calibration)
        parity = check_parity(files, topic_pipeline, tone_pipeline, parity_texts, topic_mode=topic_mode)
    except PortableUnsupported as exc:
        return {}, {"available": False, "reason": exc.reason}
    spec = json.loads(files[MANIFEST_NAME])
    return files, {
        "available": True,
        "format": FORMAT_NAME,
        "format_version": spec["format_version"],
        "unicode_version": spec.get("unicode_version"),
        "files": sorted(files),
        "parity": parity,
    }
