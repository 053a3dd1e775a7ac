"""Scale: stream mode against memory mode, clean failure mid-stream, MinHash near-duplicates
against the exact method, and the benchmark corpus generator (small data only: the 1M-article run
is `make bench-scale`, not the suite)."""

from __future__ import annotations

import json
import random
import re
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write_corpus
from helpers import cli_popen

REPO = Path(__file__).resolve().parents[1]


# --- stream mode -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def both_modes(tmp_path_factory):
    """One corpus, one dataset, trained once in memory mode and once in stream mode."""
    from train.workflow import train

    root = tmp_path_factory.mktemp("modes")
    paths = write_corpus(root, copies=8)
    memory = train(paths["config"], ["train.mode=memory"])
    stream = train(paths["config"], ["train.mode=stream", "train.stream_batch=64", "train.stream_holdout=0.2"])
    return paths, memory, stream


def test_stream_mode_scores_close_to_memory_mode(both_modes):
    _, memory, stream = both_modes
    assert memory.manifest["training"]["mode"] == "memory"
    assert stream.manifest["training"]["mode"] == "stream"
    assert memory.manifest["dataset"]["fingerprint"] == stream.manifest["dataset"]["fingerprint"]
    for split in ("validation", "test"):
        m, s = memory.metrics[split], stream.metrics[split]
        assert abs(m["topic"]["micro_f1"] - s["topic"]["micro_f1"]) <= 0.1, (split, m["topic"], s["topic"])
        assert abs(m["tone"]["accuracy"] - s["tone"]["accuracy"]) <= 0.1, (split, m["tone"], s["tone"])


def test_a_stream_version_is_an_ordinary_version(both_modes):
    """Stock scikit-learn objects: loads through the checked loader (skops, trusted types only),
    predicts through the fast path, explains, and plain joblib gets the same labels."""
    import joblib
    from sklearn.linear_model import SGDClassifier
    from sklearn.multiclass import OneVsRestClassifier

    from train.store.load import load_model
    from train.store.skops_io import TRUSTED_TYPES, file_types

    _, _, stream = both_modes
    for name in ("topic", "tone"):
        assert (stream.path / f"{name}.skops").is_file(), "every type must be on the trusted list"
        assert set(file_types(stream.path / f"{name}.skops")) <= TRUSTED_TYPES
    model = load_model(str(stream.path))
    assert isinstance(model.topic_pipeline[-1], OneVsRestClassifier)
    assert all(isinstance(e, SGDClassifier) for e in model.topic_pipeline[-1].estimators_)
    assert isinstance(model.tone_pipeline[-1], SGDClassifier)
    assert model._fast is not None, "the serving fast path must accept SGD models"
    texts = ["Crude oil output rose as the pipeline reopened and gas exports increased.",
             "The foreign ministers held talks on a new treaty at the summit."]
    ours = model.predict(texts)
    assert "energy" in ours[0]["topics"] and "diplomacy" in ours[1]["topics"]
    plain = joblib.load(stream.path / "topic.joblib").predict(texts)
    labels = model.manifest["labels"]["topics"]
    assert [sorted(p["topics"]) for p in ours] == [sorted(labels[j] for j in np.flatnonzero(row)) for row in plain]
    explained = model.explain(texts[0])
    assert explained["topics"]
    assert stream.manifest["thresholds"]["energy"]["holdout"] > 0


def test_memory_and_stream_modes_are_chosen_by_size():
    from train.config import load_config
    from train.fit.stream import training_mode

    config = load_config(None, ["train.stream_above=1000"])
    assert training_mode(config, 1000) == "memory"
    assert training_mode(config, 1001) == "stream"
    assert training_mode(load_config(None, ["train.mode=stream"]), 10) == "stream"


def test_stream_mode_refuses_branches_it_cannot_stream():
    from artclf.errors import ConfigError
    from train.config import load_config
    from train.fit.stream import stream_features

    with pytest.raises(ConfigError, match="word branch only"):
        stream_features(load_config(None, ["features.char_ngrams=true"]))
    assert stream_features(load_config(None)).hash_bits == 20


def _slow_stream(paths):
    # Small batches and many epochs: long enough to be interrupted in the middle of the stream.
    return [paths["config"], "--set", "train.mode=stream", "--set", "train.stream_batch=64", "--set", "train.stream_epochs=400"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_stream_saves_nothing(tmp_path, sig):
    paths = write_corpus(tmp_path, copies=4)
    child = cli_popen("train", *_slow_stream(paths), cwd=tmp_path)
    try:
        # Wait for the fit to be well into its epochs (plain progress lines on a pipe).
        for line in child.stderr:
            if re.match(r"epoch [3-9]\d*/400", line):
                break
        else:
            pytest.fail(f"no epoch line; exit {child.wait()}")
        spills = list(paths["models"].glob(".tmp-*-stream"))
        assert len(spills) == 1, "the spilled chunks live in one temporary folder while streaming"
        child.send_signal(sig)
        rest = child.stderr.read()
        code = child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert not [p for p in paths["models"].iterdir() if re.fullmatch(r"v\d+", p.name)], "no version may appear"
    if sig == signal.SIGINT:
        assert code == 130
        assert "interrupted; nothing partial was saved" in rest
        assert not list(paths["models"].glob(".tmp-*")), "Ctrl-C removes the spill folder"
    else:
        assert code == -signal.SIGKILL
        # A killed run cannot clean up; its folder (dead pid) is removed by the next save.
        from train.store.versions import clean_stale_tmp, stale_tmp_dirs

        assert stale_tmp_dirs(paths["models"]) == spills
        assert clean_stale_tmp(paths["models"]) == spills
        assert not list(paths["models"].glob(".tmp-*"))


# --- near-duplicates -------------------------------------------------------------------------


def _planted_corpus(n_base: int = 400, seed: int = 5) -> tuple[list[str], list[tuple[int, int]]]:
    """Distinct seed articles plus edited copies (new first line, a paragraph cut, words changed);
    returns the texts and the (original, copy) index pairs planted."""
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "seeds").glob("*.txt"))[:n_base]]
    planted = []
    for i in rng.sample(range(len(texts)), 60):
        text = texts[i]
        kind = len(planted) % 3
        if kind == 0:
            copy = "UPDATED: " + rng.choice(texts)[:60] + "\n\n" + text
        elif kind == 1:
            paragraphs = text.split("\n\n")
            copy = "\n\n".join(paragraphs[:-1]) if len(paragraphs) > 3 else text + "\n\nCorrected."
        else:
            words = text.split(" ")
            for k in rng.sample(range(len(words)), max(1, len(words) // 40)):
                words[k] = "changed"
            copy = " ".join(words)
        planted.append((i, len(texts)))
        texts.append(copy)
    return texts, planted


def test_minhash_signatures_are_datasketchs():
    from datasketch import MinHash

    from train.data.dedup import MinHasher, shingle_hashes

    hasher = MinHasher()
    shingles = shingle_hashes("The foreign ministers held talks on a new treaty and agreed to meet again at the summit.")
    ours = hasher.signatures([shingles])[0]
    theirs = MinHash(num_perm=hasher.num_perm, seed=hasher.seed, hashfunc=int)
    theirs.update_batch([int(x) for x in MinHasher.input_hashes(shingles)])
    assert np.array_equal(ours, theirs.hashvalues)


def test_shingle_hashes_are_stable_across_processes():
    import subprocess

    from train.data.dedup import shingle_hashes

    code = "from train.data.dedup import shingle_hashes; print(shingle_hashes('one two three four five six seven').tolist())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(other.stdout) == shingle_hashes("one two three four five six seven").tolist()


def test_minhash_finds_the_exact_methods_pairs_and_keeps_groups_in_one_split():
    from train.config import load_config
    from train.data.dataset import Record, split_records
    from train.data.dedup import duplicate_groups, minhash_pairs, near_duplicate_pairs

    texts, planted = _planted_corpus()
    exact = near_duplicate_pairs(texts, 0.6)
    approx = minhash_pairs(texts, 0.6)
    assert {(i, j) for i, j, _ in approx} == {(i, j) for i, j, _ in exact}
    assert [j for _, j, _ in approx] and all(round(a[2], 3) == round(b[2], 3) for a, b in zip(sorted(approx), sorted(exact)))
    found = {(i, j) for i, j, _ in approx}
    caught = [p for p in planted if p in found]
    assert len(caught) >= 0.9 * len(planted), "the planted copies are near-duplicates"

    groups = duplicate_groups(len(texts), approx)
    tones = ("positive", "neutral", "negative")
    records = [Record(id=str(i), text=t, topics=(), tone=tones[i % 3]) for i, t in enumerate(texts)]
    splits, _ = split_records(records, groups, load_config(None))
    where = {r.id: name for name, rows in splits.items() for r in rows}
    for i, j, _ in approx:
        assert where[str(i)] == where[str(j)], f"near-duplicates {i} and {j} crossed splits"


def test_auto_method_switches_to_minhash_above_the_threshold(monkeypatch):
    from train.data import dedup

    calls = []
    monkeypatch.setattr(dedup, "minhash_pairs", lambda texts, t: calls.append("minhash") or [])
    monkeypatch.setattr(dedup, "near_duplicate_pairs", lambda texts, t: calls.append("exact") or [])
    monkeypatch.setattr(dedup, "MINHASH_ABOVE", 3)
    dedup.find_near_duplicates(["a"] * 3, 0.6)
    dedup.find_near_duplicates(["a"] * 4, 0.6)
    dedup.find_near_duplicates(["a"] * 4, 0.6, "exact")
    dedup.find_near_duplicates(["a"] * 2, 0.6, "minhash")
    assert calls == ["exact", "minhash", "exact", "minhash"]


# --- the benchmark corpus ---------------------------------------------------------------------


def _generate(tmp_path: Path, name: str, seed: int, n: int = 300) -> list[dict]:
    from bench.corpus import generate
    from train.data.sources import DataUnavailable

    try:
        generate(n, tmp_path / name, seed, pool_limit=150, part_rows=120)
    except DataUnavailable as exc:
        pytest.skip(f"shared data absent: {exc}")
    return [json.loads(line) for p in sorted((tmp_path / name).glob("part-*.jsonl")) for line in p.open(encoding="utf-8")]


def test_corpus_generator_is_reproducible_by_seed(tmp_path, monkeypatch):
    from artclf.text import article_text
    from train.config import LabelsConfig
    from train.data.weak import fired_rules, load_rules, weak_tone, weak_topics

    monkeypatch.setenv("ARTCLF_CORPUS_CACHE", "")
    a = _generate(tmp_path, "a", 7)
    b = _generate(tmp_path, "b", 7)
    c = _generate(tmp_path, "c", 8)
    assert a == b
    assert a != c
    assert len(a) == 300 and len({r["id"] for r in a}) == 300
    assert len(list((tmp_path / "a").glob("part-*.jsonl"))) == 3
    # Labels are the rules' labels: per-part hit counts summed equal the rules run on the text.
    rules = load_rules(REPO / "configs" / "rules" / "lexicons.toml", LabelsConfig())
    agree = 0
    for row in a:
        fired = fired_rules(rules, article_text(row["title"], row["text"]))
        agree += (list(weak_topics(rules, fired, LabelsConfig().topics)[0]), weak_tone(rules, fired)[0]) == (row["topics"], row["tone"])
    assert agree >= 0.98 * len(a)


def test_progress_prints_plain_lines_when_not_a_terminal():
    import io

    from train.cli._util import ProgressPrinter
    from train.progress import Progress

    out = io.StringIO()
    printer = ProgressPrinter(stream=out)
    for done in range(0, 1001, 50):
        printer(Progress("epoch 1/2", done, 1000, "rows"))
    printer(Progress("thresholds", message="50 held-out articles"))
    printer.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[0] == "epoch 1/2: 0/1,000 rows (0%)"
    assert lines[-2] == "epoch 1/2: 1,000/1,000 rows (100%)"
    assert lines[-1] == "thresholds: 50 held-out articles"
    assert len(lines) == 12, "one line per 10% of a stage, not one per batch"
