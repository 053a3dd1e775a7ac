from pathlib import Path

import pytest

from train.config import Config, load_config, parse_override
from artclf.errors import ArtclfError

REPO = Path(__file__).resolve().parents[1]


def test_default_toml_equals_schema_defaults(monkeypatch):
    # Paths in the file are relative to configs/; from the repository they resolve to the defaults.
    monkeypatch.chdir(REPO)
    assert load_config(Path("configs") / "default.toml").to_dict() == Config().to_dict()
    # ... and lists every key, so the file is the one place to read all of them.
    import tomllib

    written = tomllib.loads((REPO / "configs" / "default.toml").read_text())
    assert {s: set(keys) for s, keys in Config().to_dict().items()} == {s: set(keys) for s, keys in written.items()}


def test_every_shipped_config_loads():
    for path in sorted((REPO / "configs").glob("*.toml")):
        load_config(path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("features.min_df=2", (("features", "min_df"), 2)),
        ("features.max_df=0.9", (("features", "max_df"), 0.9)),
        ("features.sublinear_tf=false", (("features", "sublinear_tf"), False)),
        ("features.ngram_range=[1, 3]", (("features", "ngram_range"), [1, 3])),
        ("topic.classifier=linear_svc", (("topic", "classifier"), "linear_svc")),
        ('topic.classifier="linear_svc"', (("topic", "classifier"), "linear_svc")),
        ("topic.C = 0.5", (("topic", "C"), 0.5)),
        ("labels.topics=[\"a\", \"b\"]", (("labels", "topics"), ["a", "b"])),
    ],
)
def test_parse_override(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("features.min_df", "expected section.key=value"),
        ("min_df=2", "expected section.key=value"),
        ("a.b.c=1", "expected section.key=value"),
        ("featurez.min_df=2", "unknown section 'featurez'"),
        ("features.min_dff=2", "unknown key 'features.min_dff'"),
    ],
)
def test_parse_override_errors(text, message):
    with pytest.raises(ArtclfError, match=message):
        parse_override(text)


def test_file_sets_only_what_differs(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("# why: more context\n[features]\nngram_range = [1, 3]\n")
    cfg = load_config(path, ["topic.C=2"])
    assert cfg.features.ngram_range == (1, 3)
    assert cfg.topic.C == 2.0
    assert cfg.features.min_df == Config().features.min_df
    assert cfg.name == "exp"


@pytest.mark.parametrize(
    "body, message",
    [
        ("[features]\nmin_dff = 2\n", r"exp.toml: unknown key 'features.min_dff'"),
        ("[feature]\nmin_df = 2\n", r"exp.toml: unknown section \[feature\]"),
        ("[features]\nmin_df = \"2\"\n", r"exp.toml: features.min_df must be an integer, got '2' \(string\)"),
        ("[features]\nsublinear_tf = 1\n", r"exp.toml: features.sublinear_tf must be true or false"),
        ("[features]\nngram_range = [2, 1]\n", r"exp.toml: features.ngram_range must be \[low, high\]"),
        ("[features]\nmin_df = 0\n", r"exp.toml: features.min_df must be >= 1"),
        ("[features]\nmax_df = 1.5\n", r"exp.toml: features.max_df must be in \(0, 1\]"),
        ("[topic]\nC = -1\n", r"exp.toml: topic.C must be > 0"),
        ("[topic]\nclassifier = \"forest\"\n", r"exp.toml: topic.classifier must be one of logreg, linear_svc"),
        ("[split]\ntest = 0.6\nvalidation = 0.5\n", r"exp.toml: split.test validation \+ test must leave"),
        ("features = 3\n", r"exp.toml: 'features' must be a table"),
        ("[features\n", r"exp.toml: invalid TOML"),
        ("[features]\ntoken_pattern = \"(\"\n", r"exp.toml: features.token_pattern is not a valid regular expression"),
        ("[features]\ntoken_pattern = \"(a)(b)\"\n", r"exp.toml: features.token_pattern has 2 capturing groups"),
        ("[features]\ntoken_pattern = \"a*\"\n", r"exp.toml: features.token_pattern matches the empty string"),
        ("[features]\nlead_chars = 200\ntoken_pattern = \"(\\\\w+)\"\n", r"exp.toml: features.lead_chars needs a features.token_pattern without capturing groups"),
        ("[features]\nlead_chars = -1\n", r"exp.toml: features.lead_chars must be >= 0"),
        ("[tone]\nnb_scale = -1\n", r"exp.toml: tone.nb_scale must be in \[0, 4\]"),
        ("[tone]\nclassifier = \"nbsvm\"\n", r"exp.toml: tone.classifier must be one of .*nb_svm, nb_logreg"),
        ("[topic]\nthreshold_min_f1 = 1.5\n", r"exp.toml: topic.threshold_min_f1 must be in \[0, 1\]"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, body, message):
    path = tmp_path / "exp.toml"
    path.write_text(body)
    with pytest.raises(ArtclfError, match=message):
        load_config(path)


def test_bad_override_value_names_the_override():
    with pytest.raises(ArtclfError, match=r"--set features.min_df=abc: features.min_df must be an integer"):
        load_config(None, ["features.min_df=abc"])
    with pytest.raises(ArtclfError, match=r"--set topic.C=0: topic.C must be > 0"):
        load_config(None, ["topic.C=0"])


def test_missing_config_file(tmp_path):
    with pytest.raises(ArtclfError, match="nope.toml: config file not found"):
        load_config(tmp_path / "nope.toml")


def test_fingerprint_changes_with_values_only():
    assert Config().fingerprint() == load_config(None, []).fingerprint()
    assert Config().fingerprint() != load_config(None, ["features.min_df=3"]).fingerprint()
