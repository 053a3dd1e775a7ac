"""build -> train -> evaluate -> predict in subprocesses, then load the saved files from an app
that has scikit-learn and joblib but not this repository."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artclf.errors import ArtclfError
from helpers import cli_run



artclf = cli_run


def tree_digest(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()}


def test_end_to_end_in_subprocesses(corpus, tmp_path):
    cfg = corpus["config"]
    build = artclf("build-dataset", cfg, cwd=tmp_path)
    assert build.returncode == 0, build.stderr

    first = artclf("train", cfg, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    v1 = corpus["models"] / "v1"
    before = tree_digest(v1)

    second = artclf("train", cfg, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "saved v2" in second.stdout
    assert tree_digest(v1) == before, "a second train must leave v1 byte-for-byte untouched"

    m1 = json.loads((v1 / "manifest.json").read_text())
    m2 = json.loads((corpus["models"] / "v2" / "manifest.json").read_text())
    assert m1["metrics"] == m2["metrics"], "same config and data must give identical metrics"
    assert m1["dataset"]["fingerprint"] == m2["dataset"]["fingerprint"]
    for key in ("config", "labels", "thresholds", "library_versions", "files", "format_version", "created"):
        assert key in m1

    ev = artclf("evaluate", "v1", "--models-dir", corpus["models"], "--json", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["topic"]["micro_f1"] == m1["metrics"]["test"]["topic"]["micro_f1"]

    pr = artclf("predict", "--models-dir", corpus["models"], "-", cwd=tmp_path, input='{"id": 1, "text": "oil and gas exports"}\n')
    assert pr.returncode == 0, pr.stderr
    api_result = json.loads(pr.stdout)

    # An app outside the repository, isolated (-I: no cwd or user site on sys.path), with only
    # scikit-learn and joblib: the saved files must unpickle and predict without our modules.
    app_dir = tmp_path / "elsewhere"
    app_dir.mkdir()
    code = (
        "import json, sys, joblib\n"
        "assert 'train' not in sys.modules\n"
        f"topic = joblib.load({str(v1 / 'topic.joblib')!r})\n"
        f"tone = joblib.load({str(v1 / 'tone.joblib')!r})\n"
        "labels = json.load(open(" + repr(str(v1 / "manifest.json")) + "))['labels']['topics']\n"
        "row = topic.predict(['oil and gas exports'])[0]\n"
        "print(json.dumps({'topics': [l for l, v in zip(labels, row) if v], 'tone': str(tone.predict(['oil and gas exports'])[0])}))\n"
        "assert not any(m == 'train' or m.startswith(('train.', 'features')) for m in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    plain = subprocess.run([sys.executable, "-I", "-c", code], cwd=app_dir, capture_output=True, text=True, env=env, timeout=120)
    assert plain.returncode == 0, plain.stderr
    plain_result = json.loads(plain.stdout)
    assert plain_result == {"topics": api_result["topics"], "tone": api_result["tone"]}


def test_train_load_model_is_a_deprecated_alias_of_the_runtime(trained):
    import artclf
    from train import load_model

    with pytest.warns(DeprecationWarning, match="use `from artclf import load_model`"):
        model = load_model("latest", models_dir=trained["models"])
    assert isinstance(model, artclf.Model)
    assert model.classify(["oil"]) == artclf.load_model("latest", trained["models"]).classify(["oil"])


def test_api_load_model_and_predict(trained):
    from artclf import load_model

    model = load_model("latest", models_dir=trained["models"])
    out = model.predict(["The ministers held talks on the treaty at the summit."])
    assert set(out[0]) == {"topics", "tone"}
    proba = model.predict_proba(["x"])[0]
    assert list(proba["tone_scores"]) == ["positive", "neutral", "negative"]
    assert abs(sum(proba["tone_scores"].values()) - 1) < 1e-3
    # Calibrated topic probabilities: predicted exactly when the probability is >= the label's
    # threshold, except that a text with too little evidence never gets every topic.
    thresholds = {k: m["threshold"] for k, m in model.manifest["calibration"]["topic"].items()}
    for text in ["oil", "border islands", "summit talks", "football", "The ministers held talks on the treaty at the summit."]:
        r = model.classify([text])[0]
        raw = model.raw_scores([text])[0]["topic_scores"]
        expected = [k for k, v in raw.items() if v >= thresholds[k]]
        if r.get("low_evidence") and len(expected) == len(thresholds):
            assert len(r["topics"]) == len(thresholds) - 1 and set(r["topics"]) < set(expected)
        else:
            assert r["topics"] == expected


def test_tampered_or_truncated_file_is_refused_before_unpickling(trained, tmp_path):
    import shutil

    from train.store.load import load_model

    copy = tmp_path / "v1"
    shutil.copytree(trained["version"], copy)
    data = bytearray((copy / "topic.joblib").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "topic.joblib").write_bytes(bytes(data))
    with pytest.raises(ArtclfError, match=r"topic.joblib: sha256 is [0-9a-f]{12}\.\.\., the manifest says [0-9a-f]{12}\.\.\."):
        load_model(str(copy))
    (copy / "topic.joblib").write_bytes(bytes(data[:100]))
    with pytest.raises(ArtclfError, match="topic.joblib: sha256 is"):
        load_model(str(copy))


def test_failed_save_leaves_no_partial_version(trained, tmp_path, monkeypatch):
    import joblib

    from artclf.refs import list_versions
    from train.store.versions import save_version

    models = tmp_path / "models"
    calls = {"n": 0}
    real_dump = joblib.dump

    def failing_dump(obj, path, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return real_dump(obj, path, **kw)

    monkeypatch.setattr(joblib, "dump", failing_dump)
    with pytest.raises(ArtclfError, match="saving the model failed .*No space left on device.*existing versions are untouched"):
        save_version(models, {"topic": {"a": 1}, "tone": {"b": 2}}, {"labels": {}})
    assert list(models.iterdir()) == []
    assert list_versions(models) == []
