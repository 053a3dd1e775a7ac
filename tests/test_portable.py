"""The portable format: the numpy runtime (artclf._portable) scores, labels and explains exactly as
the scikit-learn pipelines do for every option the trainer can produce, refuses malformed files,
and imports nothing but numpy and the standard library."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from artclf._analyzer import Analyzer, murmurhash3_32, strip_accents_unicode
from artclf._format_version import FORMAT_VERSION
from artclf._portable import PortableFormatError, PortableModel
from portable_cases import CONFIGS, EDGE_TEXTS, check_texts, fit_named
from train.config import Config
from train.model.model import ArticleModel
from train.store.portable import PortableUnsupported, check_parity, export_portable

SCHEMA = Path(__file__).resolve().parents[1] / "artclf" / "format.schema.json"


def _reference(config: Config, fitted) -> ArticleModel:
    manifest = {"labels": {"topics": list(config.labels.topics), "tone": list(config.labels.tone)},
                "shared_vectorizer": fitted.topic is not None and fitted.tone is not None, "calibration": fitted.calibration,
                "topic_mode": config.topic.mode}
    return ArticleModel(fitted.topic, fitted.tone, manifest)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_runtime_equals_the_pipelines(name):
    config = CONFIGS[name]
    fitted = fit_named(name)
    files = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), config.topic.mode,
                            fitted.calibration)
    texts = check_texts()
    # The lowest version that expresses the model: 2 only for a multiclass topic head or calibration maps.
    spec = json.loads(files["portable.json"])
    calibrated = bool((spec["topic"] or {}).get("calibration") or (spec["tone"] or {}).get("calibration") or spec.get("evidence"))
    assert spec["format_version"] == (2 if (config.topic.mode == "multiclass" and fitted.topic) or calibrated else 1)

    report = check_parity(files, fitted.topic, fitted.tone, texts, tol=1e-6, topic_mode=config.topic.mode)
    # Calibration scales float32 rounding by its slope; the gate allows 1e-6 per unit of slope.
    assert report["labels_identical"] and report.get("max_abs_diff_per_unit_slope", report["max_abs_diff"]) <= 1e-6
    assert report["n"] == len(texts)
    tol = 1e-6 * max(1.0, report["max_abs_diff"] / max(report.get("max_abs_diff_per_unit_slope", report["max_abs_diff"]), 1e-300))

    from artclf.model import Model

    # As apps load it: the runtime's Model (empty texts get the explicit empty answer, as in
    # ArticleModel) around the numpy scorer.
    portable, reference = Model(PortableModel(files), {"version": "test"}), _reference(config, fitted)
    assert portable.topic_labels == reference.topic_labels
    assert portable.tone_labels == reference.tone_labels
    # Against what apps get today (the fast path where it applies), not only the raw pipelines.
    mine, theirs = portable.raw_scores(texts), reference.raw_scores(texts)
    for a, b in zip(mine, theirs):
        assert a.keys() == b.keys()
        for task in a:
            assert list(a[task]) == list(b[task])
            assert max(abs(a[task][k] - b[task][k]) for k in a[task]) <= tol
    for a, b in zip(portable.classify(texts), reference.classify(texts)):
        assert a.get("empty") == b.get("empty") and a.get("low_evidence") == b.get("low_evidence")
        assert a.get("topics") == b.get("topics") and a.get("topic") == b.get("topic") and a.get("tone") == b.get("tone")
        for task in ("topic_scores", "tone_scores"):
            if task in a:
                assert all(abs(a[task][k] - b[task][k]) <= 1e-4 for k in a[task])  # 4-place rounding may straddle
    # Explanations: the same n-grams, names and rounded weights, in the same order.
    for a, b in zip(portable.explain_batch(texts, top=4), reference.explain_batch(texts, top=4)):
        assert a["explanation"] == b["explanation"]

    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(files["portable.json"]), json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_murmurhash_equals_sklearn_on_random_unicode():
    from sklearn.utils import murmurhash3_32 as reference

    rng = np.random.default_rng(0)
    pools = [(0x20, 0x7F), (0xA0, 0x800), (0x800, 0xD800), (0xE000, 0x10000), (0x10000, 0x1FAFF)]
    for _ in range(3000):
        length = int(rng.integers(0, 24))
        lo, hi = pools[int(rng.integers(0, len(pools)))]
        data = "".join(chr(int(c)) for c in rng.integers(lo, hi, size=length)).encode("utf-8")
        assert murmurhash3_32(data) == reference(data, seed=0)
    for seed in (0, 1, 2**31):
        assert murmurhash3_32(b"gas pipeline", seed) == reference(b"gas pipeline", seed=seed)


@pytest.mark.parametrize("settings", [
    dict(analyzer="word", token_pattern=r"(?u)\b\w\w+\b", ngram_range=(1, 3)),
    dict(analyzer="word", token_pattern=r"(?u)\w+|[^\w\s]", stop_words="english", ngram_range=(1, 2)),
    dict(analyzer="word", token_pattern=r"(?u)(?<=[\s\S]{30})[\s\S]+|(\b\w\w+\b)", stop_words=[""]),
    dict(analyzer="word", lowercase=False, strip_accents=None),
    dict(analyzer="char_wb", ngram_range=(1, 4)),
    dict(analyzer="char_wb", ngram_range=(3, 3), lowercase=False, strip_accents=None),
])
def test_analyzer_equals_sklearn(settings):
    from sklearn.feature_extraction.text import TfidfVectorizer

    settings = {"strip_accents": "unicode", **settings}
    vectorizer = TfidfVectorizer(**settings)
    stop = vectorizer.get_stop_words()
    mine = Analyzer({"kind": settings["analyzer"], "lowercase": settings.get("lowercase", True),
                     "strip_accents": settings["strip_accents"], "ngram_range": list(settings.get("ngram_range", (1, 1))),
                     "token_pattern": vectorizer.token_pattern, "stop_words": sorted(stop) if stop is not None else None})
    theirs = vectorizer.build_analyzer()
    for text in EDGE_TEXTS:
        assert mine(text) == theirs(text)


def test_strip_accents_equals_sklearn_on_every_code_point():
    from sklearn.feature_extraction.text import strip_accents_unicode as reference

    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert strip_accents_unicode(text) == reference(text)


# -- refusals ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    fitted = fit_named("default")
    return export_portable(fitted.topic, fitted.tone, ["diplomacy", "energy", "territory"], ["positive", "neutral", "negative"], calibration=fitted.calibration)


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _with_spec(files: dict[str, bytes], change) -> dict[str, bytes]:
    spec = json.loads(files["portable.json"])
    change(spec)
    return {**files, "portable.json": json.dumps(spec).encode()}


def test_reader_refuses_an_unknown_format_version(files):
    bad = _with_spec(files, lambda s: s.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(PortableFormatError, match=rf"format version {FORMAT_VERSION + 1} is not supported .*upgrade"):
        PortableModel(bad)


def test_a_multiclass_topic_head_needs_format_version_2():
    config = CONFIGS["multiclass topic logreg"]
    fitted = fit_named("multiclass topic logreg")
    files = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), "multiclass")
    with pytest.raises(PortableFormatError, match="multiclass topic head needs format version 2"):
        PortableModel(_with_spec(files, lambda s: s.update(format_version=1)))


def test_one_format_version_2_carries_calibration_and_multiclass_topics(files):
    """Version 2 is one format: calibration maps and the multiclass topic head. A writer writes 1
    when the model uses neither; a reader refuses either in a version-1 file."""
    spec = json.loads(files["portable.json"])
    assert spec["format_version"] == 2 and spec["topic"]["calibration"] and spec["tone"]["calibration"]
    for edit in (lambda s: s["topic"].pop("calibration"), lambda s: s["tone"].pop("calibration")):
        def downgrade(s, edit=edit):
            s.pop("evidence", None)
            edit(s)
            s["format_version"] = 1
        with pytest.raises(PortableFormatError, match="calibration needs format version 2"):
            PortableModel(_with_spec(files, downgrade))
    with pytest.raises(PortableFormatError, match="evidence maps need format version 2"):
        PortableModel(_with_spec(files, lambda s: (s["topic"].pop("calibration"), s["tone"].pop("calibration"),
                                                   s.update(format_version=1, evidence=spec.get("evidence") or
                                                            {"min_terms": 3, "stop_words": [], "topic": {}}))))
    config = CONFIGS["calibration none"]
    fitted = fit_named("calibration none")
    plain = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), calibration=fitted.calibration)
    assert json.loads(plain["portable.json"])["format_version"] == 1
    # A multiclass topic head is not calibrated: its object carries no maps, and a reader refuses one that does.
    config = CONFIGS["multiclass topic logreg"]
    fitted = fit_named("multiclass topic logreg")
    multi = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), "multiclass",
                            calibration=fitted.calibration)
    mspec = json.loads(multi["portable.json"])
    assert mspec["format_version"] == 2 and "calibration" not in mspec["topic"]
    assert not (mspec.get("evidence") or {}).get("topic")
    PortableModel(multi)
    with pytest.raises(PortableFormatError, match="multiclass topic head carries no calibration"):
        PortableModel(_with_spec(multi, lambda s: s["topic"].update(calibration=[{"kind": "platt", "a": 1.0, "b": 0.0, "threshold": 0.5}])))


def test_reader_refuses_a_npy_that_needs_pickle(files):
    bad = {**files, "topic.coef.npy": _npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)}
    with pytest.raises(PortableFormatError, match="topic.coef.npy: not a plain .npy array"):
        PortableModel(bad)


def test_reader_refuses_a_coefficient_shape_mismatch(files):
    coef = np.load(io.BytesIO(files["tone.coef.npy"]))
    bad = {**files, "tone.coef.npy": _npy(coef[:, :-1])}
    with pytest.raises(PortableFormatError, match=r"tone.coef.npy: shape .* expected"):
        PortableModel(bad)


def test_reader_refuses_vocabulary_and_idf_of_different_lengths(files):
    idf = np.load(io.BytesIO(files["words.idf.npy"]))
    with pytest.raises(PortableFormatError, match=r"words.idf.npy: \d+ IDF values for a branch of \d+ columns"):
        PortableModel({**files, "words.idf.npy": _npy(idf[:-1])})
    terms = json.loads(files["words.vocab.json"])
    with pytest.raises(PortableFormatError, match=r"words.vocab.json: \d+ terms for a branch of \d+ columns"):
        PortableModel({**files, "words.vocab.json": json.dumps(terms + ["extra"]).encode()})


def test_reader_refuses_missing_files_bad_json_and_wrong_dtypes(files):
    with pytest.raises(PortableFormatError, match="portable.json is missing"):
        PortableModel({k: v for k, v in files.items() if k != "portable.json"})
    with pytest.raises(PortableFormatError, match="not valid JSON"):
        PortableModel({**files, "portable.json": b"{"})
    with pytest.raises(PortableFormatError, match="not in the model folder"):
        PortableModel({k: v for k, v in files.items() if k != "topic.intercept.npy"})
    with pytest.raises(PortableFormatError, match="dtype"):
        PortableModel({**files, "words.idf.npy": _npy(np.ones(3, dtype=np.int8))})
    with pytest.raises(PortableFormatError, match="missing or malformed field"):
        PortableModel(_with_spec(files, lambda s: s["features"].pop("branches")))


def test_exporter_refuses_what_the_format_cannot_express(files):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import MaxAbsScaler

    texts = ["gas pipeline oil", "border talks summit", "oil gas rose", "treaty border fell"]
    tones = ["positive", "negative", "positive", "negative"]
    union = FeatureUnion([("words", TfidfVectorizer()), ("chars", TfidfVectorizer(analyzer="char_wb"))], transformer_weights={"words": 2.0})
    cases = {
        "transformer_weights": Pipeline([("f", union), ("clf", RidgeClassifier())]),
        "extra steps": Pipeline([("f", TfidfVectorizer()), ("scale", MaxAbsScaler()), ("clf", RidgeClassifier())]),
        "RidgeClassifier": Pipeline([("f", TfidfVectorizer()), ("clf", RidgeClassifier())]),
        "analyzer='char'": Pipeline([("f", TfidfVectorizer(analyzer="char")), ("clf", RidgeClassifier())]),
        "tokenizer=": Pipeline([("f", TfidfVectorizer(tokenizer=str.split, token_pattern=None)), ("clf", RidgeClassifier())]),
    }
    for reason, pipeline in cases.items():
        pipeline.fit(texts, tones)
        with pytest.raises(PortableUnsupported, match=reason):
            export_portable(None, pipeline, [], ["positive", "negative"])


def test_parity_gate_raises_when_the_runtime_would_differ(files):
    fitted = fit_named("default")
    exported = export_portable(fitted.topic, fitted.tone, ["diplomacy", "energy", "territory"], ["positive", "neutral", "negative"], calibration=fitted.calibration)
    coef = np.load(io.BytesIO(exported["tone.coef.npy"]))
    tampered = {**exported, "tone.coef.npy": _npy(coef * 1.01)}
    with pytest.raises(PortableUnsupported, match="parity check failed"):
        check_parity(tampered, fitted.topic, fitted.tone, check_texts())


# -- dependencies --------------------------------------------------------------------------------

def test_runtime_imports_only_numpy_and_the_standard_library(files, tmp_path):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    script = (
        "import sys, pathlib\n"
        "from artclf._portable import PortableModel\n"
        f"folder = pathlib.Path({str(tmp_path)!r})\n"
        "model = PortableModel({p.name: p.read_bytes() for p in folder.iterdir()})\n"
        "model.classify(['gas pipeline talks']); model.explain_batch(['gas pipeline talks'])\n"
        "banned = ('sklearn', 'scipy', 'skops', 'joblib', 'datasets', 'train', 'features')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# -- calibration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "calibration platt", "calibration isotonic", "calibration isotonic svc float32",
                                  "precision target", "calibration none"])
def test_plain_pipelines_give_the_calibrated_models_labels(name):
    """Thresholds live on the probability scale but are still folded into the intercepts: a plain
    joblib/skops pipeline's predict() gives the labels the calibrated runtimes give."""
    config = CONFIGS[name]
    fitted = fit_named(name)
    texts = [t for t in check_texts() if t.strip()]
    files = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), calibration=fitted.calibration)
    portable = PortableModel(files)
    plain_topics = fitted.topic.predict(texts)
    plain_tone = fitted.tone.predict(texts)
    checked = 0
    for row, topics, tone in zip(portable.classify(texts), plain_topics, plain_tone):
        assert row["tone"] == tone
        if row.get("low_evidence"):
            # Too little evidence: the runtime's own maps decide (as for an empty text), never every topic.
            assert len(row["topics"]) < len(config.labels.topics)
            continue
        assert row["topics"] == [label for label, on in zip(config.labels.topics, topics) if on]
        checked += 1
    assert checked >= len(texts) // 2
    maps = fitted.calibration["topic"]
    if name != "calibration none":
        assert {m["kind"] for m in maps.values()} <= {"platt", "isotonic"}
        assert "tone" in fitted.calibration and fitted.calibration["tone"]["scale"] > 0
    else:
        assert all(m == {"kind": "platt", "a": 1.0, "b": 0.0, "threshold": 0.5} for m in maps.values())
        assert "tone" not in fitted.calibration
    if name == "calibration isotonic":
        assert {m["kind"] for m in maps.values()} == {"isotonic"}


@pytest.mark.parametrize("change, message", [
    (lambda s: s["topic"]["calibration"][0].update(kind="beta"), "unknown calibration kind"),
    (lambda s: s["topic"]["calibration"][0].update(a=-1.0), "a > 0"),
    (lambda s: s["topic"]["calibration"][0].update(threshold=1.5), "threshold"),
    (lambda s: s["topic"]["calibration"].pop(), "one map per label"),
    (lambda s: s["topic"]["calibration"].__setitem__(0, {"kind": "isotonic", "x": [1.0, 0.0], "y": [0.1, 0.9], "threshold": 0.5}), "increasing"),
    (lambda s: s["tone"].update(calibration={"kind": "temperature", "scale": 0}), "tone calibration"),
])
def test_reader_refuses_bad_calibration_maps(files, change, message):
    with pytest.raises(PortableFormatError, match=message):
        PortableModel(_with_spec(files, change))


# -- fast paths: C hashing, one-text paths, float32 sums ------------------------------------------

def test_mmh3_and_the_pure_python_hash_agree_with_sklearn():
    mmh3 = pytest.importorskip("mmh3")
    from sklearn.utils import murmurhash3_32 as reference

    from artclf._analyzer import _python_term_hash, term_hasher

    assert term_hasher() is mmh3.hash  # the C hash is used when installed
    rng = np.random.default_rng(1)
    pools = [(0x20, 0x7F), (0xA0, 0x800), (0x800, 0xD800), (0xE000, 0x10000), (0x10000, 0x1FAFF)]
    terms = ["", "gas pipeline", "ﬁnance", "Straße 🎉"] + [
        "".join(chr(int(c)) for c in rng.integers(*pools[int(rng.integers(0, len(pools)))], size=int(rng.integers(0, 24))))
        for _ in range(3000)]
    for term in terms:
        assert mmh3.hash(term) == _python_term_hash(term) == reference(term, positive=False), term


def _write(files: dict[str, bytes], folder: Path) -> None:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_a_hashed_model_scores_the_same_without_mmh3(tmp_path):
    config = CONFIGS["hashed lead char bigrams"]
    fitted = fit_named("hashed lead char bigrams")
    files = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), calibration=fitted.calibration)
    _write(files, tmp_path / "model")
    texts = check_texts()
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    script = (
        "import json, sys, pathlib\n"
        "sys.modules['mmh3'] = None  # as if not installed: the import fails\n"
        "from artclf._analyzer import term_hasher, _python_term_hash\n"
        "assert term_hasher() is _python_term_hash\n"
        "from artclf._portable import PortableModel\n"
        "folder = pathlib.Path(sys.argv[1])\n"
        "model = PortableModel({p.name: p.read_bytes() for p in (folder / 'model').iterdir()})\n"
        "print(json.dumps(model.raw_scores(json.loads((folder / 'texts.json').read_text(encoding='utf-8')))))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == json.loads(json.dumps(PortableModel(files).raw_scores(texts)))


@pytest.mark.parametrize("name", ["default", "hashed lead char bigrams", "float32 pruned (sparse CSC)", "english stop words 1-2"])
def test_one_text_at_a_time_gives_the_batch_features_and_decisions_bit_for_bit(name):
    config = CONFIGS[name]
    fitted = fit_named(name)
    model = PortableModel(export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone),
                                          calibration=fitted.calibration))
    texts = check_texts()
    indptr, indices, data = model.features(texts)
    heads = [h for h in (model._topic, getattr(model._tone, "head", None)) if h is not None]
    batch = [h.decision(indptr, indices, data) for h in heads]
    for i, text in enumerate(texts):
        one = model.features([text])
        lo, hi = indptr[i], indptr[i + 1]
        assert np.array_equal(one[1], indices[lo:hi]) and np.array_equal(one[2], data[lo:hi]) and one[2].dtype == data.dtype
        for head, decisions in zip(heads, batch):
            assert np.array_equal(head.decision(*one)[0], decisions[i])


@pytest.mark.parametrize("name", ["float32", "float32 pruned (sparse CSC)", "svc both float32 pruned", "hashed nb_svm float32 pruned"])
def test_float32_decisions_are_scikit_learns_bit_for_bit(name):
    """scikit-learn (scipy's sparse product) sums float32 products in float32, feature after
    feature; summing them in float64 differs in the last bits (2.4e-6 apart on 20 Newsgroups)."""
    config = CONFIGS[name]
    fitted = fit_named(name)
    model = PortableModel(export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone),
                                          calibration=fitted.calibration))
    texts = check_texts()
    X = model.features(texts)
    theirs = fitted.tone[-1].decision_function(fitted.tone[:-1].transform(texts))
    assert theirs.dtype == np.float32
    mine = model._tone.head.decision(*X)
    assert np.array_equal(mine, np.asarray(theirs, dtype=np.float64).reshape(mine.shape))
    estimators = fitted.topic[-1].estimators_
    topic_X = fitted.topic[:-1].transform(texts)
    theirs = np.column_stack([e.decision_function(topic_X) for e in estimators])
    assert np.array_equal(model._topic.decision(*X), theirs.astype(np.float64))
