"""The JavaScript runtime (js/artclf.mjs) loads the folders the exporter writes and scores them as
the Python runtime does: this test exports models, writes parity vectors and runs
`node --test js/test/` on them. Skips where node is not installed."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from artclf._analyzer import Analyzer, murmurhash3_32, strip_accents_unicode
from artclf._portable import PortableModel
from portable_cases import CONFIGS, EDGE_TEXTS, check_texts, fit_named
from train.store.portable import check_parity, export_portable

ROOT = Path(__file__).resolve().parents[1]

# One model per analyzer and head the format has, including every token pattern the trainer makes.
JS_CASES = [
    "default", "bigrams min_df 1", "english stop words 1-2", "punctuation token pattern", "custom token pattern",
    "lead + char + bigrams", "hashed lead char bigrams", "no lowercase no accents char", "tone complement nb",
    "svc both float32 pruned", "hashed nb_svm float32 pruned", "tone only", "topic only", "binary tone logreg",
    "binary tone svc", "constant topic svc", "tone labels in another order", "calibration platt", "calibration isotonic",
    "calibration isotonic svc float32", "calibration none",
    "multiclass topic svc float32 pruned", "multiclass two topics logreg", "multiclass two topics svc topic only",
]

TOKEN_SPECS = [
    {"kind": "word", "lowercase": True, "strip_accents": "unicode", "ngram_range": [1, 2], "token_pattern": r"(?u)\b\w\w+\b", "stop_words": None},
    {"kind": "word", "lowercase": False, "strip_accents": None, "ngram_range": [1, 1], "token_pattern": r"(?u)\b\w\w+\b", "stop_words": None},
    {"kind": "word", "lowercase": True, "strip_accents": "unicode", "ngram_range": [1, 1], "token_pattern": r"(?u)\w+|[^\w\s]", "stop_words": None},
    {"kind": "word", "lowercase": True, "strip_accents": None, "ngram_range": [1, 1], "token_pattern": r"(?u)(?<=[\s\S]{25})[\s\S]+|(\b\w\w+\b)", "stop_words": [""]},
    {"kind": "word", "lowercase": True, "strip_accents": "unicode", "ngram_range": [1, 1], "token_pattern": r"(?u)\b[^\W\d_][\w'-]*\b", "stop_words": None},
    {"kind": "word", "lowercase": True, "strip_accents": "unicode", "ngram_range": [1, 1], "token_pattern": r"\d+(?:[.,]\d+)?|\S+?(?=\s|$)", "stop_words": None},
    {"kind": "word", "lowercase": True, "strip_accents": None, "ngram_range": [1, 1], "token_pattern": r"\B\w{2}|x{,2}y|\.{2,}|[\W\d]+$", "stop_words": None},
    {"kind": "char_wb", "lowercase": True, "strip_accents": "unicode", "ngram_range": [1, 4]},
    {"kind": "char_wb", "lowercase": False, "strip_accents": None, "ngram_range": [2, 3]},
]


def _write(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


def _vectors(tmp: Path) -> None:
    texts = check_texts()
    cases = []
    for i, name in enumerate(JS_CASES):
        config = CONFIGS[name]
        fitted = fit_named(name)
        files = export_portable(fitted.topic, fitted.tone, list(config.labels.topics), list(config.labels.tone), config.topic.mode,
                                fitted.calibration)
        check_parity(files, fitted.topic, fitted.tone, texts, topic_mode=config.topic.mode)
        folder = tmp / f"model{i}"
        folder.mkdir()
        for file, data in files.items():
            (folder / file).write_bytes(data)
        model = PortableModel(files)
        cases.append({"name": name, "dir": folder.name, "texts": texts, "raw": model.raw_scores(texts), "classify": model.classify(texts),
                      "sha256": {f: hashlib.sha256(d).hexdigest() for f, d in files.items()}})
    _write(tmp / "vectors.json", {"cases": cases})

    token_texts = EDGE_TEXTS + ["x xy xxy xxxy ... .. a1 b2 1,5 2.5 end$\n", "tail newline\n", "İIıi ΣΑΣ Σ. ΌΣΟΣ σ ΣΣ"]
    analyzers = []
    for spec in TOKEN_SPECS:
        analyzer = Analyzer(spec)
        analyzers.append({"spec": spec, "texts": token_texts, "tokens": [analyzer(t) for t in token_texts]})
    rng = random.Random(0)
    words = [w for t in token_texts for w in t.split()] + ["", "a", "ab", "abc", "abcd", "🚀", "é"]
    words += ["".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(1, 12))) for _ in range(500)]
    hashes = [[w, murmurhash3_32(w.encode("utf-8"))] for w in words if not any(0xD800 <= ord(c) <= 0xDFFF for c in w)]
    rounding = [[x, round(x, 4)] for x in [0.03125, 0.09375, 0.15625, 1 / 3, 2 / 3, 0.5, 0.99995, 0.00005, 0.123449999, 0.12345, 1.0, 0.0, 1e-9]]
    rounding += [[x, round(x, 4)] for x in np.random.default_rng(0).random(2000).tolist()]
    _write(tmp / "tokens.json", {"analyzers": analyzers, "hashes": hashes, "rounding": rounding})

    lower, strip = {}, {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if ch.lower() != ch:
            lower[cp] = ch.lower()
        if strip_accents_unicode(ch) != ch:
            strip[cp] = strip_accents_unicode(ch)
    _write(tmp / "unicode.json", {"lower": lower, "strip": strip})
    np.save(tmp / "object.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)


VERSION_TEXTS = [
    "The foreign ministers signed a treaty on gas supplies and the disputed border.",
    "Oil output fell as the pipeline closed; talks collapsed.",
    "Parliament voted on the budget after the election campaign.",
    "The team won the cup final with a late goal.",
    "Élections à Genève: les ministres ont signé l'accord — 5% de croissance.",
]


def _versions(tmp: Path) -> None:
    """Version folders saved by train.workflow.train (multi-label with tone; multiclass topics),
    what the Python runtime answers on them, and tampered copies the JS loader must refuse."""
    from artclf import load_model
    from conftest import write_corpus
    from test_new_user import CSV_MULTICLASS, config, rows, write_csv
    from train.workflow import train

    multilabel = train(write_corpus(tmp / "multilabel")["config"]).path
    (tmp / "multiclass").mkdir(parents=True)
    write_csv(tmp / "multiclass" / "news.csv", rows(tone=True))
    multiclass = train(config(tmp / "multiclass", CSV_MULTICLASS.replace("tone = []", 'tone = ["positive", "negative"]'))).path
    versions = []
    for name, path in (("multilabel", multilabel), ("multiclass", multiclass)):
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["portable"]["available"], manifest["portable"]
        model = load_model(str(path))
        versions.append({"name": name, "dir": str(path), "texts": VERSION_TEXTS, "classify": model.classify(VERSION_TEXTS),
                         "raw": model.raw_scores(VERSION_TEXTS), "version": manifest["version"]})
    tampered = {}
    # One listed portable file changed by one byte: refused on its sha256, before parsing.
    target = tmp / "tampered_file"
    shutil.copytree(multilabel, target)
    name = next(n for n in json.loads((multilabel / "manifest.json").read_text())["portable"]["files"] if n.endswith(".npy"))
    data = bytearray((target / name).read_bytes())
    data[-1] ^= 1
    (target / name).write_bytes(bytes(data))
    tampered["file"] = {"dir": str(target), "file": name}
    # A saved canary score edited: the files are intact, the re-scored canary is not what was saved.
    target = tmp / "tampered_canary"
    shutil.copytree(multilabel, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    scores = manifest["canaries"]["expected"][0]["tone_scores"]
    first = next(iter(scores))
    scores[first] += 0.01
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    tampered["canary"] = {"dir": str(target)}
    # A version saved without portable files: refused with the recorded reason.
    target = tmp / "no_portable"
    shutil.copytree(multilabel, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["portable"] = {"available": False, "reason": "made up for this test"}
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    tampered["no_portable"] = {"dir": str(target)}
    _write(tmp / "versions.json", {"versions": versions, "tampered": tampered})


def test_javascript_runtime_passes_the_parity_vectors(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the JavaScript runtime (js/artclf.mjs) was not tested; install Node >= 20 to run it")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.skip(f"node {version} is older than 20, which js/artclf.mjs needs")
    _vectors(tmp_path)
    _versions(tmp_path / "versions")
    env = {**os.environ, "ARTCLF_PARITY_DIR": str(tmp_path)}
    result = subprocess.run([node, "--test", "js/test/"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "# fail 0" in result.stdout and "# skipped 0" in result.stdout, result.stdout[-3000:]
