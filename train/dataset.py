"""Build stage: parsed and labeled articles -> a split Hugging Face ``DatasetDict`` on disk.

``build_dataset`` runs parse -> label -> de-duplicate -> split, saves the DatasetDict atomically
(written beside the target, then renamed into place), and writes ``build_info.json`` (fingerprints,
for staleness checks and model manifests) and ``dataset_report.json`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from train.config import Config, LabelsConfig
from train.dedup import duplicate_groups, exact_duplicates, near_duplicate_pairs
from train.errors import ArtclfError
from train.labels import check_label, read_jsonl, read_labels
from train.parse import Article, read_article
from train.split import SPLITS, iterative_stratification, time_split

# Bump when the way records are built changes, so saved datasets count as stale.
BUILDER_VERSION = 1
BUILD_INFO = "build_info.json"
REPORT = "dataset_report.json"


@dataclass
class Record:
    """One labeled article as the training code sees it."""

    id: str
    text: str
    topics: tuple[str, ...]
    tone: str
    title: str = ""
    label_source: str = "gold"
    published: str | None = None


@dataclass
class BuildResult:
    path: Path
    fingerprint: str
    counts: dict[str, dict[str, Any]]
    report: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    rebuilt: bool = True


def read_seed_articles(seeds_dir: Path, on_error: str = "stop") -> tuple[list[Article], list[str]]:
    """Parse every ``*.txt`` in the folder; with ``on_error="skip"`` bad files are listed, not fatal."""
    if not seeds_dir.is_dir():
        raise ArtclfError(f"{seeds_dir}: seeds folder not found; create it or set data.seeds_dir in the config")
    paths = sorted(p for p in seeds_dir.glob("*.txt") if p.is_file())
    if not paths:
        raise ArtclfError(f"{seeds_dir}: no articles (*.txt files) found; add articles or point data.seeds_dir elsewhere")
    articles, problems = [], []
    for path in paths:
        try:
            articles.append(read_article(path))
        except ArtclfError as exc:
            if on_error == "stop":
                raise
            problems.append(str(exc))
    return articles, problems


def input_fingerprint(config: Config) -> str:
    """Hash of everything the dataset is built from: seed files, labels, label and split config."""
    digest = hashlib.sha256()
    digest.update(f"builder={BUILDER_VERSION}".encode())
    digest.update(json.dumps({"labels": config.to_dict()["labels"], "split": config.to_dict()["split"]}, sort_keys=True).encode())
    seeds_dir = Path(config.data.seeds_dir)
    for path in sorted(seeds_dir.glob("*.txt")) if seeds_dir.is_dir() else []:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    labels = Path(config.data.labels)
    if labels.is_file():
        digest.update(hashlib.sha256(labels.read_bytes()).digest())
    return digest.hexdigest()


def records_fingerprint(splits: dict[str, Sequence[Record]]) -> str:
    """Content hash of the labeled splits; recorded in every model trained on them."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        for r in splits[name]:
            digest.update(json.dumps([name, r.id, r.text, list(r.topics), r.tone]).encode())
    return digest.hexdigest()


def dataset_is_current(config: Config) -> bool:
    info = Path(config.data.dataset_dir) / BUILD_INFO
    try:
        saved = json.loads(info.read_text())
    except (OSError, ValueError):
        return False
    return saved.get("input_fingerprint") == input_fingerprint(config)


def build_dataset(config: Config, on_error: str = "stop", force: bool = True) -> BuildResult:
    """Parse, label, de-duplicate and split the seeds; save the DatasetDict under data.dataset_dir."""
    out_dir = Path(config.data.dataset_dir)
    if not force and dataset_is_current(config):
        info = json.loads((out_dir / BUILD_INFO).read_text())
        report = json.loads((out_dir / REPORT).read_text())
        return BuildResult(out_dir, info["fingerprint"], report["counts"], report, rebuilt=False)

    articles, skipped = read_seed_articles(Path(config.data.seeds_dir), on_error)
    labels = read_labels(Path(config.data.labels), config.labels, {a.id for a in articles})
    unlabeled = [a.id for a in articles if a.id not in labels]
    records = [
        Record(
            id=a.id,
            text=a.text,
            topics=labels[a.id].topics,
            tone=labels[a.id].tone,
            title=a.title,
            label_source=labels[a.id].source,
            published=a.published,
        )
        for a in articles
        if a.id in labels
    ]
    if not records:
        raise ArtclfError(f"{config.data.labels}: no article has a label; add lines like "
                          '{"id": "<file stem>", "topics": [], "tone": "neutral"}')

    dupes = exact_duplicates([r.text for r in records])
    removed = [{"id": records[i].id, "duplicate_of": records[j].id} for i, j in sorted(dupes.items())]
    records = [r for i, r in enumerate(records) if i not in dupes]
    pairs = near_duplicate_pairs([r.text for r in records], config.split.near_duplicate_jaccard)
    groups = duplicate_groups(len(records), pairs)
    splits = split_records(records, groups, config)

    fingerprint = records_fingerprint(splits)
    report = dataset_report(splits, config.labels, removed, pairs, records, unlabeled, skipped)
    info = {
        "builder_version": BUILDER_VERSION,
        "input_fingerprint": input_fingerprint(config),
        "fingerprint": fingerprint,
        "seeds_dir": config.data.seeds_dir,
        "labels": config.data.labels,
        "split": config.to_dict()["split"],
    }
    save_dataset(splits, config.labels, out_dir, {BUILD_INFO: info, REPORT: report})
    return BuildResult(out_dir, fingerprint, report["counts"], report, skipped=skipped)


def split_records(records: Sequence[Record], groups: Sequence[int], config: Config) -> dict[str, list[Record]]:
    s = config.split
    fractions = [1.0 - s.validation - s.test, s.validation, s.test]
    used = [i for i, f in enumerate(fractions) if f > 0]
    if s.method == "time":
        parts = time_split([r.published for r in records], [fractions[i] for i in used], groups)
    else:
        label_sets = [[f"topic:{t}" for t in r.topics] + [f"tone:{r.tone}"] for r in records]
        parts = iterative_stratification(label_sets, [fractions[i] for i in used], s.seed, groups)
    out: dict[str, list[Record]] = {name: [] for name in SPLITS}
    for record, part in zip(records, parts):
        out[SPLITS[used[part]]].append(record)
    return out


def dataset_report(
    splits: dict[str, list[Record]],
    labels: LabelsConfig,
    removed: list[dict[str, str]],
    pairs: list[tuple[int, int, float]],
    records: Sequence[Record],
    unlabeled: list[str],
    skipped: list[str],
) -> dict[str, Any]:
    counts: dict[str, dict[str, Any]] = {}
    for name, rows in splits.items():
        topic_counts = Counter(t for r in rows for t in r.topics)
        tone_counts = Counter(r.tone for r in rows)
        counts[name] = {
            "n": len(rows),
            "topics": {t: topic_counts.get(t, 0) for t in labels.topics},
            "no_topic": sum(1 for r in rows if not r.topics),
            "tone": {t: tone_counts.get(t, 0) for t in labels.tone},
        }
    everything = [r for rows in splits.values() for r in rows]
    cooccurrence = {a: {b: sum(1 for r in everything if a in r.topics and b in r.topics) for b in labels.topics} for a in labels.topics}
    tone_by_topic = {
        t: {tone: sum(1 for r in everything if t in r.topics and r.tone == tone) for tone in labels.tone}
        for t in list(labels.topics)
    }
    tone_by_topic["(none)"] = {tone: sum(1 for r in everything if not r.topics and r.tone == tone) for tone in labels.tone}
    lengths = sorted(len(r.text.split()) for r in everything)
    warnings = []
    for name in SPLITS:
        c = counts[name]
        if c["n"] == 0:
            continue
        for kind in ("topics", "tone"):
            for label, k in c[kind].items():
                if name == "test" and k < 10:
                    warnings.append(f"test split has {k} article(s) labeled {label}: its metrics will be noisy")
                if name == "train" and k < 2:
                    warnings.append(f"train split has {k} article(s) labeled {label}: too few to learn it")
    return {
        "counts": counts,
        "topic_cooccurrence": cooccurrence,
        "tone_by_topic": tone_by_topic,
        "length_words": {
            "min": lengths[0], "median": statistics.median(lengths), "max": lengths[-1],
            "p10": lengths[len(lengths) // 10], "p90": lengths[(9 * len(lengths)) // 10],
        } if lengths else {},
        "duplicates_removed": removed,
        "near_duplicate_pairs": [
            {"a": records[i].id, "b": records[j].id, "jaccard": jac} for i, j, jac in pairs
        ],
        "label_sources": dict(Counter(r.label_source for r in everything)),
        "unlabeled_articles": unlabeled,
        "skipped_files": skipped,
        "warnings": warnings,
    }


def save_dataset(
    splits: dict[str, list[Record]], labels: LabelsConfig, out_dir: Path, extra_json: dict[str, Any]
) -> None:
    """Write the DatasetDict and JSON side files next to ``out_dir``, then swap it into place."""
    import datasets  # heavy (pyarrow); only the build and evaluate stages need it

    # The CLI prints its own summary; per-shard progress bars are noise in logs and pipes.
    datasets.disable_progress_bars()
    schema = {
        "id": datasets.Value("string"),
        "title": datasets.Value("string"),
        "text": datasets.Value("string"),
        "published": datasets.Value("string"),
        "topics": datasets.Sequence(datasets.ClassLabel(names=list(labels.topics))),
        "tone": datasets.ClassLabel(names=list(labels.tone)) if labels.tone else datasets.Value("string"),
        "label_source": datasets.Value("string"),
    }
    columns = {
        "id": lambda r: r.id,
        "title": lambda r: r.title,
        "text": lambda r: r.text,
        "published": lambda r: r.published,
        "topics": lambda r: list(r.topics),
        "tone": lambda r: r.tone,
        "label_source": lambda r: r.label_source,
    }
    features = datasets.Features(schema)
    dd = datasets.DatasetDict(
        {
            name: datasets.Dataset.from_dict({k: [get(r) for r in rows] for k, get in columns.items()}, features=features)
            for name, rows in splits.items()
        }
    )
    out_dir = out_dir.resolve()
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            dd.save_to_disk(str(tmp))
            for name, payload in extra_json.items():
                (tmp / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
            if out_dir.exists():
                os.rename(out_dir, old)
            os.rename(tmp, out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise ArtclfError(
            f"{out_dir}: cannot write the dataset ({exc.strerror or exc}); check free space and permissions"
        ) from None


def load_splits(path: Path, split_names: Sequence[str] | None = None) -> dict[str, list[Record]]:
    """Read a saved DatasetDict back into Records, decoding ClassLabel ids to names."""
    import datasets

    if not (path / "dataset_dict.json").is_file():
        raise ArtclfError(f"{path}: not a saved dataset (no dataset_dict.json); run `artclf build-dataset` first")
    try:
        dd = datasets.load_from_disk(str(path))
    except Exception as exc:  # arrow and fsspec raise many types; all mean the same to a user
        raise ArtclfError(f"{path}: cannot load the saved dataset ({exc}); rebuild it with `artclf build-dataset`") from None
    out = {}
    for name in split_names or list(dd):
        if name not in dd:
            raise ArtclfError(f"{path}: no split '{name}'; available: {', '.join(dd)}")
        ds = dd[name]
        topic_names = ds.features["topics"].feature.names
        tone_feature = ds.features["tone"]
        tone_names = getattr(tone_feature, "names", None)
        out[name] = [
            Record(
                id=row["id"],
                text=row["text"],
                topics=tuple(topic_names[i] for i in row["topics"]),
                tone=tone_names[row["tone"]] if tone_names else (row["tone"] or ""),
                title=row["title"],
                label_source=row["label_source"],
                published=row["published"],
            )
            for row in ds
        ]
    return out


def read_jsonl_records(path: Path, labels: LabelsConfig) -> list[Record]:
    """Labeled records from a JSONL file: {"id", "title" (optional), "text", "topics", "tone"}."""
    records = []
    for number, obj in read_jsonl(path):
        where = f"{path}:{number}"
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ArtclfError(f"{where}: missing or empty 'text'")
        title = obj.get("title") or ""
        if not isinstance(title, str):
            raise ArtclfError(f"{where}: 'title' must be a string")
        label = check_label(obj, labels, where)
        records.append(
            Record(
                id=str(obj.get("id", number)),
                text=f"{title}\n\n{text}" if title else text,
                topics=label.topics,
                tone=label.tone,
                title=title,
                label_source=label.source,
            )
        )
    if not records:
        raise ArtclfError(f"{path}: no records; expected one JSON object per line")
    return records
