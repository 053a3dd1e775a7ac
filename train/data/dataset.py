"""Build stage: parsed and labeled articles -> a split Hugging Face ``DatasetDict`` on disk.

``build_dataset`` runs parse -> label -> de-duplicate -> split, saves the DatasetDict atomically
(written beside the target, then renamed into place), and writes ``build_info.json`` (fingerprints,
for staleness checks and model manifests) and ``dataset_report.json`` beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from train.config import Config, LabelsConfig
from train.data.dedup import duplicate_groups, exact_duplicates, find_near_duplicates
from artclf.errors import ArtclfError
from artclf.text import article_text, is_blank
from train.fsutil import file_lock, pid_alive
from train.data.inputs import PartialLabel, read_source
from train.data.labels import Unlisted, check_label, read_jsonl, read_labels
from train.data.weak import fired_rules, load_rules, rule_report, weak_tone, weak_topics
from train.data.split import SPLITS, iterative_stratification, time_split

# Bump when the way records are built changes, so saved datasets count as stale.
BUILDER_VERSION = 2
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
    # Where each task's label came from: "gold", "folder:<name>", or "rules:<rule names>".
    topic_source: str = "gold"
    tone_source: str = "gold"
    # Other fields of the record (a JSONL file's extra keys, a dev set's source): for
    # `evaluate --by FIELD`. Not saved in datasets; not part of any fingerprint.
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class BuildResult:
    path: Path
    fingerprint: str
    counts: dict[str, dict[str, Any]]
    report: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    rebuilt: bool = True
    # Why it was rebuilt or reused, in words (for progress lines).
    reason: str = ""


def input_fingerprint(config: Config) -> str:
    """Hash of everything the dataset is built from: source files, labels, rules, and the
    data/columns/labels/split config sections."""
    digest = hashlib.sha256()
    digest.update(f"builder={BUILDER_VERSION}".encode())
    sections = config.to_dict()
    # Definitions only reach the model card; the topic mode decides which labels are valid.
    described = {k: sections[k] for k in ("data", "columns", "labels", "split")}
    described["labels"] = {k: v for k, v in described["labels"].items() if k != "definitions"}
    described["topic_mode"] = config.topic.mode
    digest.update(json.dumps(described, sort_keys=True).encode())
    source = Path(config.data.source)
    if config.data.format != "hub":
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            if path.is_file():
                # fsencode: a file name need not be valid UTF-8 (read_source names and refuses it).
                digest.update(os.fsencode(path.relative_to(source) if source.is_dir() else path.name))
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    for extra in (config.data.labels, config.data.rules):
        if extra and Path(extra).is_file():
            digest.update(hashlib.sha256(Path(extra).read_bytes()).digest())
    return digest.hexdigest()


def records_fingerprint(splits: dict[str, Sequence[Record]]) -> str:
    """Content hash of the labeled splits; recorded in every model trained on them."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        for r in splits[name]:
            digest.update(json.dumps([name, r.id, r.text, list(r.topics), r.tone]).encode())
    return digest.hexdigest()


def dataset_is_current(config: Config, fingerprint: str | None = None) -> bool:
    """Whether the saved dataset was built from these inputs (``fingerprint``: input_fingerprint
    of the config, when the caller already has it)."""
    return stale_reason(config, fingerprint) is None


def stale_reason(config: Config, fingerprint: str | None = None) -> str | None:
    """Why the saved dataset cannot be reused (None when it can)."""
    if config.data.format == "hub":
        return "a Hub source is read again every time"
    info = Path(config.data.dataset_dir) / BUILD_INFO
    try:
        saved = json.loads(info.read_text())
    except (OSError, ValueError):
        return f"no dataset built yet in {config.data.dataset_dir}"
    if saved.get("builder_version") != BUILDER_VERSION:
        return "it was built by an older artclf"
    if saved.get("input_fingerprint") != (fingerprint or input_fingerprint(config)):
        return "the articles, labels, rules or [data]/[columns]/[labels]/[split] settings changed since it was built"
    return None


def label_articles(config: Config, on_error: str = "stop") -> tuple[list[Record], dict[str, Any]]:
    """Read the source, join gold labels, fill missing labels with rules; return records and a
    summary (unlabeled ids, skipped files, rule report, labels dropped as unlisted).

    A task that is off (``labels.topics = []`` or ``labels.tone = []``) is ignored: its labels in the
    data, its rules and its report entries. Labels the config does not list follow
    ``labels.unlisted``; an article left without its only label (multiclass topics, or a tone) by
    dropping is left out and counted. With ``topic.mode = "multiclass"`` every article needs exactly
    one topic: a gold label with none or several is an error naming its line."""
    labels = config.labels
    need_topics, need_tone = bool(labels.topics), bool(labels.tone)
    multiclass = config.topic.mode == "multiclass"
    unlisted = Unlisted(labels)
    items = read_source(config, on_error)
    ids = [a.id for a in items.articles]
    known = set(ids)
    partial: dict[str, PartialLabel] = {}
    for article_id, label in items.labels.items():
        partial[article_id] = _checked_partial(label, labels, unlisted)
    if config.data.labels:
        # A label for an article skipped as unreadable is fine: the article is simply not used.
        gold = read_labels(Path(config.data.labels), labels, known | items.skipped_ids, unlisted, config.data.encoding)
        for article_id, label in gold.items():
            if article_id in known:
                partial[article_id] = PartialLabel(label.topics, label.tone or None, label.source, label.where,
                                                   label.dropped_topics, label.dropped_tone)
    ignored_rules: list[str] = []
    rules = load_rules(Path(config.data.rules), labels, ignored_rules) if config.data.rules else []
    default_tone = "neutral" if "neutral" in labels.tone else ""

    records, unlabeled, dropped, fired_all, gold_all = [], [], [], [], []
    articles = items.articles
    for k in range(len(articles)):
        # Each article is let go once its record holds the text: a large source would otherwise
        # be in memory twice (parsed parts and joined text) until the loop ends.
        article, articles[k] = articles[k], None  # type: ignore[call-overload]
        label = partial.get(article.id, PartialLabel(None, None, ""))
        text = article.text
        fired = fired_rules(rules, text) if rules else {}
        fired_all.append(fired)
        topics, topic_source = (label.topics, label.source) if need_topics else ((), "")
        tone, tone_source = (label.tone or "", label.source) if need_tone else ("", "")
        gold_complete = topics is not None and (label.tone is not None or not need_tone)
        gold_all.append((topics, label.tone or "") if gold_complete else None)
        if (multiclass and label.dropped_topics and not topics) or (need_tone and label.dropped_tone):
            dropped.append(article.id)  # its only label is one the config leaves out
            continue
        if multiclass and topics is not None and len(topics) != 1:
            raise ArtclfError(
                f"{label.where or article.id}: {len(topics)} topics ({', '.join(topics) or 'none'}), but "
                'topic.mode = "multiclass" needs exactly one per article; fix the label, or use topic.mode = "multilabel"'
            )
        if topics is None and rules:
            topics, topic_source = weak_topics(rules, fired, labels.topics)
            if multiclass and len(topics) != 1:
                topics = None  # the rules do not decide one category
        if need_tone and label.tone is None and rules:
            tone, tone_source = weak_tone(rules, fired, default_tone)
        if topics is None or (need_tone and not tone):
            unlabeled.append(article.id)
            continue
        sources = [s for s, on in ((topic_source, need_topics), (tone_source, need_tone)) if on]
        records.append(
            Record(
                id=article.id,
                text=text,
                topics=tuple(topics),
                tone=tone,
                title=article.title,
                label_source="rules" if all(x.startswith("rules") for x in sources)
                else "mixed" if any(x.startswith("rules") for x in sources) else sorted(sources)[0],
                published=article.published,
                topic_source=topic_source,
                tone_source=tone_source,
            )
        )
    _check_configured_labels_occur(config, records, unlisted)
    summary = {
        "unlabeled": unlabeled,
        "skipped": items.skipped,
        "rule_report": rule_report(rules, fired_all, gold_all, labels) if rules else None,
        "unlisted_labels": unlisted.report(),
        "dropped_unlisted": dropped,
        "ignored_rules": ignored_rules,
    }
    return records, summary


def _check_configured_labels_occur(config: Config, records: Sequence[Record], unlisted: Unlisted) -> None:
    """When labels were dropped as unlisted and no article kept a configured one, the label list
    does not describe this data at all: say so rather than train on nothing."""
    for task, names in (("topics", config.labels.topics), ("tone", config.labels.tone)):
        found = unlisted.counts[task]
        if not names or not found:
            continue
        present = any(r.topics for r in records) if task == "topics" else any(r.tone for r in records)
        if not present:
            raise ArtclfError(
                f"{config.data.labels or config.data.source}: none of labels.{task} ({', '.join(names)}) occurs in the data; "
                f"its {task} labels are {', '.join(sorted(found))}; list those in labels.{task}"
            )


def _checked_partial(label: PartialLabel, labels: LabelsConfig, unlisted: Unlisted | None = None) -> PartialLabel:
    topics, tone = label.topics, label.tone
    dropped_topics = dropped_tone = False
    if not labels.topics:
        topics = ()
    elif topics is not None and unlisted is not None:
        kept = unlisted.keep("topics", topics, label.where)
        topics, dropped_topics = tuple(kept), len(kept) < len(topics)
    if not labels.tone:
        tone = None
    elif tone is not None and unlisted is not None:
        tone = (unlisted.keep("tone", [tone], label.where) or [None])[0]
        dropped_tone = tone is None
    if topics is not None:
        unknown = sorted(set(topics) - set(labels.topics))
        if unknown:
            raise ArtclfError(f"{label.where}: unknown topic label(s) {', '.join(unknown)}; known topics: {', '.join(labels.topics)}")
    if tone is not None and labels.tone and tone not in labels.tone:
        raise ArtclfError(f"{label.where}: unknown tone {tone!r}; known tones: {', '.join(labels.tone)}")
    ordered = tuple(t for t in labels.topics if t in topics) if topics is not None else None
    return PartialLabel(ordered, tone, label.source, label.where, dropped_topics, dropped_tone)


def build_dataset(config: Config, on_error: str = "stop", force: bool = True) -> BuildResult:
    """Read, label, de-duplicate and split the source; save the DatasetDict under data.dataset_dir."""
    out_dir = Path(config.data.dataset_dir)
    # Hashing every source file is the costly part of the staleness check: do it once per build.
    inputs = input_fingerprint(config)
    reason = "asked to build" if force else stale_reason(config, inputs)
    if reason is None:
        info = json.loads((out_dir / BUILD_INFO).read_text())
        report = json.loads((out_dir / REPORT).read_text())
        return BuildResult(out_dir, info["fingerprint"], report["counts"], report, rebuilt=False,
                           reason="its articles, labels, rules and settings are unchanged")

    records, summary = label_articles(config, on_error)
    if not records:
        raise ArtclfError(
            f"{config.data.labels or config.data.source}: no article has a label; add lines like "
            '{"id": "<file stem>", "topics": [], "tone": "neutral"} or set data.rules'
        )
    dupes = exact_duplicates([r.text for r in records])
    removed = [{"id": records[i].id, "duplicate_of": records[j].id} for i, j in sorted(dupes.items())]
    records = [r for i, r in enumerate(records) if i not in dupes]
    pairs = find_near_duplicates([r.text for r in records], config.split.near_duplicate_jaccard, config.split.near_duplicates)
    groups = duplicate_groups(len(records), pairs)
    splits, dropped = split_records(records, groups, config)

    fingerprint = records_fingerprint(splits)
    report = dataset_report(splits, config.labels, removed, pairs, records, summary["unlabeled"], summary["skipped"])
    report["rule_report"] = summary["rule_report"]
    # Labels the config leaves out (labels.unlisted): per task, label -> articles it was dropped from.
    report["unlisted_labels_dropped"] = summary["unlisted_labels"]
    report["articles_dropped_unlisted"] = len(summary["dropped_unlisted"])
    # Shipped rules for labels not configured (or a task that is off) are not used.
    report["rules_ignored"] = summary["ignored_rules"]
    report["weak_dropped_near_test"] = dropped
    info = {
        "builder_version": BUILDER_VERSION,
        "input_fingerprint": inputs,
        "fingerprint": fingerprint,
        "source": {"format": config.data.format, "path": config.data.source, "labels": config.data.labels, "rules": config.data.rules},
        "split": config.to_dict()["split"],
    }
    save_dataset(splits, config.labels, out_dir, {BUILD_INFO: info, REPORT: report})
    return BuildResult(out_dir, fingerprint, report["counts"], report, skipped=summary["skipped"], reason=reason)


def is_gold(record: Record) -> bool:
    """Whether every label of the record is a human one (not from the labeling rules)."""
    return not record.topic_source.startswith("rules") and not record.tone_source.startswith("rules")


def split_records(
    records: Sequence[Record], groups: Sequence[int], config: Config
) -> tuple[dict[str, list[Record]], list[str]]:
    """Split gold records train/validation/test; rule-labeled records only ever go to train.

    Metrics must be measured against human labels, so weakly labeled articles are training data
    only. One whose near-duplicate group holds a validation or test article is dropped (its id is
    returned) rather than let a copy cross into train.
    """
    s = config.split
    fractions = [1.0 - s.validation - s.test, s.validation, s.test]
    used = [i for i, f in enumerate(fractions) if f > 0]
    gold = [i for i, r in enumerate(records) if is_gold(r)]
    gold_groups = [groups[i] for i in gold]
    if s.method == "time":
        parts = time_split([records[i].published for i in gold], [fractions[i] for i in used], gold_groups)
    else:
        label_sets = [[f"topic:{t}" for t in records[i].topics] + [f"tone:{records[i].tone}"] for i in gold]
        parts = iterative_stratification(label_sets, [fractions[i] for i in used], s.seed, gold_groups)
    out: dict[str, list[Record]] = {name: [] for name in SPLITS}
    group_split: dict[int, str] = {}
    for i, part in zip(gold, parts):
        out[SPLITS[used[part]]].append(records[i])
        group_split[groups[i]] = SPLITS[used[part]]
    dropped = []
    for i, record in enumerate(records):
        if is_gold(record):
            continue
        if group_split.get(groups[i], "train") == "train":
            out["train"].append(record)
        else:
            dropped.append(record.id)
    return out, dropped


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
            "tone": {t: tone_counts.get(t, 0) for t in labels.tone},
        }
        if labels.topics:  # a task that is off has no counts at all
            counts[name]["no_topic"] = sum(1 for r in rows if not r.topics)
    everything = [r for rows in splits.values() for r in rows]
    cooccurrence = {a: {b: sum(1 for r in everything if a in r.topics and b in r.topics) for b in labels.topics} for a in labels.topics}
    tone_by_topic: dict[str, dict[str, int]] = {}
    if labels.topics and labels.tone:
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
        "topic_sources": dict(Counter(r.topic_source.split(":")[0] for r in everything)) if labels.topics else {},
        "unlabeled_articles": unlabeled,
        "skipped_files": skipped,
        "warnings": warnings,
    }


def save_dataset(
    splits: dict[str, list[Record]], labels: LabelsConfig, out_dir: Path, extra_json: dict[str, Any]
) -> None:
    """Write the DatasetDict and JSON side files next to ``out_dir``, then swap it into place."""
    import datasets  # heavy (pyarrow); only the build and evaluate stages need it
    from datasets.arrow_writer import ArrowWriter

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
        "topic_source": datasets.Value("string"),
        "tone_source": datasets.Value("string"),
    }
    columns = {
        "id": lambda r: r.id,
        "title": lambda r: r.title,
        "text": lambda r: r.text,
        "published": lambda r: r.published,
        "topics": lambda r: list(r.topics),
        "tone": lambda r: r.tone,
        "label_source": lambda r: r.label_source,
        "topic_source": lambda r: r.topic_source,
        "tone_source": lambda r: r.tone_source,
    }
    features = datasets.Features(schema)
    out_dir = out_dir.resolve()
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        staging = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-arrow"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        try:
            # Each split is written to an Arrow file in batches and reopened memory-mapped, so a
            # large dataset is never a second time in memory as one Arrow table.
            staging.mkdir()
            parts = {}
            for name, rows in splits.items():
                if not rows:
                    continue  # an empty split (validation = 0): arrow cannot reload a zero-shard split
                arrow = staging / f"{name}.arrow"
                writer = ArrowWriter(features=features, path=str(arrow))
                content = hashlib.sha256(name.encode())
                for start in range(0, len(rows), 10_000):
                    batch = {k: [get(r) for r in rows[start : start + 10_000]] for k, get in columns.items()}
                    writer.write_batch(batch)
                    content.update(json.dumps(batch, sort_keys=True).encode())
                writer.finalize()
                writer.close()
                parts[name] = datasets.Dataset.from_file(str(arrow))
                # from_file fingerprints by path and time; the saved state must depend on content
                # only, so the same inputs give the same dataset folder byte for byte.
                parts[name]._fingerprint = content.hexdigest()[:16]
            datasets.DatasetDict(parts).save_to_disk(str(tmp))
            del parts
            for name, payload in extra_json.items():
                (tmp / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
            # Two builds (two trains) may finish together: one swap at a time, or a rename races.
            with _swap_lock(out_dir):
                _recover_killed_builds(out_dir)
                if out_dir.exists():
                    os.rename(out_dir, old)
                os.rename(tmp, out_dir)
        finally:
            if old.exists() and not out_dir.exists():
                # Interrupted (Ctrl-C) between the two renames: put the last good dataset back.
                os.rename(old, out_dir)
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise ArtclfError(
            f"{out_dir}: cannot write the dataset ({exc.strerror or exc}); check free space and permissions"
        ) from None


@contextlib.contextmanager
def _swap_lock(out_dir: Path, shared: bool = False) -> Iterator[None]:
    """Exclusive while a build swaps a dataset folder into place; shared while one is read, so a
    concurrent build cannot rename and delete the folder under a reader (two trains started
    together both build, and the second swap used to pull the first one's dataset away mid-read).
    A reader that cannot create the lock file (a read-only folder) reads without it."""
    with file_lock(out_dir.parent / f".{out_dir.name}.lock", shared=shared, optional=shared):
        yield


def _recover_killed_builds(out_dir: Path) -> None:
    """Tidy after builds that were SIGKILLed: delete their half-written ``.NAME.tmp-PID`` folders,
    and if one died between its two renames (no dataset, only ``.NAME.old-PID``), restore that."""
    pattern = re.compile(rf"^\.{re.escape(out_dir.name)}\.(tmp|old)-(\d+)(?:-arrow)?$")
    for path in sorted(out_dir.parent.iterdir()):
        match = pattern.match(path.name)
        if not match or pid_alive(int(match.group(2))):
            continue
        if match.group(1) == "old" and not out_dir.exists():
            os.rename(path, out_dir)
        else:
            shutil.rmtree(path, ignore_errors=True)


def load_splits(path: Path, split_names: Sequence[str] | None = None) -> dict[str, list[Record]]:
    """Read a saved DatasetDict back into Records, decoding ClassLabel ids to names."""
    import datasets

    with _swap_lock(Path(path).resolve(), shared=True):
        return _read_splits(datasets, path, split_names)


def _open_dataset(datasets: Any, path: Path) -> Any:
    if not (path / "dataset_dict.json").is_file():
        raise ArtclfError(f"{path}: not a saved dataset (no dataset_dict.json); run `artclf build-dataset` first")
    try:
        return datasets.load_from_disk(str(path))
    except Exception as exc:  # arrow and fsspec raise many types; all mean the same to a user
        raise ArtclfError(f"{path}: cannot load the saved dataset ({exc}); rebuild it with `artclf build-dataset`") from None


def _read_splits(datasets: Any, path: Path, split_names: Sequence[str] | None) -> dict[str, list[Record]]:
    dd = _open_dataset(datasets, path)
    out = {}
    for name in split_names or list(dd):
        if name not in dd:
            raise ArtclfError(f"{path}: no split '{name}'; available: {', '.join(dd)}")
        decode = row_decoder(dd[name])
        out[name] = [decode(row) for row in dd[name]]
    return out


def row_decoder(ds: Any) -> Any:
    """row dict -> Record for one split of a saved dataset (ClassLabel ids decoded to names)."""
    topic_names = ds.features["topics"].feature.names
    tone_names = getattr(ds.features["tone"], "names", None)

    def decode(row: dict[str, Any]) -> Record:
        return Record(
            id=row["id"],
            text=row["text"],
            topics=tuple(topic_names[i] for i in row["topics"]),
            tone=tone_names[row["tone"]] if tone_names else (row["tone"] or ""),
            title=row["title"],
            label_source=row["label_source"],
            published=row["published"],
            topic_source=row.get("topic_source", row["label_source"]),
            tone_source=row.get("tone_source", row["label_source"]),
        )
    return decode


@contextlib.contextmanager
def open_split(path: Path, name: str) -> Iterator[Any]:
    """One split of a saved dataset as a memory-mapped Hugging Face ``Dataset``, for reading in
    batches (``dataset[i:j]``, ``dataset[list_of_rows]``) without loading it; a concurrent build
    cannot swap the folder away while the ``with`` block runs."""
    import datasets

    datasets.disable_progress_bars()
    with _swap_lock(Path(path).resolve(), shared=True):
        dd = _open_dataset(datasets, Path(path))
        if name not in dd:
            raise ArtclfError(f"{path}: no split '{name}'; available: {', '.join(dd)}")
        yield dd[name]


def split_names(path: Path) -> list[str]:
    """The splits a saved dataset holds (read from its dataset_dict.json)."""
    try:
        return list(json.loads((Path(path) / "dataset_dict.json").read_text())["splits"])
    except (OSError, ValueError, KeyError):
        raise ArtclfError(f"{path}: not a saved dataset (no dataset_dict.json); run `artclf build-dataset` first") from None


def iter_records(path: Path, name: str, batch_size: int = 4096) -> Iterator[list[Record]]:
    """The records of one split in batches of ``batch_size``: flat memory whatever its size."""
    with open_split(path, name) as ds:
        decode = row_decoder(ds)
        for start in range(0, len(ds), batch_size):
            batch = ds[start : start + batch_size]
            yield [decode({k: batch[k][i] for k in batch}) for i in range(len(batch["id"]))]


_JSONL_KEYS = {"id", "title", "text", "topics", "tone", "published", "source_label"}


def read_jsonl_records(path: Path, labels: LabelsConfig) -> list[Record]:
    """Labeled records from a JSONL file: {"id", "title" (optional), "text", "topics", "tone"}."""
    records = []
    for number, obj in read_jsonl(path):
        where = f"{path}:{number}"
        text = obj.get("text")
        if not isinstance(text, str) or is_blank(text):
            raise ArtclfError(f"{where}: missing or empty 'text' (only whitespace or invisible characters); fix or remove the line")
        title = obj.get("title") or ""
        if not isinstance(title, str):
            raise ArtclfError(f"{where}: 'title' must be a string")
        label = check_label(obj, labels, where)
        extra = {k: v for k, v in obj.items() if k not in _JSONL_KEYS and isinstance(v, (str, int, float, bool))}
        records.append(
            Record(
                id=str(obj.get("id", number)),
                text=article_text(title, text),
                topics=label.topics,
                tone=label.tone,
                title=title,
                label_source=label.source,
                published=str(obj["published"]) if isinstance(obj.get("published"), (str, int)) else None,
                fields=extra,
            )
        )
    if not records:
        raise ArtclfError(f"{path}: no records; expected one JSON object per line")
    return records


def read_dataset_labels(path: Path) -> LabelsConfig:
    """The label names a saved dataset was built with (from its ClassLabel features)."""
    import datasets

    with _swap_lock(Path(path).resolve(), shared=True):
        dd = _open_dataset(datasets, path)
    features = next(iter(dd.values())).features
    tone_names = getattr(features["tone"], "names", None) or []
    return LabelsConfig(topics=tuple(features["topics"].feature.names), tone=tuple(tone_names))
