"""Adversarial labels files and configs: malformed lines, conflicting labels, unknown names and
keys, wrong types, out-of-range values, missing or unreadable files. Each is one clear error
naming the file (and line or key), never a traceback."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from train.config import LabelsConfig, load_config
from artclf.errors import ArtclfError
from train.data.labels import read_labels

LABELS = LabelsConfig()
KNOWN = {"a", "b"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b", "ghost", "", 5, None]),
        "topics": st.one_of(st.lists(st.sampled_from(["energy", "diplomacy", "sports", ""]), max_size=3), json_values),
        "tone": st.one_of(st.sampled_from(["neutral", "negative", "angry", ""]), json_values),
        "source": st.one_of(st.just("gold"), json_values),
    },
)
lines = st.one_of(
    records.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=60),
    st.sampled_from(["{", "}", "[" * 5000, '{"id": "a"', "\ufeff{}", "NaN", '{"id": "a", "x": ' + "9" * 5000 + "}"]),
)


@given(st.lists(lines, max_size=6))
@settings(max_examples=200)
def test_any_labels_file_reads_or_fails_naming_file_and_line(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    path.write_text("\n".join(body) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        labels = read_labels(path, LABELS, KNOWN)
    except ArtclfError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc), str(exc)
        return
    assert set(labels) <= KNOWN
    for label in labels.values():
        assert set(label.topics) <= set(LABELS.topics) and label.tone in LABELS.tone


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"id": "a", "topics": [], "tone": "neutral"}\n{"id": "a", "topics": ["energy"], "tone": "negative"}',
         r"labels.jsonl:2: second label for 'a'; keep one line per article"),
        ('{"id": "a", "topics": ["sports"], "tone": "neutral"}', r":1: unknown topic label\(s\) sports; known topics"),
        ('{"id": "a", "topics": [], "tone": "angry"}', r":1: unknown tone 'angry'; known tones"),
        ('{"id": "a", "topics": "energy", "tone": "neutral"}', r":1: 'topics' must be a list of label names"),
        ('{"id": "a", topics: []}', r":1: malformed JSON \(Expecting property name"),
        ('["a", "energy"]', r":1: expected a JSON object, got list"),
        ('{"id": "ghost", "topics": [], "tone": "neutral"}', r":1: label for unknown article 'ghost'"),
        # Regressions: each of these raised RecursionError or ValueError with a traceback, or
        # called an id of the wrong type "missing".
        ("[" * 100_000 + "]" * 100_000, r":1: unreadable JSON \(maximum recursion depth"),
        ('{"id": "a", "n": ' + "1" * 5000 + "}", r":1: unreadable JSON \(Exceeds the limit \(4300 digits\)"),
        ('{"id": 5, "topics": [], "tone": "neutral"}', r":1: 'id' must be a string \(the article's file stem\), got 5"),
    ],
)
def test_bad_labels_name_file_and_line(tmp_path, body, message):
    path = tmp_path / "labels.jsonl"
    path.write_text(body + "\n")
    with pytest.raises(ArtclfError, match=message):
        read_labels(path, LABELS, KNOWN)


def test_labels_file_with_a_bom_reads(tmp_path):
    # Regression: a BOM (Windows editors) made line 1 "malformed JSON (Unexpected UTF-8 BOM)".
    path = tmp_path / "labels.jsonl"
    path.write_text('\ufeff{"id": "a", "topics": ["energy"], "tone": "neutral"}\n', encoding="utf-8")
    assert read_labels(path, LABELS, KNOWN)["a"].topics == ("energy",)


def test_missing_unreadable_or_binary_labels_file(tmp_path):
    with pytest.raises(ArtclfError, match="labels.jsonl: file not found"):
        read_labels(tmp_path / "labels.jsonl", LABELS, KNOWN)
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(ArtclfError, match=r"dir.jsonl: cannot read \(Is a directory\)"):
        read_labels(tmp_path / "dir.jsonl", LABELS, KNOWN)
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ArtclfError, match="bin.jsonl: not valid UTF-8"):
        read_labels(tmp_path / "bin.jsonl", LABELS, KNOWN)


toml_scalars = st.one_of(
    st.integers(-(2**40), 2**40).map(str), st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: "nan" if f != f else ("inf" if f == float("inf") else "-inf" if f == float("-inf") else repr(f))),
    st.booleans().map(lambda b: str(b).lower()), st.text(max_size=10).map(json.dumps),
    st.lists(st.integers(-3, 200), max_size=3).map(json.dumps), st.just("1979-05-27"),
)
KEYS = [
    ("features", "ngram_range"), ("features", "min_df"), ("features", "max_df"), ("features", "max_features"),
    ("features", "hash_bits"), ("topic", "C"), ("tone", "C"), ("tone", "alpha"), ("topic", "threshold_folds"),
    ("topic", "threshold_min_f1"),
    ("split", "validation"), ("split", "test"), ("split", "seed"), ("split", "near_duplicate_jaccard"),
    ("train", "seed"), ("train", "keep_weights"), ("labels", "tone"), ("topic", "classifier"), ("topic", "nope"),
    ("nosection", "x"),
]


@given(st.lists(st.tuples(st.sampled_from(KEYS), toml_scalars), max_size=4, unique_by=lambda kv: kv[0]))
@settings(max_examples=200)
def test_any_config_loads_or_fails_naming_file_and_key(tmp_path_factory, pairs):
    path = tmp_path_factory.mktemp("cfg") / "exp.toml"
    sections: dict[str, list[str]] = {}
    for (section, key), value in pairs:
        sections.setdefault(section, []).append(f"{key} = {value}")
    path.write_text("".join(f"[{s}]\n" + "\n".join(kv) + "\n" for s, kv in sections.items()))
    try:
        config = load_config(path)
    except ArtclfError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc).strip(), str(exc)
        return
    # Whatever loads is in range for the code that will use it.
    f = config.features
    assert 1 <= f.ngram_range[0] <= f.ngram_range[1] and f.min_df >= 1 and 0 < f.max_df <= 1
    assert 0 < config.topic.C < float("inf") and 0 < config.tone.C < float("inf")
    assert 0 <= config.train.seed < 2**32 and 0 <= config.split.seed < 2**32


@pytest.mark.parametrize(
    "body, message",
    [
        ("[topic]\nC = -1\n", r"topic.C must be > 0 and finite, got -1.0"),
        ("[features]\nngram_range = [3, 1]\n", r"features.ngram_range must be \[low, high\] with 1 <= low <= high"),
        ("[features]\nmax_df = 0\n", r"features.max_df must be in \(0, 1\]"),
        ("[features]\nmin_dff = 2\n", r"unknown key 'features.min_dff'"),
        ("[feature]\nmin_df = 2\n", r"unknown section \[feature\]"),
        ("[features]\nmin_df = '2'\n", r"features.min_df must be an integer, got '2' \(string\)"),
        ("[features\nmin_df = 2\n", r"invalid TOML"),
        # Regressions: train.seed < 0 crashed scikit-learn after the dataset was built; C = inf trained.
        ("[train]\nseed = -5\n", r"train.seed must be in \[0, 4294967295\], got -5"),
        ("[split]\nseed = 4294967296\n", r"split.seed must be in \[0, 4294967295\]"),
        ("[tone]\nC = inf\n", r"tone.C must be > 0 and finite, got inf"),
    ],
)
def test_bad_config_values_name_file_and_key(tmp_path, body, message):
    path = tmp_path / "exp.toml"
    path.write_text(body)
    with pytest.raises(ArtclfError, match=rf"^{str(path)}: .*{message}" if not message.startswith("unknown") else message):
        load_config(path)


def test_missing_unreadable_or_binary_config(tmp_path):
    with pytest.raises(ArtclfError, match="nope.toml: config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ArtclfError, match=r"cannot read config \(\[Errno 21\] Is a directory"):
        load_config(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe[topic]\n")
    with pytest.raises(ArtclfError, match="bin.toml: cannot read config"):
        load_config(tmp_path / "bin.toml")


def test_min_df_above_max_df_names_both_keys(corpus):
    # Regression: the error echoed scikit-learn ("max_df corresponds to < documents than min_df")
    # without naming a key; whether they conflict depends on the training split's size.
    from train.workflow import train

    with pytest.raises(ArtclfError, match=r"features.min_df \(5 articles\) is more than features.max_df \(0.1 of \d+ training articles\); lower min_df or raise max_df"):
        train(corpus["config"], ["features.min_df=5", "features.max_df=0.1"])
    assert not corpus["models"].exists() or not any(corpus["models"].iterdir())
