"""Faults around saving: concurrent trains, SIGKILL mid-save, stale temporary folders, a models
folder that cannot be written, and predict's memory on a long stream."""

from __future__ import annotations

import json
import os
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
from train.store.versions import clean_stale_tmp, save_version, stale_tmp_dirs

REPO = Path(__file__).resolve().parents[1]


from helpers import cli_popen  # noqa: E402

artclf = cli_popen


def test_two_trains_started_together_get_distinct_versions(corpus, tmp_path):
    runs = [artclf("train", corpus["config"], cwd=tmp_path) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    for proc, (out, err) in zip(runs, outputs):
        assert proc.returncode == 0, err
    saved = sorted(line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("saved "))
    assert saved == ["v1", "v2"]
    assert [p.name for p in list_versions(corpus["models"])] == ["v1", "v2"]
    for version in ("v1", "v2"):
        assert load_model(version, corpus["models"]).predict(["oil"])
    assert not [p for p in corpus["models"].iterdir() if p.name.startswith(".tmp-")]


SLOW_SAVE = """
import sys, time
from pathlib import Path
import joblib
from train.store.versions import save_version

real_dump = joblib.dump
def slow_dump(obj, path, **kw):
    real_dump(obj, path, **kw)
    Path(sys.argv[2]).write_text("half-saved")  # tell the test the temp folder is half full
    time.sleep(120)
joblib.dump = slow_dump
save_version(sys.argv[1], {"topic": {"a": 1}, "tone": {"b": 2}}, {"labels": {}})
"""


def test_sigkill_mid_save_leaves_no_partial_version(trained, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")
    marker = tmp_path / "half-saved"
    child = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(models), str(marker)], cwd=tmp_path,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the child never started saving"
            time.sleep(0.05)
        tmp_dirs = [p for p in models.iterdir() if p.name.startswith(".tmp-")]
        assert len(tmp_dirs) == 1 and any(tmp_dirs[0].iterdir())
        assert stale_tmp_dirs(models) == [], "a save in progress must not look stale"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    # The half-written folder is still there, but it is not a version and nothing trips over it.
    assert [p.name for p in list_versions(models)] == ["v1"]
    assert load_model("latest", models).predict(["oil"])
    assert stale_tmp_dirs(models) == tmp_dirs
    assert clean_stale_tmp(models) == tmp_dirs
    assert sorted(p.name for p in models.iterdir()) == ["v1"]


def test_stale_tmp_cleanup_spares_running_saves(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    ours_fresh = models / f".tmp-{os.getpid()}-fresh"
    ours_old = models / f".tmp-{os.getpid()}-old"
    gone = models / f".tmp-{dead_pid}-gone"
    for folder in (ours_fresh, ours_old, gone):
        folder.mkdir()
        (folder / "topic.joblib").write_bytes(b"partial")
    os.utime(ours_old, (time.time() - 7200, time.time() - 7200))
    unrelated = models / ".tmp-notes"
    unrelated.mkdir()

    assert stale_tmp_dirs(models) == sorted([gone, ours_old])
    clean_stale_tmp(models)
    assert sorted(p.name for p in models.iterdir()) == sorted([ours_fresh.name, unrelated.name])


@pytest.mark.parametrize("failing", ["mkdir", "rename"])
def test_unwritable_models_dir_gives_a_clear_message_and_keeps_versions(trained, tmp_path, monkeypatch, failing):
    # We run as root in CI, where chmod does not stop writes: fail the system call instead.
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")
    before = {p.name: p.read_bytes() for p in (models / "v1").iterdir()}

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    if failing == "mkdir":
        real_mkdir = Path.mkdir
        monkeypatch.setattr(Path, "mkdir", lambda self, *a, **k: denied() if self.name.startswith(".tmp-") else real_mkdir(self, *a, **k))
        pattern = r"cannot create a model version here \(Permission denied\); check that the models folder is writable"
    else:
        monkeypatch.setattr(os, "rename", denied)
        pattern = r"saving the model failed \(Permission denied\).*existing versions are untouched"
    with pytest.raises(ArtclfError, match=pattern):
        save_version(models, {"topic": {"a": 1}}, {"labels": {}})
    monkeypatch.undo()
    assert sorted(p.name for p in models.iterdir()) == ["v1"]
    assert {p.name: p.read_bytes() for p in (models / "v1").iterdir()} == before


def test_full_disk_while_writing_skops_keeps_versions(trained, tmp_path, monkeypatch):
    from train.store import skops_io

    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(trained["version"], models / "v1")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(skops_io, "dump", full)
    with pytest.raises(ArtclfError, match=r"No space left on device\); free some disk space; existing versions are untouched"):
        save_version(models, {"topic": {"a": 1}}, {"labels": {}})
    assert sorted(p.name for p in models.iterdir()) == ["v1"]


STREAM = """
import json, resource, sys
from train.cli import main
sys.argv = ["artclf", "predict", "--models-dir", sys.argv[1], "-"]
try:
    main()
except SystemExit:
    pass
print(json.dumps({"peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), file=sys.stderr)
"""


def peak_rss_streaming(models: Path, n: int, tmp_path: Path) -> int:
    source = tmp_path / f"in-{n}.jsonl"
    with source.open("w") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": i, "title": f"Report {i}", "text": f"Oil and gas talks at the border, item {i}."}) + "\n")
    with source.open() as stdin, (tmp_path / f"out-{n}.jsonl").open("w") as stdout:
        done = subprocess.run([sys.executable, "-c", STREAM, str(models)], stdin=stdin, stdout=stdout,
                              stderr=subprocess.PIPE, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    with (tmp_path / f"out-{n}.jsonl").open() as out:
        assert sum(1 for _ in out) == n
    return json.loads(done.stderr.strip().splitlines()[-1])["peak_rss_kb"]


@pytest.mark.slow
def test_predict_streams_100k_records_in_flat_memory(trained, tmp_path):
    small = peak_rss_streaming(trained["models"], 5_000, tmp_path)
    large = peak_rss_streaming(trained["models"], 100_000, tmp_path)
    print(f"peak RSS: 5,000 records {small / 1024:.1f} MB, 100,000 records {large / 1024:.1f} MB, ratio {large / small:.3f}")
    # 20x the records; holding them (or their results) would add tens of MB.
    assert large - small < 20 * 1024


def test_a_build_waits_for_a_reader_of_the_same_dataset(tmp_path, monkeypatch):
    """Two trains started together both build; the second swap must not pull the dataset away
    while the first train is reading it (a race seen once in a fresh-clone `make test`)."""
    import threading

    import datasets

    from train.config import LabelsConfig
    from train.data.dataset import Record, load_splits, save_dataset

    def records(tag: str) -> dict:
        return {"train": [Record(id=f"{tag}{i}", text=f"text {tag} {i}", topics=("energy",), tone="neutral", title="")
                          for i in range(3)]}

    out = tmp_path / "dataset"
    save_dataset(records("a"), LabelsConfig(), out, {})
    real_load = datasets.load_from_disk
    reading = threading.Event()

    def slow_load(path, *args, **kwargs):
        reading.set()
        time.sleep(0.5)  # a reader in the middle of its read while the other build swaps
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(datasets, "load_from_disk", slow_load)
    read: dict = {}
    reader = threading.Thread(target=lambda: read.update(load_splits(out)))
    reader.start()
    assert reading.wait(10)
    save_dataset(records("b"), LabelsConfig(), out, {})
    reader.join(10)
    assert [r.id for r in read["train"]] == ["a0", "a1", "a2"]
    assert [r.id for r in load_splits(out)["train"]] == ["b0", "b1", "b2"]
