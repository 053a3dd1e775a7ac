"""Model-size options used by the benchmarks: hashed features, float32 and pruned coefficients."""

import pickle
import random

import numpy as np
import pytest

from train.config import Config, FeaturesConfig, TrainConfig, LabelsConfig, load_config
from artclf.errors import ArtclfError
from features import build_vectorizer
from train.fit.fit import compact_classifier, fit_models

WORDS = {
    "sport": "match goal league striker coach stadium season cup referee penalty".split(),
    "money": "shares bank profit market investors earnings dividend bond inflation rate".split(),
    "space": "orbit rocket launch satellite astronaut mission lunar crew capsule telescope".split(),
}
FILLER = "the a said on in of and today after before with for their".split()


def corpus(n_per_class: int = 12, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in WORDS.items():
        for _ in range(n_per_class):
            texts.append(" ".join(rng.choice(words) if rng.random() < 0.5 else rng.choice(FILLER) for _ in range(30)))
            labels.append(label)
    return texts, labels


def tone_only(features: FeaturesConfig = FeaturesConfig(), train: TrainConfig = TrainConfig()) -> Config:
    return Config(labels=LabelsConfig(topics=(), tone=tuple(WORDS)), features=features, train=train)


def test_hashed_features_have_fixed_width_and_no_vocabulary():
    texts, _ = corpus()
    vectorizer = build_vectorizer(FeaturesConfig(hash_bits=12))
    X = vectorizer.fit_transform(texts)
    assert X.shape == (len(texts), 2**12)
    assert X.dtype == np.float32
    # TF-IDF rows are l2-normalised, as with the vocabulary vectorizer.
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)), 1.0)
    assert "vocabulary_" not in pickle.dumps(vectorizer).decode("latin-1")


def test_hashed_model_learns_like_the_vocabulary_model():
    texts, labels = corpus()
    test_texts, test_labels = corpus(seed=1)
    for features in (FeaturesConfig(), FeaturesConfig(hash_bits=14)):
        tone = fit_models(texts, [()] * len(texts), labels, tone_only(features)).tone
        assert (tone.predict(test_texts) == np.array(test_labels)).mean() >= 0.9


def test_compact_keeps_the_largest_weights_column_compressed_and_float32():
    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    texts, labels = corpus()
    X = build_vectorizer(FeaturesConfig()).fit_transform(texts)
    clf = LinearSVC(random_state=0).fit(X, labels)
    dense = clf.coef_.copy()
    before = clf.decision_function(X)
    compact_classifier(clf, "float32", keep_weights=0.25)
    # CSC, so decision_function's coef_.T is CSR and needs no per-call conversion.
    assert sp.isspmatrix_csc(clf.coef_) and clf.coef_.dtype == np.float32
    coef = clf.coef_.toarray()
    for row_before, row_after in zip(dense, coef):
        kept = row_after != 0
        # What survives is unchanged and outweighs everything dropped.
        assert np.allclose(row_after[kept], row_before[kept], rtol=1e-6)
        assert np.abs(row_before[kept]).min() >= np.abs(row_before[~kept]).max()
    # Ties at the cut-off are kept, so at least the asked fraction survives.
    assert 0.25 * np.count_nonzero(dense) <= np.count_nonzero(coef) < np.count_nonzero(dense)
    # The pruned model still scores with plain scikit-learn, and predicts what it did before here.
    after = clf.decision_function(X)
    assert after.shape == (len(texts), len(WORDS))
    assert (after.argmax(axis=1) == before.argmax(axis=1)).mean() >= 0.9


def test_compact_without_pruning_stays_dense_and_column_major():
    from sklearn.svm import LinearSVC

    texts, labels = corpus()
    X = build_vectorizer(FeaturesConfig()).fit_transform(texts)
    clf = LinearSVC(random_state=0).fit(X, labels)
    before = clf.decision_function(X)
    compact_classifier(clf, "float32")
    # Column-major, so decision_function's coef_.T needs no per-call copy.
    assert isinstance(clf.coef_, np.ndarray) and clf.coef_.dtype == np.float32 and clf.coef_.T.flags.c_contiguous
    np.testing.assert_allclose(clf.decision_function(X), before, rtol=1e-4, atol=1e-5)


def test_fit_models_applies_dtype_and_pruning_and_save_load_round_trips(tmp_path):
    from train.store.versions import save_version
    from train.store.load import load_model

    texts, labels = corpus()
    config = tone_only(FeaturesConfig(hash_bits=14), TrainConfig(coef_dtype="float32", keep_weights=0.5))
    fitted = fit_models(texts, [()] * len(texts), labels, config)
    coef = fitted.tone[-1].coef_
    assert coef.dtype == np.float32 and coef.nnz <= 0.5 * np.prod(coef.shape)
    manifest = {"labels": {"topics": [], "tone": list(WORDS)}, "library_versions": {}}
    path = save_version(tmp_path / "models", {"tone": fitted.tone}, manifest)
    loaded = load_model(str(path))
    test_texts, _ = corpus(seed=2)
    assert [r["tone"] for r in loaded.predict(test_texts)] == list(fitted.tone.predict(test_texts))
    # Explanations read the (sparse) pruned weights too.
    explained = loaded.explain(test_texts[0])
    assert explained["tone"] == fitted.tone.predict(test_texts[:1])[0]
    # Hashed features keep no vocabulary: the names are the text's own words, hashed again.
    reasons = explained["explanation"]["tone"][explained["tone"]]
    assert reasons and all(set(r["ngram"].split("|")) <= set(test_texts[0].split()) for r in reasons)
    assert {r["ngram"] for r in reasons} & set(WORDS[explained["tone"]])


@pytest.mark.parametrize(
    "override, message",
    [
        ("features.hash_bits=5", "features.hash_bits must be 0"),
        ("train.keep_weights=0", "train.keep_weights must be in (0, 1]"),
        ("train.coef_dtype=float16", "train.coef_dtype must be one of float64, float32"),
    ],
)
def test_size_options_are_checked(override, message):
    with pytest.raises(ArtclfError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(None, [override])
