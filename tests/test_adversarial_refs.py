"""Adversarial model references and damaged versions: path traversal, absolute paths outside the
store, folders that are not versions, renamed or empty files, odd manifests, odd stdin records.
At the CLI each is exit status 1, one `error:` line, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


from helpers import assert_one_error, edit_manifest, rehash, invoke


run = invoke


def damaged(trained: dict[str, Path], tmp_path: Path, change) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(trained["version"], folder)
    change(folder)
    return folder


REFS = {
    "dotdot": ("../../../../../../etc", "not a model version folder (no manifest.json); refusing"),
    "absolute dir": ("/", "/: not a model version folder (no manifest.json); refusing"),
    "absolute file": ("/etc/passwd", "/etc/passwd: not a model version folder"),
    "nowhere": ("../nowhere/v2", "model '../nowhere/v2' not found"),
    "v0": ("v0", "model 'v0' not found: no such version in"),
    "huge number": ("v" + "9" * 40, "not found: no such version in"),
}


@pytest.mark.parametrize("ref, fragment", REFS.values(), ids=REFS.keys())
@pytest.mark.parametrize("how", ["--model", "evaluate", "models show"])
def test_bad_refs_are_refused_by_name(trained, ref, fragment, how):
    models = trained["models"]
    if how == "--model":
        result = run("predict", "--models-dir", models, "--model", ref, "some text")
    elif how == "evaluate":
        result = run("evaluate", ref, "--models-dir", models)
    else:
        result = run("models", "show", ref, "--models-dir", models)
    assert_one_error(result, fragment)


@pytest.mark.parametrize("ref", ["../../../../../../etc", "/", "/etc/passwd"])
def test_a_path_given_to_predict_as_first_word_is_a_model_ref_not_a_text(trained, ref):
    # Regression: an existing path that is not a version was taken as a text to classify and the
    # `latest` model answered, so a mistyped model path silently gave another model's predictions.
    result = run("predict", "--models-dir", trained["models"], ref, "some text")
    assert_one_error(result, "not a model version folder")


def test_folders_that_are_not_versions(trained, tmp_path):
    models = trained["models"]
    for folder in (models, trained["dataset"], tmp_path):
        assert_one_error(run("predict", "--models-dir", models, "--model", folder, "x"),
                         f"{folder}: not a model version folder (no manifest.json)")


DAMAGE = {
    "empty manifest": (lambda f: (f / "manifest.json").write_text(""), "manifest.json: is not valid JSON (Expecting value"),
    "manifest is a folder": (lambda f: ((f / "manifest.json").unlink(), (f / "manifest.json").mkdir()),
                             "not a model version folder (no manifest.json)"),
    "manifest not an object": (lambda f: (f / "manifest.json").write_text("[1, 2]"), "manifest.json: not a JSON object"),
    "renamed text as skops": (lambda f: ((f / "topic.skops").write_text("notes, not a model"), rehash(f)),
                              "topic.skops: is not a readable zip archive"),
    "empty skops": (lambda f: ((f / "tone.skops").write_bytes(b""), rehash(f)), "tone.skops: is not a readable zip archive"),
    "empty joblib, unlisted": (lambda f: (f / "topic.joblib").write_bytes(b""), "topic.joblib: sha256 is"),
    # Regressions: each raised KeyError, TypeError, AttributeError, ValueError or RecursionError.
    "no labels": (lambda f: edit_manifest(f, lambda m: m.pop("labels")), "'labels' is missing"),
    "labels of wrong type": (lambda f: edit_manifest(f, lambda m: m.update(labels={"topics": 5, "tone": []})), "'labels' must be"),
    "canaries of wrong type": (lambda f: edit_manifest(f, lambda m: m.update(canaries={"texts": "a", "expected": "b"})),
                               "canaries are damaged"),
    "canary score a string": (lambda f: edit_manifest(f, lambda m: m["canaries"]["expected"][0]["tone_scores"].update(neutral="x")),
                              "canaries are damaged"),
    "deeply nested manifest": (lambda f: (f / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
                               "manifest.json: nests 100000 levels deep, over the cap of 64"),
}


@pytest.mark.parametrize("change, fragment", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_versions_are_refused_with_one_line(trained, tmp_path, change, fragment):
    folder = damaged(trained, tmp_path, change)
    before = {p.name: p.read_bytes() for p in trained["version"].iterdir()}
    result = run("predict", "--models-dir", trained["models"], "--model", folder, "Oil talks")
    assert_one_error(result, fragment)
    assert {p.name: p.read_bytes() for p in trained["version"].iterdir()} == before


def test_models_list_shows_a_damaged_version_and_goes_on(trained, tmp_path):
    # Regression: `models list` crashed (AttributeError) on a manifest whose metrics were a list.
    models = tmp_path / "models"
    shutil.copytree(trained["version"], models / "v1")
    shutil.copytree(trained["version"], models / "v2")
    edit_manifest(models / "v1", lambda m: m.update(metrics=[1, 2]))
    result = run("models", "list", "--models-dir", models)
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()[2:]
    assert len(rows) == 2 and "damaged" in rows[0] and "damaged" not in rows[1], result.output


def test_aliases_file_nested_too_deep(trained, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(trained["version"], models / "v1")
    (models / "aliases.json").write_text("{" * 50_000)
    assert_one_error(run("predict", "--models-dir", models, "--model", "production", "x"), "aliases.json: unreadable")
    (models / "aliases.json").write_text("[" * 100_000 + "]" * 100_000)
    assert_one_error(run("predict", "--models-dir", models, "--model", "production", "x"),
                     "aliases.json: unreadable (maximum recursion depth")


@pytest.mark.parametrize(
    "stdin, fragment",
    [
        ('{"text": "ok"}\n{"text": \n', "stdin:2: malformed JSON"),
        ('{"title": "no text"}\n', 'stdin:1: missing "text"'),
        ("[" * 100_000 + "]" * 100_000 + "\n", "stdin:1: unreadable JSON (maximum recursion depth"),  # regression
        ('{"text": "x", "n": ' + "7" * 5000 + "}\n", "stdin:1: unreadable JSON (Exceeds the limit"),  # regression
    ],
)
def test_bad_stdin_records(trained, stdin, fragment):
    assert_one_error(run("predict", "--models-dir", trained["models"], "-", input=stdin), fragment)


def test_stdin_with_bom_nul_rtl_and_emoji(trained):
    stdin = '\ufeff{"id": 1, "text": "Oil\\u0000 talks \\u202e 😀 مرحبا"}\n{"id": 2, "text": ""}\n'
    result = run("predict", "--models-dir", trained["models"], "-", input=stdin)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == [1, 2]
