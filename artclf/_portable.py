"""Read a portable model folder and score texts with numpy alone (FORMAT.md is the spec).

The caller reads the files, checks their sha256 against the manifest and hands over
``{file name: bytes}``; nothing here opens a file, so a reader cannot be pointed at an unchecked
one. Features are built with scikit-learn's float32 arithmetic, in its order of operations, so
explanations (which round products of feature values and weights) match the training side's.
"""

from __future__ import annotations

import io
import json
from itertools import chain, repeat
from typing import Any, Mapping, Sequence

import numpy as np

from artclf.errors import ModelIntegrityError
from artclf.outputs import answers_from_scores

from artclf._analyzer import Analyzer, hashed_index, term_hasher
from artclf.calibration import (IDENTITY, CalibrationError, binary_probability, check_binary, check_evidence, check_tone,
                                evidence_terms, temper)
from artclf._format_version import FORMAT_NAME, SUPPORTED_VERSIONS

__all__ = ["PortableFormatError", "PortableModel", "read_npy", "MANIFEST_NAME"]

MANIFEST_NAME = "portable.json"

# .npy dtypes a reader must accept; anything else (objects above all: they need pickle) is refused.
_NUMERIC = {"<f4", "<f8", "<i4", "<i8"}


class PortableFormatError(ModelIntegrityError, ValueError):
    """A portable model file that cannot be read as the format says."""


def read_npy(files: Mapping[str, bytes], name: Any, dtypes: set[str] = _NUMERIC, ndim: int | None = None) -> np.ndarray:
    """One .npy array by file name, without pickle, of an allowed dtype and rank."""
    if not isinstance(name, str) or name not in files:
        raise PortableFormatError(f"{MANIFEST_NAME} names array file {name!r}, which is not in the model folder")
    try:
        array = np.load(io.BytesIO(files[name]), allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle: refused
        raise PortableFormatError(f"{name}: not a plain .npy array ({exc})") from None
    except Exception as exc:
        raise PortableFormatError(f"{name}: unreadable .npy file ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.str not in dtypes:
        raise PortableFormatError(f"{name}: dtype {getattr(array, 'dtype', '?')} is not one of {sorted(dtypes)}")
    if ndim is not None and array.ndim != ndim:
        raise PortableFormatError(f"{name}: expected {ndim} dimension(s), found shape {array.shape}")
    return array


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PortableFormatError(message)


class _Branch:
    """One TF-IDF block of columns: analyzer, term -> column, IDF, sublinear tf, norm."""

    def __init__(self, spec: dict[str, Any], files: Mapping[str, bytes]) -> None:
        self.name: str = spec["name"]
        self.explain_prefix: str = spec["explain_prefix"]
        self.n_features: int = int(spec["n_features"])
        try:
            self.analyzer = Analyzer(spec["analyzer"])
        except Exception as exc:
            raise PortableFormatError(f"branch {self.name!r}: bad analyzer ({exc})") from None
        terms = spec["terms"]
        self.hashed = terms["kind"] == "hashing"
        self.vocabulary: dict[str, int] | None = None
        self.names: list[str] | None = None
        if self.hashed:
            _require(terms.get("hash") == "murmurhash3_x86_32" and terms.get("seed") == 0 and terms.get("alternate_sign") is False,
                     f"branch {self.name!r}: only unsigned murmurhash3_x86_32 with seed 0 is supported")
            _require(int(terms["n_features"]) == self.n_features, f"branch {self.name!r}: hashing n_features differs from the branch's")
        else:
            _require(terms["kind"] == "vocabulary", f"branch {self.name!r}: unknown terms kind {terms['kind']!r}")
            try:
                names = json.loads(files[terms["file"]].decode("utf-8"))
            except KeyError:
                raise PortableFormatError(f"vocabulary file {terms['file']!r} is not in the model folder") from None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise PortableFormatError(f"{terms['file']}: not a JSON list of terms ({exc})") from None
            # map(type) and zip run in C: a 100,000-term vocabulary costs no Python loop at load.
            _require(isinstance(names, list) and set(map(type, names)) <= {str}, f"{terms['file']}: not a JSON list of strings")
            _require(len(names) == self.n_features, f"{terms['file']}: {len(names)} terms for a branch of {self.n_features} columns")
            self.names = names
            self.vocabulary = dict(zip(names, range(len(names))))
            _require(len(self.vocabulary) == len(names), f"{terms['file']}: duplicate terms")
        if self.hashed:
            self._hash = term_hasher()
        tfidf = spec["tfidf"]
        self.sublinear: bool = bool(tfidf["sublinear_tf"])
        self.norm: str | None = tfidf["norm"]
        _require(self.norm in ("l2", None), f"branch {self.name!r}: norm {self.norm!r} is not supported")
        self.idf: np.ndarray | None = None
        if tfidf.get("idf_file") is not None:
            idf = read_npy(files, tfidf["idf_file"], {"<f4", "<f8"}, 1)
            _require(idf.shape[0] == self.n_features, f"{tfidf['idf_file']}: {idf.shape[0]} IDF values for a branch of {self.n_features} columns")
            self.idf = idf

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's terms (n-grams), as the analyzer gives them."""
        return list(map(self.analyzer, texts))

    def counts(self, terms: Sequence[list[str]], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Term counts as CSR parts (indptr, column indices sorted within a row, float values),
        from each text's terms (:meth:`terms`)."""
        n, width = len(terms), max(self.n_features, 1)
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=n)
        total = int(lengths.sum())
        # Every term of the batch through one C-level map: no Python work per term.
        flat = chain.from_iterable(terms)
        if self.vocabulary is not None:
            columns = np.fromiter(map(self.vocabulary.get, flat, repeat(-1)), dtype=np.int64, count=total)
        else:
            h = np.fromiter(map(self._hash, flat), dtype=np.int64, count=total)
            columns = np.abs(h) % width
            # abs(-2**31) overflows in sklearn's C code, which defines the column as below.
            columns[h == -2147483648] = (2147483647 - (width - 1)) % width
        if self.vocabulary is not None:
            keep = columns >= 0  # out-of-vocabulary terms are dropped
        if n == 1:  # one text (an app's usual call): no row keys to build and split
            columns, counts = np.unique(columns[keep] if self.vocabulary is not None else columns, return_counts=True)
            return np.array([0, len(columns)], dtype=np.int64), columns, counts.astype(dtype)
        keys = columns + np.repeat(np.arange(n, dtype=np.int64) * width, lengths)
        if self.vocabulary is not None:
            keys = keys[keep]
        # One sort for the whole batch: (row, column) keys, counted.
        keys, counts = np.unique(keys, return_counts=True)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // width, minlength=n), out=indptr[1:])
        return indptr, keys % width, counts.astype(dtype)

    def transform(self, terms: Sequence[list[str]], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TfidfTransformer.transform's arithmetic on each text's terms, step by step in the feature dtype."""
        indptr, indices, data = self.counts(terms, dtype)
        if self.sublinear:
            np.log(data, out=data)
            data += dtype.type(1.0)
        if self.idf is not None:
            data *= self.idf[indices].astype(dtype, copy=False)
        if self.norm == "l2" and data.size:
            # As sklearn's inplace_csr_row_normalize_l2: squares in the feature dtype summed in
            # double, one sqrt per row, each value divided in double and stored back.
            if len(indptr) == 2:  # one text: a sequential double sum, as bincount's below
                total = np.add.accumulate(data * data, dtype=np.float64)[-1]
                wide = data.astype(np.float64)
                return indptr, indices, (wide / np.sqrt(total) if total else wide).astype(dtype)
            rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            sums = np.bincount(rows, weights=data * data, minlength=len(indptr) - 1)
            norms = np.sqrt(sums)
            norms[sums == 0.0] = 1.0
            data = (data.astype(np.float64) / norms[rows]).astype(dtype)
        return indptr, indices, data


class _Head:
    """A linear head: decision = X @ coef.T + intercept, one column per output."""

    def __init__(self, spec: dict[str, Any], files: Mapping[str, bytes], n_features: int, n_outputs: int, task: str) -> None:
        coef = spec["coef"]
        self.dense: np.ndarray | None = None
        self.csc: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._rows: np.ndarray | None = None
        if coef["layout"] == "dense":
            W = read_npy(files, coef["file"], {"<f4", "<f8"}, 2)
            _require(W.shape == (n_outputs, n_features), f"{coef['file']}: shape {W.shape}, expected {(n_outputs, n_features)} ({task} outputs x features)")
            # (features x outputs), row-major: a text's few columns pick a few contiguous rows.
            # Kept in the stored dtype (one copy, no float64 widening of a large hashed model).
            self.dense = np.ascontiguousarray(W.T)
        elif coef["layout"] == "csc":
            _require(list(coef["shape"]) == [n_outputs, n_features], f"{task} coef shape {coef['shape']}, expected {[n_outputs, n_features]}")
            data = read_npy(files, coef["data_file"], {"<f4", "<f8"}, 1)
            rows = read_npy(files, coef["indices_file"], {"<i4", "<i8"}, 1).astype(np.int64)
            ptr = read_npy(files, coef["indptr_file"], {"<i4", "<i8"}, 1).astype(np.int64)
            _require(ptr.shape[0] == n_features + 1 and ptr[0] == 0 and ptr[-1] == data.shape[0] == rows.shape[0]
                     and bool(np.all(np.diff(ptr) >= 0)) and (rows.size == 0 or (rows.min() >= 0 and rows.max() < n_outputs)),
                     f"{task} coef: inconsistent CSC arrays (indptr {ptr.shape}, indices {rows.shape}, data {data.shape})")
            self.csc = (data, rows, ptr)
        else:
            raise PortableFormatError(f"{task} coef: unknown layout {coef['layout']!r}")
        intercept = read_npy(files, spec["intercept_file"], {"<f4", "<f8"}, 1)
        _require(intercept.shape == (n_outputs,), f"{spec['intercept_file']}: shape {intercept.shape}, expected ({n_outputs},)")
        # Kept in its stored dtype: scikit-learn adds a float32 intercept to float32 sums in float32.
        self.intercept = intercept
        self.n_outputs = n_outputs

    def _gather(self, indices: np.ndarray) -> np.ndarray:
        """The weights of the given feature columns, (len(indices) x outputs) in the stored dtype;
        zero where a sparse head stores none."""
        if self.dense is not None:
            return self.dense[indices]
        if self._rows is None:
            data, wrows, ptr = self.csc  # type: ignore[misc]
            # Built on first use: one dense row per feature that has any weight (row 0 is all
            # zeros, for the others), so a text's weights are two fancy-index lookups.
            lengths = np.diff(ptr)
            live = np.flatnonzero(lengths)
            self._slot = np.zeros(len(ptr) - 1, dtype=np.int32)
            self._slot[live] = np.arange(1, len(live) + 1, dtype=np.int32)
            self._rows = np.zeros((len(live) + 1, self.n_outputs), dtype=data.dtype)
            self._rows[np.repeat(self._slot, lengths), wrows] = data
        return self._rows[self._slot[indices]]

    def decision(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> np.ndarray:
        """X @ coef.T + intercept with scikit-learn's arithmetic (scipy's sparse product): per text
        and output, the products in the common dtype of features and weights, summed one after
        the other in column order from zero, in that dtype (float32 when both are float32:
        summing those in float64 instead drifted by up to 2.4e-6 on 20 Newsgroups); then the
        intercept is added in the result's dtype. A stored zero weight adds +0.0: no change."""
        n, k = len(indptr) - 1, self.n_outputs
        W = self._gather(indices)
        dtype = np.result_type(data.dtype, W.dtype)
        products = data.astype(dtype, copy=False)[:, None] * W.astype(dtype, copy=False)
        # np.add.accumulate is the sequential sum by definition (np.sum and reduceat may pair up
        # terms); its last row is the total. One call per text: the products are vectorised.
        if n == 1 and len(indices):
            out = np.add.accumulate(products, axis=0)[-1:]
        else:
            out = np.zeros((n, k), dtype=dtype)
            bounds = indptr.tolist()
            for i in range(n):
                lo, hi = bounds[i], bounds[i + 1]
                if hi > lo:
                    out[i] = np.add.accumulate(products[lo:hi], axis=0)[-1]
        return (out + self.intercept).astype(np.float64, copy=False)

    def weights(self) -> np.ndarray:
        """Dense (outputs x features) float64 weights, for explanations."""
        if self.dense is not None:
            return self.dense.T.astype(np.float64)
        data, rows, ptr = self.csc  # type: ignore[misc]
        W = np.zeros((self.n_outputs, len(ptr) - 1))
        W[rows, np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))] = data
        return W


class _ClassHead:
    """One class per text (tone; a multiclass topic): a linear head and its link to class
    probabilities, reported in ``labels`` order."""

    def __init__(self, spec: dict[str, Any], files: Mapping[str, bytes], n_features: int, task: str) -> None:
        self.classes = [str(x) for x in spec["classes"]]
        self.labels = [str(x) for x in spec["labels"]]
        _require(sorted(self.labels) == sorted(self.classes) and len(set(self.classes)) == len(self.classes) >= 2,
                 f"{task} labels must be the classes (at least two, no repeats) in report order")
        self.link: str = spec["link"]
        outputs = {"softmax": len(self.classes), "logistic_binary": 1, "softmax_binary": 1}
        _require(self.link in outputs, f"{task} link {self.link!r} is not supported")
        _require(self.link == "softmax" or len(self.classes) == 2, f"{task} link {self.link!r} needs exactly two classes")
        self.head = _Head(spec, files, n_features, outputs[self.link], task)
        self.columns = [self.classes.index(t) for t in self.labels]

    def probabilities(self, X: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        d = self.head.decision(*X)
        if self.link == "logistic_binary":
            p = _sigmoid(d[:, 0])
            probs = np.column_stack([1 - p, p])
        elif self.link == "softmax_binary":
            probs = _softmax(np.column_stack([-d[:, 0], d[:, 0]]))
        else:
            probs = _softmax(d)
        return probs[:, self.columns]

    def relative_weights(self) -> dict[str, np.ndarray]:
        """Each class's weights minus the mean over classes (explanations)."""
        coef = self.head.weights()
        if coef.shape[0] == 1:  # binary: the single row pushes toward classes[1]
            coef = np.vstack([-coef[0], coef[0]])
        relative = coef - coef.mean(axis=0, keepdims=True)
        return {c: relative[i] for i, c in enumerate(self.classes)}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _top(indices: np.ndarray, values: np.ndarray, weights: np.ndarray, names: Any, top: int) -> list[dict[str, Any]]:
    """The ``top`` columns of one text with the largest positive value x weight (ties: column order)."""
    if len(indices) == 0:
        return []
    push = values * weights[indices]
    order = np.argsort(-push, kind="stable")[:top]
    return [{"ngram": str(names[indices[i]]), "weight": round(float(push[i]), 4)} for i in order if push[i] > 0]


class PortableModel:
    """A portable model: ``raw_scores``, ``classify``, ``explain_batch``, as ``ArticleModel``'s."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        spec = self._spec(files)
        try:
            self._build(spec, files)
        except PortableFormatError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise PortableFormatError(f"{MANIFEST_NAME}: missing or malformed field ({type(exc).__name__}: {exc})") from None
        self._explain_cache: dict[str, Any] = {}

    @staticmethod
    def _spec(files: Mapping[str, bytes]) -> dict[str, Any]:
        if MANIFEST_NAME not in files:
            raise PortableFormatError(f"{MANIFEST_NAME} is missing from the model folder")
        try:
            spec = json.loads(files[MANIFEST_NAME].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PortableFormatError(f"{MANIFEST_NAME}: not valid JSON ({exc})") from None
        if not isinstance(spec, dict) or spec.get("format") != FORMAT_NAME:
            raise PortableFormatError(f"{MANIFEST_NAME}: not an {FORMAT_NAME} file (format {spec.get('format') if isinstance(spec, dict) else None!r})")
        version = spec.get("format_version")
        if version not in SUPPORTED_VERSIONS:
            raise PortableFormatError(
                f"{MANIFEST_NAME}: format version {version!r} is not supported by this runtime "
                f"(it reads {', '.join(map(str, SUPPORTED_VERSIONS))}); upgrade artclf to load this model")
        return spec

    def _build(self, spec: dict[str, Any], files: Mapping[str, bytes]) -> None:
        features = spec["features"]
        _require(features["dtype"] in ("float32", "float64"), f"features dtype {features['dtype']!r} is not float32 or float64")
        self.dtype = np.dtype(features["dtype"])
        self.branches = [_Branch(b, files) for b in features["branches"]]
        _require(len(self.branches) >= 1, "features: no branches")
        offset = 0
        self.offsets: list[int] = []
        for branch, b in zip(self.branches, features["branches"]):
            _require(int(b["offset"]) == offset, f"branch {branch.name!r}: offset {b['offset']}, expected {offset}")
            self.offsets.append(offset)
            offset += branch.n_features
        _require(int(features["n_features"]) == offset, f"features: n_features {features['n_features']} but branches add up to {offset}")
        self.n_features = offset
        version = int(spec["format_version"])

        self.topic_labels: list[str] = []
        self.topic_maps: list[dict[str, Any]] = []
        self.topic_thresholds: list[float] = []
        self.tone_map: dict[str, Any] | None = None
        self._topic: _Head | _ClassHead | None = None
        self._constant: list[float | None] = []
        # "multilabel": one sigmoid per label; "multiclass" (format version 2): one softmax over the topics.
        self.topic_mode = "multilabel"
        if spec.get("topic") is not None:
            topic = spec["topic"]
            self.topic_mode = topic.get("mode", "multilabel")
            _require(self.topic_mode in ("multilabel", "multiclass"), f"topic mode {self.topic_mode!r} is not supported")
            _require(self.topic_mode == "multilabel" or version >= 2, "a multiclass topic head needs format version 2")
            if self.topic_mode == "multiclass":
                # Multiclass topic heads are not calibrated: no maps, the highest score is the topic.
                _require(topic.get("calibration") is None, "a multiclass topic head carries no calibration")
                self._topic = _ClassHead(topic, files, offset, "topic")
                self.topic_labels = self._topic.labels
            else:
                self.topic_labels = [str(x) for x in topic["labels"]]
                _require(topic["link"] == "sigmoid", f"topic link {topic['link']!r} is not supported")
                self._topic = _Head(topic, files, offset, len(self.topic_labels), "topic")
                constant = topic.get("constant_scores") or [None] * len(self.topic_labels)
                _require(len(constant) == len(self.topic_labels), "topic constant_scores: one entry per label expected")
                self._constant = [None if c is None else float(c) for c in constant]
                maps = topic.get("calibration")
                _require(maps is None or version >= 2, "topic calibration needs format version 2")
                if maps is None:
                    maps = [dict(IDENTITY) for _ in self.topic_labels]
                _require(isinstance(maps, list) and len(maps) == len(self.topic_labels), "topic calibration: one map per label expected")
                try:
                    self.topic_maps = [check_binary(m, f"topic calibration of {label!r}") for m, label in zip(maps, self.topic_labels)]
                except CalibrationError as exc:
                    raise PortableFormatError(str(exc)) from None
                self.topic_thresholds = [float(m["threshold"]) for m in self.topic_maps]

        self.tone_labels: list[str] = []
        self._tone: _ClassHead | None = None
        if spec.get("tone") is not None:
            tone = spec["tone"]
            self._tone = _ClassHead(tone, files, offset, "tone")
            self.tone_classes = self._tone.classes
            self.tone_labels = self._tone.labels
            try:
                self.tone_map = check_tone(tone["calibration"], "tone calibration") if tone.get("calibration") is not None else None
            except CalibrationError as exc:
                raise PortableFormatError(str(exc)) from None
            _require(self.tone_map is None or version >= 2, "tone calibration needs format version 2")
        _require(self._topic is not None or self._tone is not None, "the model has neither a topic nor a tone head")
        self.evidence_maps: dict[str, Any] | None = None
        self._words: _Branch | None = None
        if spec.get("evidence") is not None:
            _require(version >= 2, "evidence maps need format version 2")
            _require(self.topic_mode == "multilabel" or not (spec["evidence"] or {}).get("topic"),
                     "a multiclass topic head carries no calibration (evidence topic maps)")
            try:
                self.evidence_maps = check_evidence(spec["evidence"], self.topic_labels, "evidence")
            except CalibrationError as exc:
                raise PortableFormatError(str(exc)) from None
            self._stop_words = frozenset(self.evidence_maps["stop_words"])
            self._words = next((b for b in self.branches if b.name == "words"), None)
            self._low_topic = [self.evidence_maps["topic"].get(label) for label in self.topic_labels]

    # -- features -------------------------------------------------------------------------
    def terms(self, texts: Sequence[str]) -> list[list[list[str]]]:
        """Per branch, each text's terms: analysed once, for the features and the evidence check."""
        return [b.terms(texts) for b in self.branches]

    def features(self, texts: Sequence[str], terms: list[list[list[str]]] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts (indptr, indices, data) of the whole feature matrix: branches side by side."""
        terms = self.terms(texts) if terms is None else terms
        parts = [b.transform(t, self.dtype) for b, t in zip(self.branches, terms)]
        if len(parts) == 1:
            return parts[0]
        lengths = np.stack([np.diff(p[0]) for p in parts], axis=1)  # (n, branches)
        indptr = np.concatenate(([0], np.cumsum(lengths.sum(axis=1))))
        indices = np.empty(indptr[-1], dtype=np.int64)
        data = np.empty(indptr[-1], dtype=self.dtype)
        # Row by row, branch after branch: column order within each row stays ascending.
        starts = indptr[:-1].copy()
        for (p_ptr, p_idx, p_data), offset, width in zip(parts, self.offsets, lengths.T):
            target = np.repeat(starts - p_ptr[:-1], width) + np.arange(p_ptr[-1])
            indices[target] = p_idx + offset
            data[target] = p_data
            starts += width
        return indptr, indices, data

    # -- scores ---------------------------------------------------------------------------
    def low_evidence(self, texts: Sequence[str], terms: list[list[list[str]]] | None = None) -> np.ndarray | None:
        """Which texts have too little evidence (FORMAT.md, "Too little evidence"), or None."""
        if self.evidence_maps is None or self._words is None:
            return None
        words = terms[self.branches.index(self._words)] if terms is not None else self._words.terms(texts)
        vocabulary, stop_words, min_terms = self._words.vocabulary, self._stop_words, self.evidence_maps["min_terms"]
        return np.array([evidence_terms(t, vocabulary, stop_words) < min_terms for t in words], dtype=bool)

    def _scores_from(self, X: tuple[np.ndarray, np.ndarray, np.ndarray],
                     low: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
        topic = tone = None
        if isinstance(self._topic, _ClassHead):
            # Multiclass topic heads are not calibrated.
            topic = self._topic.probabilities(X)
        elif self._topic is not None:
            d = self._topic.decision(*X)
            topic = np.empty_like(d)
            for j, (c, spec) in enumerate(zip(self._constant, self.topic_maps)):
                topic[:, j] = c if c is not None else binary_probability(d[:, j], spec)
                if c is None and low is not None and low.any() and self._low_topic[j] is not None:
                    topic[low, j] = binary_probability(d[low, j], self._low_topic[j])
        if self._tone is not None:
            probs = self._tone.probabilities(X)  # labels order; tempering is per row, order-free
            calibrated = temper(probs, self.tone_map)
            low_tone = (self.evidence_maps or {}).get("tone")
            if low is not None and low.any() and low_tone is not None:
                calibrated[low] = temper(probs[low], low_tone)
            tone = calibrated
        return topic, tone

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(topic scores, tone scores) arrays, columns in ``topic_labels`` / ``tone_labels`` order."""
        texts = list(texts)
        terms = self.terms(texts)
        return self._scores_from(self.features(texts, terms), self.low_evidence(texts, terms))

    def raw_scores(self, texts: Sequence[str]) -> list[dict[str, dict[str, float]]]:
        topic, tone = self.scores(texts)
        out: list[dict[str, dict[str, float]]] = [{} for _ in range(len(texts))]
        if topic is not None:
            for row, s in zip(out, topic):
                row["topic_scores"] = {label: float(p) for label, p in zip(self.topic_labels, s)}
        if tone is not None:
            for row, s in zip(out, tone):
                row["tone_scores"] = {label: float(p) for label, p in zip(self.tone_labels, s)}
        return out

    def _classify_from(self, topic: np.ndarray | None, tone: np.ndarray | None, n: int,
                       low: np.ndarray | None = None) -> list[dict[str, Any]]:
        return answers_from_scores(topic, tone, topic_labels=self.topic_labels, tone_labels=self.tone_labels,
                                   topic_thresholds=self.topic_thresholds, multiclass=self.topic_mode == "multiclass",
                                   n=n, low=low)

    def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """{"topics", "topic_scores", "tone", "tone_scores"} per text (scores rounded to 4 places)."""
        texts = list(texts)
        terms = self.terms(texts)
        low = self.low_evidence(texts, terms)
        return self._classify_from(*self._scores_from(self.features(texts, terms), low), len(texts), low)

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [{k: r[k] for k in ("topics", "topic", "tone") if k in r} for r in self.classify(texts)]

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [{k: r[k] for k in ("topic_scores", "tone_scores") if k in r} for r in self.classify(texts)]

    # -- explanations ---------------------------------------------------------------------
    def _names(self, text: str) -> Any:
        """Column -> n-gram: the vocabulary, or for hashed branches this text's own n-grams re-hashed."""
        if all(b.hashed for b in self.branches):
            names: dict[int, str] = {}
            for branch, offset in zip(self.branches, self.offsets):
                for ngram in sorted({g for g in branch.analyzer(text) if g}):
                    key = offset + hashed_index(ngram, branch.n_features)
                    names[key] = f"{names[key]}|{branch.explain_prefix}{ngram}" if key in names else branch.explain_prefix + ngram
            return names
        if "names" not in self._explain_cache:
            self._explain_cache["names"] = [b.explain_prefix + t for b in self.branches for t in (b.names or [])]
        return self._explain_cache["names"]

    def _tone_weights(self) -> dict[str, np.ndarray]:
        if "tone" not in self._explain_cache:
            self._explain_cache["tone"] = self._tone.relative_weights()  # type: ignore[union-attr]
        return self._explain_cache["tone"]

    def explain_batch(self, texts: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
        """classify() plus "explanation": for each predicted label the ``top`` n-grams whose
        value times weight pushed it most (tones: weight relative to the mean over tones)."""
        texts = list(texts)
        terms = self.terms(texts)
        X = self.features(texts, terms)
        indptr, indices, data = X
        low = self.low_evidence(texts, terms)
        results = self._classify_from(*self._scores_from(X, low), len(texts), low)
        explanations: list[dict[str, Any]] = [{} for _ in texts]
        values64 = data.astype(np.float64)
        if self._topic is not None:
            if "topic" not in self._explain_cache:
                if isinstance(self._topic, _ClassHead):
                    # One category per article: the push toward a topic relative to the average topic, as for tone.
                    relative = self._topic.relative_weights()
                    self._explain_cache["topic"] = [relative[label] for label in self.topic_labels]
                else:
                    W = self._topic.weights()
                    self._explain_cache["topic"] = [None if c is not None else W[j] for j, c in enumerate(self._constant)]
            weights = self._explain_cache["topic"]
            for i, result in enumerate(results):
                names = self._names(texts[i])
                lo, hi = indptr[i], indptr[i + 1]
                explanations[i]["topics"] = {
                    label: [] if weights[self.topic_labels.index(label)] is None else
                    _top(indices[lo:hi], values64[lo:hi], weights[self.topic_labels.index(label)], names, top)
                    for label in result["topics"]
                }
        if self._tone is not None:
            weights_by_tone = self._tone_weights()
            for i, result in enumerate(results):
                lo, hi = indptr[i], indptr[i + 1]
                tone = result["tone"]
                explanations[i]["tone"] = {tone: _top(indices[lo:hi], values64[lo:hi], weights_by_tone[tone], self._names(texts[i]), top)}
        return [r | {"explanation": e} for r, e in zip(results, explanations)]

    def explain(self, text: str, top: int = 5) -> dict[str, Any]:
        return self.explain_batch([text], top)[0]

