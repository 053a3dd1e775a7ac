import numpy as np
import pytest

from train.fit.fit import best_threshold, topic_matrix
from train.evaluate.metrics import tone_metrics, topic_metrics

LABELS = ("diplomacy", "energy", "territory")


def test_topic_metrics_on_a_hand_checked_example():
    true = [("diplomacy",), ("energy", "territory"), (), ("diplomacy", "energy")]
    pred = [("diplomacy",), ("energy",), (), ("territory",)]
    m = topic_metrics(true, pred, LABELS)
    # TP = 2 (diplomacy#0, energy#1); FP = 1 (territory#3); FN = 3.
    assert m["micro_f1"] == round(2 * 2 / (2 * 2 + 1 + 3), 4)
    assert m["per_label"]["diplomacy"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert m["per_label"]["territory"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["subset_accuracy"] == 0.5
    assert m["hamming_loss"] == round(4 / 12, 4)
    # per sample F1: 1, 2/3, 1 (both empty), 0
    assert m["samples_f1"] == round((1 + 2 / 3 + 1 + 0) / 4, 4)


def test_tone_metrics_confusion_rows_are_true_labels():
    m = tone_metrics(["positive", "negative", "neutral", "negative"], ["positive", "neutral", "neutral", "negative"],
                     ["positive", "neutral", "negative"])
    assert m["accuracy"] == 0.75
    assert m["confusion_matrix"] == {"labels": ["positive", "neutral", "negative"],
                                     "matrix": [[1, 0, 0], [0, 1, 0], [0, 1, 1]]}


@pytest.mark.parametrize(
    "scores, y, expected_f1, lo, hi",
    [
        ([3.0, 2.0, -1.0, -2.0], [1, 1, 0, 0], 1.0, -1.0, 2.0),   # any cut between 2 and -1
        ([3.0, -0.5, 0.5, -2.0], [1, 0, 1, 0], 1.0, -0.5, 0.5),
        ([-1.0, -2.0, -3.0, -4.0], [1, 0, 0, 0], 1.0, -2.0, -1.0),  # the model is too shy: lower the bar
    ],
)
def test_best_threshold_separates_and_stays_near_zero(scores, y, expected_f1, lo, hi):
    t, f1 = best_threshold(np.array(scores), np.array(y))
    assert f1 == expected_f1
    assert lo < t < hi
    if lo < 0 < hi:
        assert t == pytest.approx((lo + hi) / 2) or abs(t) <= max(abs(lo), abs(hi))


def test_best_threshold_without_positives_is_the_default():
    assert best_threshold(np.array([1.0, 2.0]), np.array([0, 0]))[0] == 0.0


def test_topic_matrix():
    assert topic_matrix([("energy",), (), ("territory", "diplomacy")], LABELS).tolist() == [[0, 1, 0], [0, 0, 0], [1, 0, 1]]


def test_short_views_add_title_and_lead_copies_with_the_same_labels():
    from train.data.augment import augment, short_view

    long = "Title\n\nLead sentence.\n\nBody one.\n\nBody two."
    assert short_view(long) == "Title\n\nLead sentence."
    texts, topics, tones, groups = augment([long, "Short\n\nOnly."], [("energy",), ()], ["positive", "neutral"], [short_view])
    # The two-paragraph article is already its own short view: no duplicate is added.
    assert texts == [long, "Short\n\nOnly.", "Title\n\nLead sentence."]
    assert topics == [("energy",), (), ("energy",)] and tones == ["positive", "neutral", "positive"]
    assert groups == [0, 1, 0]


def test_short_views_are_on_by_default_and_recorded(corpus):
    from train.config import load_config
    from train.data.dataset import build_dataset, load_splits
    from train.fit.fit import fit_models

    cfg = load_config(corpus["config"])
    rows = load_splits(build_dataset(cfg).path)["train"]
    fitted = fit_models([r.text for r in rows], [r.topics for r in rows], [r.tone for r in rows], cfg)
    # Every fixture article has > 2 paragraphs: a title-and-lead view and a title view each.
    assert fitted.timings["augmented_views"] == 2 * len(rows)
    # The vocabulary comes from the articles only, so the same terms are kept with or without views.
    off = fit_models([r.text for r in rows], [r.topics for r in rows], [r.tone for r in rows],
                     load_config(corpus["config"], ["augment.short_views=false"]))
    assert fitted.topic[0].vocabulary_ == off.topic[0].vocabulary_


def test_untrustworthy_thresholds_fall_back_to_the_classifiers_own_cut():
    import random

    import numpy as np

    from train.config import AugmentConfig, Config, LabelsConfig, TopicConfig
    from train.fit.fit import tune_thresholds

    rng = random.Random(0)
    texts, rows = [], []
    for i in range(80):
        learnable = i % 2 == 0
        noise = rng.random() < 0.3  # unrelated to the words: no threshold can be learned for it
        rare = i == 5  # a single positive
        words = ["pipeline", "gas"] if learnable else ["summit", "envoy"]
        texts.append(" ".join(words + rng.sample("the a of on in said today and more".split(), 5)))
        rows.append([learnable, noise, rare])
    Y = np.array(rows, dtype=int)
    labels = ["learnable", "noise", "rare"]

    def tuned(min_f1: float) -> dict:
        config = Config(labels=LabelsConfig(topics=tuple(labels), tone=()), topic=TopicConfig(threshold_min_f1=min_f1),
                        augment=AugmentConfig(short_views=False))
        return tune_thresholds(texts, Y, labels, config)

    strict = tuned(0.6)
    assert not strict["learnable"]["fallback"] and strict["learnable"]["oof_f1"] == 1.0
    assert strict["noise"]["fallback"] and strict["noise"]["decision"] == 0.0
    assert strict["noise"]["tuned_decision"] != 0.0 and strict["noise"]["oof_f1"] < 0.6
    assert strict["rare"]["fallback"] and strict["rare"]["decision"] == 0.0
    # With no floor the noisy label keeps its tuned cut; a single positive never does.
    loose = tuned(0.0)
    assert not loose["noise"]["fallback"] and loose["noise"]["decision"] == loose["noise"]["tuned_decision"]
    assert loose["rare"]["fallback"]
