"""Model registry: skops copies and trusted types, hashes, version policy, canaries, format 1,
aliases, remove, diff, model card, explanations and a light loading API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from helpers import edit_manifest, rehash, invoke
from artclf.errors import ArtclfError
from artclf.refs import read_aliases, resolve_ref
from train.store.aliases import promote
from train.store.load import load_model
from train.store.versions import remove_version

TEXTS = ["Oil and gas talks between the ministers", "Troops crossed the disputed border", "The match ended in a draw"]


run = invoke


def copy_version(trained: dict[str, Path], dest: Path) -> Path:
    shutil.copytree(trained["version"], dest)
    return dest


def test_version_holds_skops_copies_card_and_canaries(trained):
    folder = trained["version"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == 3
    portable = set(manifest["portable"]["files"])
    assert manifest["portable"]["available"] and "portable.json" in portable
    assert set(manifest["files"]) == {"topic.joblib", "tone.joblib", "topic.skops", "tone.skops"} | portable
    assert manifest["portable"]["parity"]["labels_identical"] and manifest["portable"]["parity"]["max_abs_diff"] <= 1e-6
    assert "skops_skipped" not in manifest
    assert len(manifest["canaries"]["texts"]) == len(manifest["canaries"]["expected"]) >= 3
    assert (folder / "MODEL_CARD.md").is_file()


def test_skops_is_preferred_and_predicts_like_joblib(trained, monkeypatch):
    import joblib

    via_joblib = load_model("latest", trained["models"], prefer="joblib", trust_pickle=True).classify(TEXTS)

    def no_joblib(*args, **kwargs):
        raise AssertionError("joblib.load must not be used when skops files exist")

    monkeypatch.setattr(joblib, "load", no_joblib)
    via_skops = load_model("latest", trained["models"])
    assert via_skops.classify(TEXTS) == via_joblib


def test_truncated_skops_file_is_refused_naming_both_hashes(trained, tmp_path):
    folder = copy_version(trained, tmp_path / "v1")
    data = (folder / "tone.skops").read_bytes()
    (folder / "tone.skops").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtclfError, match=r"tone.skops: sha256 is [0-9a-f]{12}\.\.\., the manifest says [0-9a-f]{12}\.\.\."):
        load_model(str(folder))


def test_skops_file_with_a_foreign_type_is_refused_listing_it(trained, tmp_path):
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    folder = copy_version(trained, tmp_path / "v1")
    # A pipeline whose "transformer" would call os.system: skops can express it, we must refuse it.
    sio.dump(Pipeline([("f", FunctionTransformer(func=os.system))]), folder / "topic.skops")
    rehash(folder)
    with pytest.raises(ArtclfError, match=r"topic.skops: refusing to load.*outside the trusted list: posix.system"):
        load_model(str(folder))

    result = run("models", "audit", folder / "topic.skops")
    assert result.exit_code == 0, result.output
    assert "posix.system   <- not trusted" in result.output
    assert "refused: posix.system" in result.output
    clean = run("models", "audit", trained["version"], "--json")
    assert all(r["refused"] == [] and "sklearn.pipeline.Pipeline" in r["types"] for r in json.loads(clean.output))


@pytest.mark.parametrize("overrides", [
    ["topic.classifier=linear_svc", "tone.classifier=complement_nb", "features.char_ngrams=true", "topic.thresholds=fixed"],
    ["tone.classifier=nb_svm", "features.hash_bits=12", "features.lead_chars=200", "train.coef_dtype=float32", "train.keep_weights=0.3"],
    ["tone.classifier=nb_logreg", "features.token_pattern=(?u)\\w+|[^\\w\\s]", "train.keep_weights=0.5"],
])
def test_trusted_types_cover_every_configured_classifier(tmp_path, overrides):
    """Adding a classifier or a storage format to train/fit.py without adding its types to
    TRUSTED_TYPES fails here."""
    from conftest import write_corpus

    from train.workflow import train

    paths = write_corpus(tmp_path, copies=1)
    result = train(paths["config"], overrides)
    assert "skops_skipped" not in result.manifest
    model = load_model(str(result.path))
    assert model.classify(TEXTS) == load_model(str(result.path), prefer="joblib", trust_pickle=True).classify(TEXTS)


def test_version_policy_reports_both_versions(trained, monkeypatch):
    import train.store.load as registry

    real = registry.library_versions()
    monkeypatch.setattr(registry, "library_versions", lambda: {**real, "scikit-learn": "0.1.2"})
    saved = json.loads((trained["version"] / "manifest.json").read_text())["library_versions"]["scikit-learn"]
    expected = f"scikit-learn {saved} (saved) vs 0.1.2 (installed)"
    with pytest.raises(ArtclfError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_model("latest", trained["models"], version_policy="strict")
    with pytest.warns(UserWarning, match=r"0\.1\.2 \(installed\)"):
        load_model("latest", trained["models"], version_policy="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model("latest", trained["models"], version_policy="ignore")


def test_changed_canary_scores_refuse_the_model(trained, tmp_path):
    folder = copy_version(trained, tmp_path / "v1")
    load_model(str(folder))  # the untouched copy passes its self-test

    def shift(m):
        first = m["canaries"]["expected"][0]["topic_scores"]
        label = next(iter(first))
        first[label] = first[label] + 0.01

    edit_manifest(folder, shift)
    with pytest.raises(ArtclfError, match=r"canary 1 .*topic_scores\.\w+ is .*saved .*tolerance 0\.001.*refusing to load"):
        load_model(str(folder))
    assert load_model(str(folder), check_canaries=False).classify(TEXTS)


def test_silent_drift_in_the_model_files_is_caught_by_canaries(trained, tmp_path):
    """Files that pass their hash check but predict differently (what a library upgrade can do)."""
    import joblib
    import skops.io as sio

    folder = copy_version(trained, tmp_path / "v1")
    tone = joblib.load(folder / "tone.joblib")
    tone[-1].intercept_ = tone[-1].intercept_ + [0.5, 0.0, -0.5][: len(tone[-1].intercept_)]
    joblib.dump(tone, folder / "tone.joblib")
    sio.dump(tone, folder / "tone.skops")
    rehash(folder)
    with pytest.raises(ArtclfError, match=r"canary \d .*tone_scores"):
        load_model(str(folder))


def test_format_1_folder_loads_only_with_trust_pickle(trained, tmp_path, capfd):
    """A version written by the format-1 writer: two joblib files and a manifest, nothing else.
    Its reader is reachable only with the pickle opt-in (joblib runs code on load)."""
    folder = copy_version(trained, tmp_path / "old")
    for name in ("topic.skops", "tone.skops", "MODEL_CARD.md"):
        (folder / name).unlink()

    for name in json.loads((folder / "manifest.json").read_text())["portable"]["files"]:
        (folder / name).unlink()

    def to_v1(m):
        m.pop("portable")
        m["format_version"] = 1
        m.pop("canaries")
        m["files"] = {k: v for k, v in m["files"].items() if k.endswith(".joblib")}
        m["library_versions"].pop("skops", None)

    edit_manifest(folder, to_v1)
    with pytest.raises(ArtclfError, match=r"offers only pickle for tone.joblib, topic.joblib \(format 1.*--trust-pickle"):
        load_model(str(folder))
    assert "warning" not in capfd.readouterr().err
    old = load_model(str(folder), trust_pickle=True)
    assert old.classify(TEXTS) == load_model("latest", trained["models"]).classify(TEXTS)
    assert "unpickling topic.joblib, tone.joblib because trust_pickle was given" in capfd.readouterr().err

    edit_manifest(folder, lambda m: m.update(format_version=99))
    with pytest.raises(ArtclfError, match=r"model format 99 is not readable by this artclf \(reads 1, 2, 3\)"):
        load_model(str(folder))


def test_manifest_file_names_must_stay_inside_the_folder(trained, tmp_path):
    folder = copy_version(trained, tmp_path / "v1")
    edit_manifest(folder, lambda m: m["files"].update({"../outside.joblib": {"sha256": "0" * 64}}))
    with pytest.raises(ArtclfError, match=r"manifest.json: file name '\.\./outside\.joblib' contains a path separator"):
        load_model(str(folder))


def test_aliases_promote_resolve_remove(trained, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("v1", "v2"):
        shutil.copytree(trained["version"], models / name)

    assert promote("v1", "production", models) == ("v1", None)
    assert promote("latest", "production", models) == ("v2", "v1")
    assert read_aliases(models) == {"production": "v2"}
    assert resolve_ref("production", models) == models / "v2"
    assert load_model("production", models).classify(TEXTS)
    assert "production" in run("models", "list", "--models-dir", models).output

    for bad in ("latest", "v7", "9lives", "a/b"):
        with pytest.raises(ArtclfError, match="alias"):
            promote("v1", bad, models)

    with pytest.raises(ArtclfError, match="v2 is aliased as production; promote another version"):
        remove_version("v2", models)
    result = run("models", "remove", "v1", "--models-dir", models, input="n\n")
    assert result.exit_code == 1 and (models / "v1").is_dir()
    result = run("models", "remove", "v1", "--models-dir", models, input="y\n")
    assert result.exit_code == 0, result.output
    assert not (models / "v1").exists() and [p.name for p in models.iterdir() if p.name.startswith("v")] == ["v2"]

    (models / "aliases.json").write_text('{"staging": "v1"}')
    with pytest.raises(ArtclfError, match="alias 'staging' points at 'v1', which is not a saved version"):
        resolve_ref("staging", models)


def test_path_refs_must_be_version_folders(trained, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    elsewhere = copy_version(trained, tmp_path / "elsewhere" / "v9")
    # A relative path leaving the models folder is fine when it leads to a real version...
    assert resolve_ref(os.path.relpath(elsewhere), models) == Path(os.path.relpath(elsewhere))
    # ...and anything else is refused by name, with nothing opened.
    (tmp_path / "plain").mkdir()
    with pytest.raises(ArtclfError, match=r"plain: not a model version folder \(no manifest.json\); refusing"):
        resolve_ref(str(tmp_path / "plain"), models)
    with pytest.raises(ArtclfError, match="model '../nowhere' not found: no such folder"):
        resolve_ref("../nowhere", models)
    with pytest.raises(ArtclfError, match="not 'latest', a version, an alias or a model folder"):
        resolve_ref("nowhere", models)
    with pytest.raises(ArtclfError, match="only versions inside"):
        promote(str(elsewhere), "production", models)


def test_diff_lists_changed_config_and_metrics(trained, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")
    shutil.copytree(trained["version"], models / "v2")

    def change(m):
        m["config"]["topic"]["C"] = 99.0
        m["metrics"]["test"]["topic"]["micro_f1"] = 0.123

    edit_manifest(models / "v2", change)
    result = run("models", "diff", "v1", "v2", "--models-dir", models, "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    assert list(diff["config"]) == ["topic.C"] and diff["config"]["topic.C"][1] == 99.0
    assert list(diff["metrics"]) == ["test.topic.micro_f1"]
    assert diff["thresholds"] == {} and diff["library_versions"] == {}
    text = run("models", "diff", "v1", "v2", "--models-dir", models).output
    assert "topic.C" in text and "99.0" in text


def test_show_summary_has_metrics_and_thresholds(trained):
    result = run("models", "show", "latest", "--models-dir", trained["models"], "--summary")
    assert result.exit_code == 0, result.output
    for fragment in ("dataset", "== test", "diplomacy", "topic thresholds", "fold std"):
        assert fragment in result.output


def test_model_card_describes_the_version(trained):
    card = (trained["version"] / "MODEL_CARD.md").read_text()
    manifest = json.loads((trained["version"] / "manifest.json").read_text())
    for section in ("## Intended use", "## Labels", "## Training data", "## Metrics", "## Topic thresholds",
                    "## Known limitations", "## Loading it"):
        assert section in card
    assert manifest["dataset"]["fingerprint"] in card
    for label, t in manifest["thresholds"].items():
        assert f"| {label} | {t['probability']:.3f} | {t['decision']:.3f} | {t['calibration']} |" in card
    assert "## Calibration" in card and "ECE" in card
    for way in ("from artclf import load_model", "joblib.load", "sio.load"):
        assert way in card


def test_explain_returns_ngrams_in_the_text_for_predicted_labels(trained):
    model = load_model("latest", trained["models"])
    text = "Crude oil output rose as the pipeline reopened and gas exports to Europe increased."
    out = model.explain(text, top=3)
    assert out["topics"] and set(out["explanation"]["topics"]) == set(out["topics"])
    assert list(out["explanation"]["tone"]) == [out["tone"]]
    for label, pushes in [*out["explanation"]["topics"].items(), *out["explanation"]["tone"].items()]:
        assert 0 < len(pushes) <= 3
        weights = [p["weight"] for p in pushes]
        assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
        assert all(all(word in text.lower() for word in p["ngram"].split()) for p in pushes)

    result = run("predict", "--models-dir", trained["models"], "--explain", "--top", "2", text)
    assert result.exit_code == 0, result.output
    line = json.loads(result.output)
    assert line["explanation"] == model.explain(text, top=2)["explanation"]


def test_predict_accepts_an_alias_as_the_model(trained, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")
    promote("v1", "production", models)
    result = run("predict", "--models-dir", models, "production", "oil")
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1


def test_predict_stream_is_lazy():
    """Results come out before the input ends: a 100,000-line stream never sits in memory."""
    from train.serve.stream import BATCH, predict_stream

    class Model:
        def classify(self, texts):
            return [{"n": len(t)} for t in texts]

    consumed = []

    def items():
        for i in range(10 * BATCH):
            consumed.append(i)
            yield i, "x" * i

    stream = predict_stream(Model(), items())
    assert next(stream) == {"id": 0, "n": 0}
    assert len(consumed) <= BATCH + 1


def test_loading_api_imports_no_datasets_pyarrow_or_cli(trained):
    code = (
        "import sys\n"
        "import train\n"
        "from train.store.load import load_model\n"
        "heavy = [m for m in ('datasets', 'pyarrow', 'train.cli', 'typer', 'sklearn', 'skops') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        f"model = load_model('latest', models_dir={str(trained['models'])!r})\n"
        "assert model.predict(['oil'])\n"
        "loaded = [m for m in ('datasets', 'train.cli', 'typer') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
