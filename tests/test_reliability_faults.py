"""Injected faults beyond tests/test_faults.py: SIGINT and SIGKILL during build-dataset and train,
a predict loop running while models are trained into the same folder, and a real full or
read-only filesystem (a small tmpfs, when this process may mount one).

Afterwards nothing partial is visible, earlier versions and datasets are byte-for-byte unchanged
and still predict the same, and the next run succeeds. The random-moment matrix and the two-train
loop are slow; the default suite runs one kill per command at a chosen moment."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artclf.errors import ArtclfError
from artclf.refs import list_versions
from train.store.load import load_model
from train.store.versions import save_version

TEXTS = ["Oil and gas talks between the ministers", "Troops crossed the disputed border", "The match ended in a draw"]


from helpers import cli_popen  # noqa: E402

artclf = cli_popen


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 120) -> bool:
    """Poll until predicate() holds (True) or the process ends first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("the moment to interrupt never came")


def hidden(folder: Path, prefix: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(prefix)] if folder.is_dir() else []


def interrupt(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def check_train_aftermath(corpus: dict[str, Path], v1: dict[str, bytes], expected: list, code: int, err: str, sig: int) -> None:
    models = corpus["models"]
    print(f"{signal.Signals(sig).name}: exit {code}")
    assert "Traceback" not in err, err
    names = [p.name for p in list_versions(models)]
    if code == 0:  # the signal came after the version was published: it is complete
        assert names == ["v1", "v2"]
        assert load_model("v2", models).classify(TEXTS)
    else:
        assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL), (code, err)
        assert names == ["v1"]
        if sig == signal.SIGINT:
            assert "interrupted; nothing partial was saved" in err
            assert not hidden(models, ".tmp-"), "Ctrl-C must clean up its temporary folder"
    assert sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) == names
    assert snapshot(models / "v1") == v1
    assert load_model("v1", models).classify(TEXTS) == expected
    # The next run succeeds (in-process: the CLI path is the one interrupted above) and cleans up
    # after a SIGKILLed one.
    from train.workflow import train

    assert train(corpus["config"]).version == f"v{len(names) + 1}"
    assert not hidden(models, ".tmp-")
    assert load_model("latest", models).classify(TEXTS)


def seeded_models(corpus: dict[str, Path], trained: dict[str, Path]) -> tuple[dict[str, bytes], list]:
    corpus["models"].mkdir()
    shutil.copytree(trained["version"], corpus["models"] / "v1")
    return snapshot(corpus["models"] / "v1"), load_model("v1", corpus["models"]).classify(TEXTS)


@pytest.mark.parametrize("sig", [signal.SIGINT, pytest.param(signal.SIGKILL, marks=pytest.mark.slow)])
def test_signal_mid_save_of_train(corpus, trained, sig):
    v1, expected = seeded_models(corpus, trained)
    proc = artclf("train", corpus["config"], cwd=corpus["models"].parent)
    wait_for(lambda: bool(hidden(corpus["models"], ".tmp-")), proc)
    code, err = interrupt(proc, sig)
    check_train_aftermath(corpus, v1, expected, code, err, sig)


def test_ctrl_c_while_the_cli_is_still_importing_prints_no_traceback(corpus):
    proc = artclf("train", corpus["config"], cwd=corpus["models"].parent)
    time.sleep(0.3)
    code, err = interrupt(proc, signal.SIGINT)
    assert "Traceback" not in err, err
    assert code in (130, 0), err
    assert not corpus["models"].exists() or list_versions(corpus["models"]) in ([], [corpus["models"] / "v1"])


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
@pytest.mark.parametrize("seed", range(4))
def test_signal_at_a_random_moment_of_train(corpus, trained, sig, seed):
    v1, expected = seeded_models(corpus, trained)
    # A fresh corpus: the run builds the dataset, fits, evaluates and saves; ~3-10 s here.
    delay = random.Random(seed * 7 + sig).uniform(0.2, 8.0)
    proc = artclf("train", corpus["config"], cwd=corpus["models"].parent)
    time.sleep(delay)
    code, err = interrupt(proc, sig)
    print(f"{signal.Signals(sig).name} after {delay:.2f} s: exit {code}")
    check_train_aftermath(corpus, v1, expected, code, err, sig)


def build_twice(corpus: dict[str, Path]) -> tuple[dict[str, bytes], subprocess.Popen]:
    """A good dataset on disk, then a changed source and a rebuild running in a subprocess."""
    from train.config import load_config
    from train.data.dataset import build_dataset

    build_dataset(load_config(corpus["config"]))
    good = snapshot(corpus["dataset"])
    (corpus["seeds"] / "999_new.txt").write_text("New title\n\nThe gas pipeline reopened on Monday.\n")
    with corpus["labels"].open("a") as handle:
        handle.write(json.dumps({"id": "999_new", "topics": ["energy"], "tone": "neutral"}) + "\n")
    return good, artclf("build-dataset", corpus["config"], cwd=corpus["dataset"].parent)


def check_build_aftermath(corpus: dict[str, Path], good: dict[str, bytes], code: int, err: str) -> None:
    from train.data.dataset import load_splits

    print(f"build-dataset: exit {code}")
    assert "Traceback" not in err, err
    parent = corpus["dataset"].parent
    if code != 0:
        assert snapshot(corpus["dataset"]) == good, "an interrupted build must leave the last good dataset"
    ids = {r.id for rows in load_splits(corpus["dataset"]).values() for r in rows}
    assert ("999_new" in ids) == (code == 0)
    from train.config import load_config
    from train.data.dataset import build_dataset

    build_dataset(load_config(corpus["config"]))
    assert "999_new" in {r.id for rows in load_splits(corpus["dataset"]).values() for r in rows}
    # Regression: folders of SIGKILLed builds stayed beside the dataset forever.
    assert not [p for p in parent.iterdir() if p.name.startswith((".dataset.tmp-", ".dataset.old-"))]


@pytest.mark.parametrize("sig", [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGKILL])
def test_signal_mid_save_of_build_dataset(corpus, sig):
    good, proc = build_twice(corpus)
    wait_for(lambda: bool(hidden(corpus["dataset"].parent, ".dataset.tmp-")), proc)
    code, err = interrupt(proc, sig)
    check_build_aftermath(corpus, good, code, err)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
@pytest.mark.parametrize("seed", range(4))
def test_signal_at_a_random_moment_of_build_dataset(corpus, sig, seed):
    good, proc = build_twice(corpus)
    delay = random.Random(seed * 11 + sig).uniform(0.1, 3.0)
    time.sleep(delay)
    code, err = interrupt(proc, sig)
    print(f"{signal.Signals(sig).name} after {delay:.2f} s: exit {code}")
    check_build_aftermath(corpus, good, code, err)


def test_ctrl_c_between_the_dataset_renames_puts_the_old_dataset_back(corpus, monkeypatch):
    # Regression: the cleanup deleted the renamed-away good dataset too, leaving none at all.
    from train.config import load_config
    from train.data.dataset import build_dataset

    config = load_config(corpus["config"])
    build_dataset(config)
    good = snapshot(corpus["dataset"])
    real_rename = os.rename

    calls = []

    def interrupted(src, dst):
        calls.append(dst)
        if Path(dst) == corpus["dataset"].resolve() and len(calls) == 2:  # the swap's second rename
            raise KeyboardInterrupt
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(config)
    monkeypatch.undo()
    assert snapshot(corpus["dataset"]) == good
    assert not [p for p in corpus["dataset"].parent.iterdir() if p.name.startswith(".dataset.")
                and not p.name.endswith(".lock")]


def test_sigkill_between_the_dataset_renames_is_repaired_by_the_next_build(corpus):
    from train.config import load_config
    from train.data.dataset import build_dataset

    config = load_config(corpus["config"])
    build_dataset(config)
    good = snapshot(corpus["dataset"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    # What a build killed right after its first rename leaves: no dataset, the old one aside.
    os.rename(corpus["dataset"], corpus["dataset"].parent / f".dataset.old-{int(dead.stdout)}")
    (corpus["dataset"].parent / f".dataset.tmp-{int(dead.stdout)}").mkdir()
    build_dataset(config)
    assert snapshot(corpus["dataset"]) == good  # same inputs, same dataset
    assert sorted(p.name for p in corpus["dataset"].parent.iterdir() if p.name.startswith(".dataset")) == [".dataset.lock"]


PREDICT_LOOP = """
import json, sys, time
from pathlib import Path
from train.store.load import load_model
models, stop = sys.argv[1], Path(sys.argv[2])
texts = ["Oil and gas talks between the ministers", "Troops crossed the disputed border"]
stats = {"loads": 0, "errors": [], "versions": []}
while not stop.exists():
    try:
        model = load_model("latest", models)
        out = model.classify(texts)
        assert len(out) == 2 and all(set(r) == {"topics", "topic_scores", "tone", "tone_scores"} for r in out)
        stats["loads"] += 1
        if model.version not in stats["versions"]:
            stats["versions"].append(model.version)
    except Exception as exc:
        stats["errors"].append(f"{type(exc).__name__}: {exc}")
print(json.dumps(stats))
"""


@pytest.mark.parametrize("n_trains", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_predict_loop_while_training_into_the_same_folder(corpus, trained, tmp_path, n_trains):
    v1, _ = seeded_models(corpus, trained)
    stop = tmp_path / "stop"
    loop = subprocess.Popen([sys.executable, "-c", PREDICT_LOOP, str(corpus["models"]), str(stop)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        trains = [artclf("train", corpus["config"], cwd=tmp_path) for _ in range(n_trains)]
        results = [p.communicate(timeout=600) for p in trains]
    finally:
        stop.touch()
        out, err = loop.communicate(timeout=120)
    for proc, (_, train_err) in zip(trains, results):
        assert proc.returncode == 0, train_err
    assert loop.returncode == 0, err
    stats = json.loads(out)
    print(f"predict loop: {stats['loads']} loads, versions seen {stats['versions']}")
    assert stats["errors"] == [] and stats["loads"] > 0
    expected = [f"v{i}" for i in range(1, n_trains + 2)]
    assert set(stats["versions"]) <= set(expected)
    assert [p.name for p in list_versions(corpus["models"])] == expected
    assert snapshot(corpus["models"] / "v1") == v1


@pytest.fixture
def tmpfs(tmp_path):
    """A 1 MB tmpfs (a real full disk, a real read-only mount); skips when mounting is not allowed."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'}); "
                    "tests/test_faults.py simulates ENOSPC and EACCES instead")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path, leave: int) -> Path:
    """Fill the filesystem of ``folder`` up to ``leave`` free bytes."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    filler = folder / ".filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def test_full_disk_while_saving_a_model(trained, tmpfs):
    models = tmpfs / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")
    before = snapshot(models / "v1")
    model = load_model("v1", models)
    estimators = {"topic": model.topic_pipeline, "tone": model.tone_pipeline}
    filler = fill(tmpfs, leave=16 * 1024)
    with pytest.raises(ArtclfError, match=r"saving the model failed \(No space left on device\); free some disk space; existing versions are untouched"):
        save_version(models, estimators, dict(model.manifest))
    assert sorted(p.name for p in models.iterdir()) == ["v1"]
    assert snapshot(models / "v1") == before
    filler.unlink()
    assert save_version(models, estimators, dict(model.manifest)).name == "v2"
    assert load_model("v2", models).classify(TEXTS) == model.classify(TEXTS)


def test_full_disk_while_building_the_dataset(corpus, tmpfs):
    from train.config import load_config
    from train.data.dataset import build_dataset

    config = load_config(corpus["config"], [f'data.dataset_dir="{tmpfs / "dataset"}"'])
    build_dataset(config)
    good = snapshot(tmpfs / "dataset")
    fill(tmpfs, leave=8 * 1024)
    with pytest.raises(ArtclfError, match=r"dataset: cannot write the dataset \(No space left on device\); check free space"):
        build_dataset(config)
    assert snapshot(tmpfs / "dataset") == good
    assert sorted(p.name for p in tmpfs.iterdir() if p.name.startswith(".dataset")) in ([], [".dataset.lock"])


def test_read_only_models_folder(trained, tmpfs, corpus):
    models = tmpfs / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")
    before = snapshot(models / "v1")
    remount = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True, text=True)
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
    from typer.testing import CliRunner

    from train.cli import app

    result = CliRunner().invoke(app, ["train", str(corpus["config"]), "--set", f'train.models_dir="{models}"'])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {models}: cannot create a model version here (Read-only file system); "
                      "check that the models folder is writable and has free space, or set train.models_dir"], result.output
    assert snapshot(models / "v1") == before
    assert load_model("v1", models).classify(TEXTS)  # reading needs no write access
