"""The serving fast path (train.model.scoring) gives the pipelines' own scores, or steps aside."""

import random

import numpy as np
import pytest

from train.config import Config, FeaturesConfig, LabelsConfig, TopicConfig, ToneConfig, TrainConfig
from train.fit.fit import fit_models
from train.model.model import ArticleModel

TOPIC_WORDS = {
    "energy": "gas pipeline oil power grid reactor barrels".split(),
    "territory": "border region annexed frontier island occupied".split(),
    "diplomacy": "ministers summit talks envoy treaty embassy".split(),
}
TONE_WORDS = {
    "positive": "rose agreed welcomed record gains".split(),
    "neutral": "said held noted scheduled reported".split(),
    "negative": "fell collapsed condemned losses warned".split(),
}
FILLER = "the a said on in of and today after Tuesday 5% (Reuters) with for their".split()


def corpus(n: int = 60, seed: int = 0) -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    rng = random.Random(seed)
    texts, topics, tones = [], [], []
    for i in range(n):
        labels = tuple(t for t in TOPIC_WORDS if rng.random() < 0.4)
        tone = list(TONE_WORDS)[i % 3]
        pool = [w for t in labels for w in TOPIC_WORDS[t]] + TONE_WORDS[tone] + FILLER * 2
        texts.append(" ".join(rng.choice(pool) for _ in range(25)))
        topics.append(labels)
        tones.append(tone)
    return texts, topics, tones


def model_for(config: Config) -> ArticleModel:
    texts, topics, tones = corpus()
    fitted = fit_models(texts, topics, tones, config)
    manifest = {
        "labels": {"topics": list(config.labels.topics), "tone": list(config.labels.tone)},
        "shared_vectorizer": fitted.topic is not None and fitted.tone is not None,
    }
    return ArticleModel(fitted.topic, fitted.tone, manifest)


FAST = {
    "default": Config(),
    "hashed": Config(features=FeaturesConfig(hash_bits=14)),
    "bigrams, no sublinear, no min_df": Config(features=FeaturesConfig(ngram_range=(1, 2), sublinear_tf=False, min_df=1)),
    "word and char n-grams": Config(features=FeaturesConfig(char_ngrams=True, char_ngram_range=(2, 4))),
    "hashed word and char": Config(features=FeaturesConfig(char_ngrams=True, hash_bits=12)),
    "linear SVMs, float32 pruned": Config(
        topic=TopicConfig(classifier="linear_svc"), tone=ToneConfig(classifier="linear_svc"),
        train=TrainConfig(coef_dtype="float32", keep_weights=0.3),
    ),
    "tone only": Config(labels=LabelsConfig(topics=())),
    "topic only, fixed thresholds": Config(labels=LabelsConfig(tone=()), topic=TopicConfig(thresholds="fixed")),
    "two tones (binary logistic regression)": Config(labels=LabelsConfig(tone=("positive", "negative"))),
    "two tones (binary SVM)": Config(labels=LabelsConfig(tone=("positive", "negative")), tone=ToneConfig(classifier="linear_svc")),
}


@pytest.mark.parametrize("name", list(FAST))
def test_fast_path_scores_equal_the_pipeline_scores(name):
    config = FAST[name]
    if len(config.labels.tone) == 2:
        texts, topics, tones = corpus()
        keep = [i for i, t in enumerate(tones) if t != "neutral"]
        fitted = fit_models([texts[i] for i in keep], [topics[i] for i in keep], [tones[i] for i in keep], config)
        model = ArticleModel(fitted.topic, fitted.tone, {"labels": {"topics": list(config.labels.topics), "tone": list(config.labels.tone)}, "shared_vectorizer": True})
    else:
        model = model_for(config)
    assert model._fast is not None, f"{name}: the fast path should apply"
    unseen, _, _ = corpus(n=40, seed=7)
    unseen += ["", "Only unknown words: zyzzyva quux", "ÉNERGIE: gaz et frontière — naïve café"]
    fast = model.scores(unseen)
    slow = model._pipeline_scores(unseen)
    for mine, theirs in zip(fast, slow):
        assert (mine is None) == (theirs is None)
        if mine is not None:
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
    # And so the labels: predict goes through the fast path.
    model_slow = ArticleModel(model.topic_pipeline, model.tone_pipeline, model.manifest)
    model_slow._fast = None
    assert model.predict(unseen) == model_slow.predict(unseen)


def test_fast_path_steps_aside_for_complement_nb():
    model = model_for(Config(labels=LabelsConfig(topics=()), tone=ToneConfig(classifier="complement_nb")))
    assert model._fast is None
    assert len(model.predict(["gas pipeline talks rose"])) == 1


def test_fast_path_steps_aside_when_it_disagrees_with_the_pipeline():
    model = model_for(Config(labels=LabelsConfig(topics=())))
    # Stands in for a scikit-learn whose estimator computes something this path does not know
    # about: the probe check at build time must catch it and keep the pipeline.
    clf = model.tone_pipeline[-1]
    clf.predict_proba = lambda X: np.full((X.shape[0], 3), 1 / 3)
    rebuilt = ArticleModel(model.topic_pipeline, model.tone_pipeline, model.manifest)
    assert rebuilt._fast is None
    assert rebuilt.predict_proba(["gas pipeline rose"])[0]["tone_scores"] == {"positive": 0.3333, "neutral": 0.3333, "negative": 0.3333}
