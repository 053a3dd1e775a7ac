"""Benchmark tasks: the public datasets as labeled Records, run through the dataset stage.

Each dataset is written as a Hugging Face DatasetDict with ``train.data.dataset.save_dataset`` and read
back with ``load_splits`` (the project's own path), into a temporary folder: the research-only
text never lands in the repository.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from train.config import LabelsConfig
from train.data.dataset import Record, load_splits, save_dataset
from train.data.sources import DataUnavailable, Doc, bbc, newsgroups, phrasebank, reuters


@dataclass
class Task:
    name: str
    # "multiclass" trains the tone head, "multilabel" the topic head.
    kind: str
    labels: list[str]
    # (train, test) pairs: one for a fixed split, k for cross-validation.
    folds: list[tuple[list[Record], list[Record]]]
    protocol: str
    best_config: str
    targets: dict[str, float] = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)

    @property
    def labels_config(self) -> LabelsConfig:
        if self.kind == "multiclass":
            return LabelsConfig(topics=(), tone=tuple(self.labels))
        return LabelsConfig(topics=tuple(self.labels), tone=())


def _records(docs: list[Doc], kind: str) -> list[Record]:
    if kind == "multiclass":
        return [Record(id=d.id, text=d.text, topics=(), tone=d.labels[0], title=d.title) for d in docs]
    return [Record(id=d.id, text=d.text, topics=tuple(d.labels), tone="", title=d.title) for d in docs]


def _round_trip(splits: dict[str, list[Record]], labels: LabelsConfig, work: Path, name: str) -> dict[str, list[Record]]:
    out = work / "datasets" / name
    save_dataset(splits, labels, out, {})
    return load_splits(out)


def _subsample(docs: list[Doc], n: int, seed: int) -> list[Doc]:
    if n >= len(docs):
        return docs
    return sorted(random.Random(seed).sample(docs, n), key=lambda d: d.id)


def _stratified_folds(records: list[Record], k: int, seed: int) -> list[tuple[list[Record], list[Record]]]:
    from sklearn.model_selection import StratifiedKFold

    y = [r.tone for r in records]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [([records[i] for i in tr], [records[i] for i in te]) for tr, te in splitter.split(records, y)]


def newsgroups_task(work: Path, quick: bool) -> Task:
    docs = newsgroups()
    train_docs = [d for d in docs if d.split == "train"]
    test_docs = [d for d in docs if d.split == "test"]
    if quick:
        train_docs, test_docs = _subsample(train_docs, 1500, 1), _subsample(test_docs, 600, 2)
    labels = sorted({d.labels[0] for d in train_docs})
    lc = LabelsConfig(topics=(), tone=tuple(labels))
    splits = _round_trip({"train": _records(train_docs, "multiclass"), "test": _records(test_docs, "multiclass")}, lc, work, "20newsgroups")
    return Task("20 Newsgroups", "multiclass", labels, [(splits["train"], splits["test"])],
                f"bydate split, {len(splits['train']):,} train / {len(splits['test']):,} test, headers kept",
                "configs/bench/20newsgroups.toml", {"accuracy": 0.875},
                {"accuracy": "vanilla 0.863 (issue); fastText 0.745 (issue)"})


def reuters_task(work: Path, quick: bool) -> Task:
    docs = reuters()
    train_docs = [d for d in docs if d.split == "train"]
    test_docs = [d for d in docs if d.split == "test"]
    # ModApte "90 categories": those with at least one training and one test document; documents
    # with none of them are left out (7,769 / 3,019 in the full split).
    labels = sorted({t for d in train_docs for t in d.labels} & {t for d in test_docs for t in d.labels})
    def strip(ds: list[Doc], keep: set[str]) -> list[Doc]:
        return [Doc(d.id, d.title, d.text, tuple(t for t in d.labels if t in keep), d.split) for d in ds if keep & set(d.labels)]
    train_docs, test_docs = strip(train_docs, set(labels)), strip(test_docs, set(labels))
    if quick:
        train_docs, test_docs = _subsample(train_docs, 1200, 1), _subsample(test_docs, 500, 2)
        labels = sorted({t for d in train_docs for t in d.labels} & {t for d in test_docs for t in d.labels})
        train_docs, test_docs = strip(train_docs, set(labels)), strip(test_docs, set(labels))
    lc = LabelsConfig(topics=tuple(labels), tone=())
    splits = _round_trip({"train": _records(train_docs, "multilabel"), "test": _records(test_docs, "multilabel")}, lc, work, "reuters")
    return Task("Reuters-21578", "multilabel", labels, [(splits["train"], splits["test"])],
                f"ModApte, {len(labels)} categories, {len(splits['train']):,} train / {len(splits['test']):,} test",
                "configs/bench/reuters.toml", {"micro_f1": 0.87, "macro_f1": 0.55},
                {"micro_f1": "Yang & Liu 1999 kNN 0.857", "macro_f1": "Yang & Liu 1999 kNN 0.524"})


def bbc_task(work: Path, quick: bool) -> Task:
    docs = bbc()
    if quick:
        docs = _subsample(docs, 500, 1)
    labels = sorted({d.labels[0] for d in docs})
    lc = LabelsConfig(topics=(), tone=tuple(labels))
    records = _round_trip({"all": _records(docs, "multiclass")}, lc, work, "bbc")["all"]
    k = 3 if quick else 5
    return Task("BBC News", "multiclass", labels, _stratified_folds(records, k, 13),
                f"{k}-fold stratified CV over {len(records):,} articles", "configs/bench/bbc.toml",
                {"accuracy": 0.985}, {"accuracy": "published SVM 0.983"})


def phrasebank_task(agreement: str, target: float) -> Callable[[Path, bool], Task]:
    def load(work: Path, quick: bool) -> Task:
        docs = phrasebank(agreement)
        labels = ["positive", "neutral", "negative"]
        lc = LabelsConfig(topics=(), tone=tuple(labels))
        records = _round_trip({"all": _records(docs, "multiclass")}, lc, work, f"fpb_{agreement}")["all"]
        k = 3 if quick else 10
        return Task(f"Financial PhraseBank {agreement}", "multiclass", labels, _stratified_folds(records, k, 13),
                    f"{k}-fold stratified CV over {len(records):,} sentences", "configs/bench/phrasebank.toml",
                    {"accuracy": target}, {})
    return load


LOADERS: dict[str, Callable[[Path, bool], Task]] = {
    "20newsgroups": newsgroups_task,
    "reuters": reuters_task,
    "bbc": bbc_task,
    "fpb50": phrasebank_task("50Agree", 0.80),
    "fpball": phrasebank_task("AllAgree", 0.90),
}


def load_tasks(names: list[str], work: Path, quick: bool, log: Callable[[str], Any]) -> tuple[list[Task], list[str]]:
    """The tasks whose data is present, and one message per skipped dataset."""
    tasks, skipped = [], []
    for name in names:
        try:
            tasks.append(LOADERS[name](work, quick))
        except DataUnavailable as exc:
            skipped.append(f"{name}: skipped ({exc})")
            log(skipped[-1])
    return tasks, skipped
