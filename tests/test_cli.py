"""CLI tests with Typer's CliRunner on a tiny corpus in tmp_path."""

import json

import pytest
from typer.testing import CliRunner

from train.cli import app

from helpers import assert_one_line_error

runner = CliRunner()


def run(*args, input=None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output
    return result


def test_help_lists_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("build-dataset", "train", "evaluate", "predict", "models"):
        assert command in result.output


def test_build_dataset_prints_counts_per_split(corpus):
    result = run("build-dataset", corpus["config"])
    assert result.exit_code == 0, result.output
    assert "topic: diplomacy" in result.output and "tone: negative" in result.output
    assert (corpus["dataset"] / "dataset_dict.json").is_file()
    report = json.loads((corpus["dataset"] / "dataset_report.json").read_text())
    assert sum(report["counts"][s]["n"] for s in report["counts"]) == 48
    features = json.loads((corpus["dataset"] / "train" / "dataset_info.json").read_text())["features"]
    assert features["tone"]["_type"] == "ClassLabel"
    assert features["topics"]["feature"]["_type"] == "ClassLabel"


def test_train_evaluate_predict_models(corpus):
    result = run("train", corpus["config"], "--set", "topic.C=5")
    assert result.exit_code == 0, result.output
    assert "saved v1" in result.output and "micro-F1" in result.output
    models = corpus["models"]

    result = run("evaluate", "--models-dir", models, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["version"] == "v1" and out["n"] > 0
    assert set(out["topic"]) == {"micro_f1", "macro_f1", "samples_f1", "hamming_loss", "subset_accuracy", "per_label"}
    assert set(out["topic"]["per_label"]["energy"]) == {"precision", "recall", "f1", "support"}
    assert set(out["tone"]) == {"accuracy", "macro_f1", "per_label", "confusion_matrix"}
    assert out["tone"]["confusion_matrix"]["labels"] == ["positive", "neutral", "negative"]

    result = run("evaluate", "v1", "--models-dir", models, "--split", "validation")
    assert result.exit_code == 0 and "tone   accuracy" in result.output

    result = run("predict", "--models-dir", models, "v1", "Crude oil and gas pipeline output rose.", "Talks on the treaty.")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert len(lines) == 2
    assert set(lines[0]) == {"topics", "topic_scores", "tone", "tone_scores"}
    assert "energy" in lines[0]["topics"]

    stdin = '{"id": "a1", "text": "Border guards and the disputed islands"}\n\n{"id": 2, "title": "Oil", "text": "barrels of crude"}\n'
    result = run("predict", "--models-dir", models, "-", input=stdin)
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.output.splitlines()] == ["a1", 2]

    article = next(corpus["seeds"].glob("*.txt"))
    result = run("predict", "--models-dir", models, "--file", article)
    assert json.loads(result.output)["id"] == article.stem

    result = run("models", "list", "--models-dir", models)
    assert result.exit_code == 0 and "v1" in result.output
    result = run("models", "show", "v1", "--models-dir", models)
    manifest = json.loads(result.output)
    assert manifest["config"]["topic"]["C"] == 5.0
    assert set(manifest["thresholds"]) == {"diplomacy", "energy", "territory"}


def test_evaluate_jsonl_data(trained, tmp_path):
    data = tmp_path / "some.jsonl"
    data.write_text(
        '{"id": "x", "title": "Oil", "text": "Gas and oil exports rose.", "topics": ["energy"], "tone": "positive"}\n'
        '{"id": "y", "text": "The match ended in a draw.", "topics": [], "tone": "neutral"}\n'
    )
    result = run("evaluate", "--models-dir", trained["models"], "--data", data, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n"] == 2


@pytest.mark.parametrize(
    "body, fragments",
    [
        ('{"id": "x", "text": "t", "topics": [], "tone": "neutral"}\n{oops\n', ["some.jsonl:2: malformed JSON"]),
        ('{"id": "x", "text": "t", "topics": ["sports"], "tone": "neutral"}\n', ["some.jsonl:1: topic label 'sports' is not one of model v1's topics"]),
        ('{"id": "x", "text": "t", "topics": [], "tone": "angry"}\n', ["some.jsonl:1: tone label 'angry' is not one of model v1's tone"]),
        ('{"id": "x", "topics": [], "tone": "neutral"}\n', ["some.jsonl:1: missing or empty 'text'"]),
        ('{"id": "x", "text": "t", "topics": []}\n', ["some.jsonl:1: missing 'tone'; expected one of: positive"]),
    ],
)
def test_evaluate_bad_jsonl_names_the_line(trained, tmp_path, body, fragments):
    data = tmp_path / "some.jsonl"
    data.write_text(body)
    assert_one_line_error(run("evaluate", "--models-dir", trained["models"], "--data", data), *fragments)


def test_unknown_model_reference(trained):
    assert_one_line_error(run("evaluate", "v42", "--models-dir", trained["models"]), "model 'v42' not found")
    assert_one_line_error(run("predict", "--model", "nope", "--models-dir", trained["models"], "x"), "model 'nope' not found")


def test_no_models_yet(tmp_path):
    assert_one_line_error(run("evaluate", "--models-dir", tmp_path / "models"), "no saved model versions")


def test_missing_and_empty_seeds_dir(corpus, tmp_path):
    missing = tmp_path / "nowhere"
    assert_one_line_error(run("build-dataset", corpus["config"], "--set", f'data.source="{missing}"'), "seeds folder not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run("build-dataset", corpus["config"], "--set", f'data.source="{empty}"'), "no articles")


def test_empty_and_non_utf8_article(corpus):
    (corpus["seeds"] / "zzz_empty.txt").write_text("  \n")
    assert_one_line_error(run("build-dataset", corpus["config"]), "zzz_empty.txt: empty article")
    (corpus["seeds"] / "zzz_empty.txt").write_bytes(b"Title\n\n\xff\xfe body")
    assert_one_line_error(run("build-dataset", corpus["config"]), "zzz_empty.txt: not valid UTF-8")
    result = run("build-dataset", corpus["config"], "--on-error", "skip")
    assert result.exit_code == 0 and "skipped:" in result.output


def test_labels_for_unknown_article_or_label(corpus):
    labels = corpus["labels"]
    original = labels.read_text()
    labels.write_text(original + '{"id": "ghost", "topics": [], "tone": "neutral"}\n')
    n = len(original.splitlines()) + 1
    assert_one_line_error(run("build-dataset", corpus["config"]), f"labels.jsonl:{n}: label for unknown article 'ghost'")
    # Labels the config does not list: an error with labels.unlisted = "error"; by default ("auto")
    # a near miss of a configured name is one too, and anything else is dropped with a count.
    strict = ("--set", "labels.unlisted=error")
    labels.write_text(original.replace('"tone": "neutral"', '"tone": "meh"', 1))
    assert_one_line_error(run("build-dataset", corpus["config"], *strict), "unknown tone 'meh'")
    labels.write_text(original.replace('"tone": "neutral"', '"tone": "neutrl"', 1))
    assert_one_line_error(run("build-dataset", corpus["config"]), "unknown tone 'neutrl'", "did you mean 'neutral'")
    labels.write_text(original.replace('"topics": []', '"topics": ["sport"]', 1))
    assert_one_line_error(run("build-dataset", corpus["config"], *strict), "unknown topic label(s) sport")
    result = run("build-dataset", corpus["config"])
    assert result.exit_code == 0 and "dropped (articles): sport (1)" in result.output


def test_bad_config_key_and_type(corpus):
    cfg = corpus["config"]
    cfg.write_text(cfg.read_text() + "[tone]\ncolour = 1\n")
    assert_one_line_error(run("train", cfg), "experiment.toml: unknown key 'tone.colour'")
    assert_one_line_error(run("build-dataset", "--set", "features.min_df=two"), "--set features.min_df=two", "must be an integer")


def test_dataset_rebuilt_only_when_stale(corpus):
    from train.config import load_config
    from train.data.dataset import build_dataset, dataset_is_current

    cfg = load_config(corpus["config"])
    assert not dataset_is_current(cfg)
    build_dataset(cfg)
    assert dataset_is_current(cfg)
    assert build_dataset(cfg, force=False).rebuilt is False
    (corpus["seeds"] / "001_article.txt").write_text("New title\n\nNew body text about oil.\n")
    assert not dataset_is_current(cfg)
    assert build_dataset(cfg, force=False).rebuilt is True
