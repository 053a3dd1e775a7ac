"""Naive-Bayes-scaled linear models (train/nbsvm.py) and the lead features: stock objects, the
model they claim to be."""

import pickle
import random

import numpy as np
import pytest
import scipy.sparse as sp

from features import build_vectorizer
from train.config import AugmentConfig, Config, FeaturesConfig, LabelsConfig, ToneConfig, TrainConfig
from train.fit.fit import fit_models
from train.model.model import ArticleModel
from train.fit.nbsvm import fit_nb_linear

WORDS = {
    "sport": "match goal league striker coach stadium season cup referee penalty".split(),
    "money": "shares bank profit market investors earnings dividend bond inflation rate".split(),
    "space": "orbit rocket launch satellite astronaut mission lunar crew capsule telescope".split(),
}
FILLER = "the a said on in of and today after before with for their".split()


def corpus(n_per_class: int = 15, seed: int = 0, classes=tuple(WORDS)) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for label in classes:
        for _ in range(n_per_class):
            texts.append(" ".join(rng.choice(WORDS[label]) if rng.random() < 0.3 else rng.choice(FILLER) for _ in range(30)))
            labels.append(label)
    return texts, labels


@pytest.mark.parametrize("base", ["linear_svc", "logreg"])
def test_without_scaling_or_blend_it_is_plain_one_vs_rest(base):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    texts, labels = corpus()
    X = build_vectorizer(FeaturesConfig(hash_bits=12)).fit_transform(texts)
    make = (lambda: LinearSVC(C=1.0, random_state=0)) if base == "linear_svc" else (lambda: LogisticRegression(C=1.0, max_iter=2000, random_state=0))
    model = fit_nb_linear(X, labels, make, scale_power=0.0, blend=0.0)
    assert type(model) is (LinearSVC if base == "linear_svc" else LogisticRegression)
    assert model.coef_.shape == (3, 2**12) and list(model.classes_) == sorted(WORDS)
    for k, label in enumerate(model.classes_):
        y = (np.asarray(labels) == label).astype(int)
        single = (LinearSVC(C=1.0, random_state=0) if base == "linear_svc" else LogisticRegression(C=1.0, max_iter=2000, random_state=0)).fit(X, y)
        np.testing.assert_allclose(model.decision_function(X)[:, k], single.decision_function(X), rtol=1e-3, atol=1e-3)


def test_scaling_is_folded_into_the_coefficients():
    from sklearn.svm import LinearSVC

    texts, labels = corpus()
    X = sp.csr_matrix(build_vectorizer(FeaturesConfig()).fit_transform(texts))
    model = fit_nb_linear(X, labels, lambda: LinearSVC(C=1.0, random_state=0), scale_power=1.0, blend=0.0)
    # Refit class 0 by hand on the explicitly scaled matrix: same decisions on the unscaled one.
    label = model.classes_[0]
    y = (np.asarray(labels) == label).astype(int)
    present = (X > 0).astype(float)
    inside = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1
    outside = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1
    ratio = np.log((inside / inside.sum()) / (outside / outside.sum()))
    scale = np.abs(ratio) / np.abs(ratio).mean()
    by_hand = LinearSVC(C=1.0, random_state=0).fit(X @ sp.diags(scale), y)
    np.testing.assert_allclose(model.decision_function(X)[:, 0], by_hand.decision_function(X @ sp.diags(scale)), rtol=1e-3, atol=1e-3)


def test_two_classes_give_one_row_for_the_second_class():
    from sklearn.svm import LinearSVC

    texts, labels = corpus(classes=("money", "space"))
    X = build_vectorizer(FeaturesConfig()).fit_transform(texts)
    model = fit_nb_linear(X, labels, lambda: LinearSVC(C=1.0, class_weight="balanced", random_state=0), scale_power=0.5, blend=0.3)
    assert model.coef_.shape == (1, X.shape[1]) and list(model.classes_) == ["money", "space"]
    assert (model.predict(X) == np.asarray(labels)).mean() == 1.0


@pytest.mark.parametrize("classifier", ["nb_svm", "nb_logreg"])
def test_nb_tone_models_learn_save_as_stock_objects_and_take_the_fast_path(classifier):
    config = Config(
        labels=LabelsConfig(topics=(), tone=tuple(WORDS)),
        features=FeaturesConfig(hash_bits=14),
        tone=ToneConfig(classifier=classifier, C=1.0, nb_scale=0.5, nb_blend=0.3),
        augment=AugmentConfig(short_views=False), train=TrainConfig(coef_dtype="float32", keep_weights=0.5),
    )
    texts, labels = corpus()
    tone = fit_models(texts, [()] * len(texts), labels, config).tone
    test_texts, test_labels = corpus(seed=1)
    assert (tone.predict(test_texts) == np.asarray(test_labels)).mean() >= 0.9
    blob = pickle.dumps(tone)
    assert b"train." not in blob and b"features" not in blob.replace(b"n_features", b"")
    model = ArticleModel(None, pickle.loads(blob), {"labels": {"topics": [], "tone": list(WORDS)}})
    assert model._fast is not None
    np.testing.assert_allclose(model.scores(test_texts)[1], model._pipeline_scores(test_texts)[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("hash_bits", [0, 12])
def test_lead_branch_counts_only_the_first_characters(hash_bits):
    config = FeaturesConfig(lead_chars=13, min_df=1, hash_bits=hash_bits)
    text = "Rocket hits orbit and then the story goes on about shares"
    union = build_vectorizer(config).fit([text, "bank shares"])
    lead = union.transformer_list[1][1]
    X = lead.transform([text])
    if hash_bits:
        words = build_vectorizer(FeaturesConfig(min_df=1, hash_bits=hash_bits)).fit(["x"])
        expected = words.transform(["Rocket hits orbit"])
        assert set(X.indices) == set(expected.indices)
    else:
        # "orbit" starts before character 13 and is kept whole; nothing that starts later is.
        assert sorted(lead.get_feature_names_out()) == ["bank", "hits", "orbit", "rocket", "shares"]
        assert sorted(lead.get_feature_names_out()[X.indices]) == ["hits", "orbit", "rocket"]
