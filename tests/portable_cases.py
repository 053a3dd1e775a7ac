"""Shared by the portable-format tests: a tiny multilingual corpus, the texts every model is
checked on, and the trainer configs that cover every option the trainer can produce."""

from __future__ import annotations

import functools
import random

from train.config import AugmentConfig, CalibrationConfig, Config, FeaturesConfig, LabelsConfig, TopicConfig, ToneConfig, TrainConfig
from train.fit.fit import FittedModels, fit_models

TOPIC_WORDS = {
    "energy": "gas pipeline oil power grid reactor barrels Газпром нефть πετρέλαιο نفط पाइपलाइन 天然气 Erdgasleitung".split(),
    "territory": "border region annexed frontier island occupied sınır Grenzstraße граница σύνορα حدود सीमा 领土".split(),
    "diplomacy": "ministers summit talks envoy treaty embassy İstanbul görüşme переговоры διπλωματία محادثات वार्ता 外交 Außenminister".split(),
}
TONE_WORDS = {
    "positive": "rose agreed welcomed record gains café naïve élan успех χαρά 🎉".split(),
    "neutral": "said held noted scheduled reported ΟΔΟΣ Москва ıslak Straße 2024".split(),
    "negative": "fell collapsed condemned losses warned kriz провал κρίση خسارة 😠".split(),
}
FILLER = "the a said on in of and today after Tuesday 5% (Reuters) with for their — ... 3.5 €".split()


def corpus(n: int = 60, seed: int = 0, tones: tuple[str, ...] = ("positive", "neutral", "negative")) -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    rng = random.Random(seed)
    texts, topics, tone_labels = [], [], []
    for i in range(n):
        labels = tuple(t for t in TOPIC_WORDS if rng.random() < 0.4)
        tone = tones[i % len(tones)]
        pool = [w for t in labels for w in TOPIC_WORDS[t]] + TONE_WORDS[tone] + FILLER * 2
        words = [rng.choice(pool) for _ in range(25)]
        # A title paragraph, so short views and the lead branch see real structure.
        texts.append(" ".join(words[:6]) + "\n\n" + " ".join(words[6:16]) + "\n\n" + " ".join(words[16:]))
        topics.append(labels)
        tone_labels.append(tone)
    return texts, topics, tone_labels


LONG_ARTICLE = "\n\n".join(
    corpus(120, seed=11)[0] + ["Ministers met on Tuesday: gas pipeline talks, border dispute, shares rose 5% (Reuters)."]
)

EDGE_TEXTS = [
    "",
    "   \n\t  \u00a0\u2003 ",
    "!!! ... ??? — « » ¿¡ ***",
    "1984 2024 3.14 42 ٣٤٥ १२३ 5% €3.5",
    "ÉNERGIE: gaz et frontière — naïve café, crème brûlée, São Paulo, Ångström",
    "Ελλάδα: ΥΠΟΥΡΓΟΙ συναντήθηκαν, διπλωματία και πετρέλαιο. ΟΔΟΣ Σ σ ς",
    "Москва: переговоры о газе (Газпром) и граница; НЕФТЬ подорожала",
    "القاهرة: محادثات حول نفط والحدود، خسارة كبيرة",
    "नई दिल्ली: पाइपलाइन वार्ता, सीमा विवाद; कीमतें बढ़ीं",
    "北京：天然气管道会谈，领土争端，外交部长表示欢迎",
    "İSTANBUL: Dışişleri bakanları görüşme yaptı; ıslak sınır, İi Iı",
    "Die Außenminister trafen sich in der Grenzstraße; STRASSE Straße ẞ",
    "Emoji 🚀🎉😠 👩🏽‍🔬 flags 🇯🇵 and ZWJ\u200dtext",
    "ﬁnance ﬂow ² ½ Ⅻ ㎏ ｆｕｌｌ－ｗｉｄｔｈ",  # compatibility characters: NFKD rewrites them
    "a\u0301 e\u0300 n\u0303 combining marks, cafe\u0301",
    "line\r\nbreaks\fand\vcontrol\x1c\x1dchars\x85next",
    "gas pipeline talks rose",
    # Too little evidence: one or two words, only stop words (their own maps, never every topic).
    "gas talks", "border", "the of and", "Gas pipeline border talks",
    LONG_ARTICLE,
]


def check_texts(seed: int = 7) -> list[str]:
    """Unseen generated texts plus every edge case."""
    return corpus(30, seed=seed)[0] + EDGE_TEXTS


# Every option the trainer can produce, one or a few at a time (name -> config).
F = FeaturesConfig
CONFIGS: dict[str, Config] = {
    "default": Config(),
    "bigrams min_df 1": Config(features=F(ngram_range=(1, 2), min_df=1)),
    "2-3 grams": Config(features=F(ngram_range=(2, 3), min_df=1)),
    "english stop words 1-2": Config(features=F(stop_words="english", ngram_range=(1, 2))),
    "punctuation token pattern": Config(features=F(token_pattern=r"(?u)\w+|[^\w\s]", min_df=1)),
    "custom token pattern": Config(features=F(token_pattern=r"(?u)\b[^\W\d_][\w'-]*\b", min_df=1)),
    "lead branch": Config(features=F(lead_chars=40)),
    "lead + char + bigrams": Config(features=F(lead_chars=60, char_ngrams=True, char_ngram_range=(2, 4), ngram_range=(1, 2))),
    "char n-grams": Config(features=F(char_ngrams=True, char_ngram_range=(2, 5))),
    "char 1-3 max_features": Config(features=F(char_ngrams=True, char_ngram_range=(1, 3), char_max_features=200, max_features=50)),
    "hashed": Config(features=F(hash_bits=12)),
    "hashed lead char bigrams": Config(features=F(hash_bits=10, lead_chars=40, char_ngrams=True, char_ngram_range=(2, 3), ngram_range=(1, 2))),
    "hashed english stop": Config(features=F(hash_bits=14, stop_words="english")),
    "no sublinear": Config(features=F(sublinear_tf=False)),
    "no accent stripping": Config(features=F(strip_accents=False)),
    "no lowercase": Config(features=F(lowercase=False)),
    "no lowercase no accents char": Config(features=F(lowercase=False, strip_accents=False, char_ngrams=True, char_ngram_range=(2, 3))),
    "max_df": Config(features=F(max_df=0.5, min_df=1)),
    "topic svc": Config(topic=TopicConfig(classifier="linear_svc")),
    "topic fixed thresholds no class weight": Config(topic=TopicConfig(thresholds="fixed", class_weight="none")),
    "tone svc": Config(tone=ToneConfig(classifier="linear_svc")),
    "tone complement nb": Config(tone=ToneConfig(classifier="complement_nb")),
    "tone nb_svm": Config(tone=ToneConfig(classifier="nb_svm")),
    "tone nb_logreg": Config(tone=ToneConfig(classifier="nb_logreg")),
    "nb_svm no scale no blend": Config(tone=ToneConfig(classifier="nb_svm", nb_scale=0.0, nb_blend=0.0)),
    "float32": Config(train=TrainConfig(coef_dtype="float32")),
    "float64 pruned (dense)": Config(train=TrainConfig(keep_weights=0.3)),
    "float32 pruned (sparse CSC)": Config(train=TrainConfig(coef_dtype="float32", keep_weights=0.3)),
    "svc both float32 pruned": Config(topic=TopicConfig(classifier="linear_svc"), tone=ToneConfig(classifier="linear_svc"),
                                      train=TrainConfig(coef_dtype="float32", keep_weights=0.3)),
    "hashed nb_svm float32 pruned": Config(features=F(hash_bits=16), tone=ToneConfig(classifier="nb_svm"),
                                           train=TrainConfig(coef_dtype="float32", keep_weights=0.3)),
    "tone only": Config(labels=LabelsConfig(topics=())),
    "topic only": Config(labels=LabelsConfig(tone=())),
    "no short views": Config(augment=AugmentConfig(short_views=False)),
    "binary tone logreg": Config(labels=LabelsConfig(tone=("positive", "negative"))),
    "binary tone svc": Config(labels=LabelsConfig(tone=("positive", "negative")), tone=ToneConfig(classifier="linear_svc")),
    "binary tone complement nb": Config(labels=LabelsConfig(tone=("positive", "negative")), tone=ToneConfig(classifier="complement_nb")),
    "binary tone nb_logreg float32 pruned": Config(labels=LabelsConfig(tone=("positive", "negative")), tone=ToneConfig(classifier="nb_logreg"),
                                                   train=TrainConfig(coef_dtype="float32", keep_weights=0.5)),
    "tone labels in another order": Config(labels=LabelsConfig(tone=("negative", "positive", "neutral"))),
    # topic.mode = "multiclass": one softmax (or one-vs-rest SVM) over the topics (format version 2).
    "multiclass topic logreg": Config(topic=TopicConfig(mode="multiclass")),
    "multiclass topic svc float32 pruned": Config(topic=TopicConfig(mode="multiclass", classifier="linear_svc"),
                                                  train=TrainConfig(coef_dtype="float32", keep_weights=0.3)),
    "multiclass two topics logreg": Config(labels=LabelsConfig(topics=("energy", "territory")), topic=TopicConfig(mode="multiclass")),
    "multiclass two topics svc topic only": Config(labels=LabelsConfig(topics=("territory", "energy"), tone=()),
                                                   topic=TopicConfig(mode="multiclass", classifier="linear_svc")),
    # A topic with no training positives: OneVsRest keeps a constant predictor for it.
    "constant topic logreg": Config(labels=LabelsConfig(topics=("diplomacy", "energy", "territory", "sports"))),
    "constant topic svc": Config(labels=LabelsConfig(topics=("diplomacy", "energy", "territory", "sports")), topic=TopicConfig(classifier="linear_svc")),
    # Calibration: every kind of map, and none (the uncalibrated sigmoid with cut 0.5).
    "calibration platt": Config(calibration=CalibrationConfig(method="platt")),
    "calibration isotonic": Config(calibration=CalibrationConfig(method="isotonic")),
    "calibration isotonic svc float32": Config(calibration=CalibrationConfig(method="isotonic"), topic=TopicConfig(classifier="linear_svc"),
                                               tone=ToneConfig(classifier="linear_svc"), train=TrainConfig(coef_dtype="float32")),
    "calibration none": Config(calibration=CalibrationConfig(method="none")),
    "precision target": Config(topic=TopicConfig(precision_target=0.9)),
    "no headline views": Config(augment=AugmentConfig(headline_views=False)),
}


@functools.lru_cache(maxsize=None)
def fit_named(name: str) -> FittedModels:
    """The fitted models of CONFIGS[name], fitted once per session (the tests only read them)."""
    return fit(CONFIGS[name])


def fit(config: Config) -> FittedModels:
    tones = tuple(config.labels.tone) or ("positive", "neutral", "negative")
    texts, topics, tone_labels = corpus(tones=tones)
    if config.topic.mode == "multiclass":
        # Exactly one topic per article: its first, else one in turn.
        labels = config.labels.topics
        topics = [(next((t for t in ts if t in labels), labels[i % len(labels)]),) for i, ts in enumerate(topics)]
    return fit_models(texts, topics, tone_labels, config)
