"""The runtime apps install is its own distribution, `artclf` (artclf/pyproject.toml): its wheel
holds the `artclf` package and nothing else, depends on numpy alone, and, installed into a clean
venv, loads a version trained here and answers as the training side does.

The wheel is built once (pip, isolated build: setuptools from the configured index or cache). The
clean-venv install takes about 30 s (a venv, pip, numpy), so it is marked slow (`make test-slow`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "artclf"


def _pip(*args: str, python: str = sys.executable, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([python, "-m", "pip", *args, "--disable-pip-version-check"], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd="/")
    if done.returncode != 0:
        pytest.fail(f"pip {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime's wheel, built from a copy of artclf/ (pip builds in place: no build/ in the repo)."""
    work = tmp_path_factory.mktemp("runtime_wheel")
    source = work / "src"
    shutil.copytree(RUNTIME, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(work / "dist"), str(source))
    (built,) = (work / "dist").glob("artclf-*.whl")
    return built


def test_the_runtime_wheel_holds_only_artclf_and_needs_only_numpy(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(info).decode("utf-8"))
    tops = {n.split("/")[0] for n in names}
    assert tops == {"artclf", info.split("/")[0]}, tops
    assert metadata["Name"] == "artclf"
    # Everything of the package, the format's spec and schema included; no pyproject, no tests.
    modules = {p.name for p in RUNTIME.glob("*.py")}
    assert {n.split("/", 1)[1] for n in names if n.startswith("artclf/") and n.endswith(".py")} == modules
    assert {"artclf/FORMAT.md", "artclf/format.schema.json", "artclf/py.typed"} <= set(names)
    assert not any(n.startswith(("train/", "features/")) or n.endswith("pyproject.toml") for n in names)
    requires = metadata.get_all("Requires-Dist") or []
    always = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("=")[0].split(";")[0].strip() for r in always] == ["numpy", "mmh3"], requires


def test_the_training_distribution_depends_on_the_runtime_and_does_not_ship_it():
    import tomllib

    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = tomllib.loads((RUNTIME / "pyproject.toml").read_text(encoding="utf-8"))
    assert root["project"]["name"] == "artclf-train" and runtime["project"]["name"] == "artclf"
    assert f"artclf=={runtime['project']['version']}" in root["project"]["dependencies"]
    assert "artclf" not in root["tool"]["setuptools"]["packages"]
    assert root["project"]["scripts"]["artclf"] == "train.cli:main"
    assert runtime["project"]["dependencies"] == ["numpy>=2.4", "mmh3>=5.3"]


# Runs inside the clean venv, from a folder with nothing importable in it.
PROBE = r"""
import importlib.util, json, sys
blocked = [m for m in ("sklearn", "scipy", "skops", "joblib", "train", "features", "datasets") if importlib.util.find_spec(m)]
from artclf import load_model
model = load_model(sys.argv[1])
texts = json.loads(sys.argv[2])
print(json.dumps({"blocked": blocked, "modules": sorted(m for m in ("sklearn", "scipy", "skops") if m in sys.modules),
                  "classify": model.classify(texts), "raw": model.raw_scores(texts)}))
"""


@pytest.mark.slow
def test_a_clean_venv_with_the_runtime_alone_predicts_as_the_training_side(wheel, tmp_path):
    from conftest import write_corpus
    from train.store.load import load_model as load_sklearn
    from train.workflow import train

    paths = write_corpus(tmp_path / "corpus")
    result = train(paths["config"])
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    _pip("install", "--quiet", str(wheel), python=python)
    listed = {p["name"].lower() for p in json.loads(_pip("list", "--format=json", python=python).stdout)}
    assert listed - {"pip", "setuptools", "wheel"} == {"artclf", "numpy", "mmh3"}, listed

    texts = ["The ministers signed a treaty on gas supplies and the disputed border.",
             "Oil output fell.", "", "Élections à Genève: the talks résumé on Tuesday, 5% growth."]
    probe = tmp_path / "empty_cwd"
    probe.mkdir()
    done = subprocess.run([python, "-c", PROBE, str(result.path), json.dumps(texts)], capture_output=True, text=True,
                          cwd=probe, timeout=300, env={"PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert answer["blocked"] == [] and answer["modules"] == []
    reference = load_sklearn(str(result.path))
    assert answer["classify"] == reference.classify(texts)
    for mine, theirs in zip(answer["raw"], reference.raw_scores(texts)):
        for task in theirs:
            for label, score in theirs[task].items():
                assert abs(mine[task][label] - score) <= 1e-6
