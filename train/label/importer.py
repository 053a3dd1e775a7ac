"""Bring labels made elsewhere (a Label Studio export, or plain JSONL) into ``labels.jsonl``.

Accepted files:

- a Label Studio **JSON export** (a list of tasks, each with ``data.id`` = our article id and
  ``annotations``; the latest annotation that was not cancelled counts; ``topics`` and ``tone`` are
  the ``from_name`` of the two choice controls ``artclf queue --format label-studio`` sets up; a task
  without a ``topics`` result means no topic); a **JSON-MIN export** (a list of flat objects with
  ``id``, ``topics``, ``tone``) is read too;
- **JSONL**: one ``{"id": ..., "topics": [...], "tone": ...}`` per line (extra keys such as
  ``annotator`` or ``labeled_at`` are kept as provenance).

Each imported line records its provenance: ``annotator``, ``labeled_at`` (the annotation's time
when the file has it, else the import time), ``imported_at`` and ``origin`` (``label-studio:<file>``
or ``jsonl:<file>``); ``source`` stays ``gold`` (a human label by the guidelines).

Re-labels: an id already in ``labels.jsonl`` with the same labels is left alone; with different
labels the new label **replaces** the old line in place (the file keeps one line per article, as
training requires) and the old line is appended to ``labels.history.jsonl`` beside it with
``replaced_at`` and ``replaced_by``, so nothing is lost. Two different labels for one id inside one
import file are refused: the file does not say which is right.

The whole import is checked before anything is written (unknown id, unknown label, malformed
file: one error naming the file, the line or task, and the field), then committed under the
labels file's lock with Ctrl-C held off: labels.jsonl holds the old labels or all the new ones.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from artclf.errors import ArtclfError
from train.config import LabelsConfig
from train.label import labelsfile


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unannotated: int = 0
    history: Path | None = None
    kind: str = ""


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _annotator_name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("email") or value.get("username") or value.get("id")
    return str(value) if value not in (None, "") else None


def _choices(result: Any, name: str, where: str) -> list[str] | None:
    """The choices of the ``name`` control in one annotation's result list (None: absent)."""
    if not isinstance(result, list):
        raise ArtclfError(f"{where}: field 'result' must be a list of Label Studio results; re-export the project as JSON")
    found = None
    for k, item in enumerate(result):
        if not isinstance(item, dict):
            raise ArtclfError(f"{where}: result[{k}] must be an object; re-export the project as JSON")
        if item.get("from_name") != name:
            continue
        value = item.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise ArtclfError(f"{where}: result[{k}] ('{name}') has no value.choices list; "
                              "use the labeling interface that `artclf queue --format label-studio` writes")
        found = (found or []) + choices
    return found


def _from_label_studio(tasks: list[Any], path: Path, annotator: str | None, kinds: set[str]) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    out, unannotated = [], 0
    for number, task in enumerate(tasks, start=1):
        where = f"{path}: task {number}"
        if not isinstance(task, dict):
            raise ArtclfError(f"{where}: expected an object, got {type(task).__name__}; is this a Label Studio JSON export?")
        if "annotations" not in task and "data" not in task:
            # JSON-MIN: flat {"id", "topics", "tone", ...}
            kinds.add("label-studio-min")
            topics = task.get("topics", [])
            if isinstance(topics, dict):
                topics = topics.get("choices", [])
            if isinstance(topics, str):
                topics = [topics]
            record = {"id": task.get("id"), "topics": topics, "tone": task.get("tone"),
                      "annotator": annotator or _annotator_name(task.get("annotator")),
                      "labeled_at": task.get("updated_at") or task.get("created_at")}
            out.append((where, record))
            continue
        kinds.add("label-studio")
        data = task.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise ArtclfError(f"{where}: field 'data.id' (the article id) is missing; export tasks made by "
                              "`artclf queue --format label-studio`, whose data.id is the article id")
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise ArtclfError(f"{where}: field 'annotations' must be a list")
        if any(not isinstance(a, dict) for a in annotations):
            raise ArtclfError(f"{where}: every entry of field 'annotations' must be an object; re-export the project as JSON")
        live = [a for a in annotations if not a.get("was_cancelled")]
        if not live:
            unannotated += 1
            continue
        latest = max(live, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
        where = f"{where} (id '{data['id']}')"
        topics = _choices(latest.get("result"), "topics", where)
        tone = _choices(latest.get("result"), "tone", where)
        if tone is not None and len(tone) != 1:
            raise ArtclfError(f"{where}: field 'tone' must have exactly one choice, got {tone}")
        out.append((where, {"id": data["id"], "topics": topics or [], "tone": tone[0] if tone else None,
                            "annotator": annotator or _annotator_name(latest.get("completed_by")),
                            "labeled_at": latest.get("updated_at") or latest.get("created_at")}))
    return out, unannotated


def read_import(path: Path, annotator: str | None = None) -> tuple[list[tuple[str, dict[str, Any]]], int, str]:
    """(where, record) pairs from a Label Studio export or a JSONL file, the number of tasks without
    an annotation, and the kind of file."""
    from train.data.labels import read_jsonl

    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ArtclfError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ArtclfError(f"{path}: not valid UTF-8; re-save the file as UTF-8") from None
    if raw.lstrip().startswith("["):
        try:
            tasks = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            at = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise ArtclfError(f"{path}: malformed Label Studio export{at}: {str(exc).splitlines()[0]}; "
                              "re-export the project as JSON") from None
        kinds: set[str] = set()
        records, unannotated = _from_label_studio(tasks, path, annotator, kinds)
        return records, unannotated, "+".join(sorted(kinds)) or "label-studio"
    records = []
    for number, record in read_jsonl(path):
        if annotator:
            record = {**record, "annotator": annotator}
        records.append((f"{path}:{number}", record))
    return records, 0, "jsonl"


def import_labels(path: Path, labels_path: Path, labels: LabelsConfig, known_ids: set[str] | None,
                  annotator: str | None = None, pool_name: str = "the pool") -> ImportResult:
    """Check every record of ``path``, then merge them into ``labels_path`` atomically (see the module doc)."""
    from train.data.labels import check_label

    labelsfile.check_writable(labels_path)
    records, unannotated, kind = read_import(path, annotator)
    imported_at = now_iso()
    default_annotator = annotator or _user()
    origin = f"{'jsonl' if kind == 'jsonl' else 'label-studio'}:{path.name}"
    checked: dict[str, tuple[str, dict[str, Any]]] = {}
    for where, record in records:
        article_id = record.get("id")
        if not isinstance(article_id, str) or not article_id:
            raise ArtclfError(f"{where}: field 'id' is missing or not a string; every label needs the article id")
        if known_ids is not None and article_id not in known_ids:
            raise ArtclfError(f"{where}: field 'id': unknown article '{article_id}' (not in {pool_name}); "
                              "fix the id or pass the right --pool")
        if "tone" not in record or record.get("tone") in (None, ""):
            raise ArtclfError(f"{where}: field 'tone' is missing; give one of {', '.join(labels.tone)}")
        label = check_label({"topics": record.get("topics", []), "tone": record.get("tone")}, labels, where)
        extra = {k: v for k, v in record.items() if k not in ("id", "topics", "tone", "source", "annotator", "labeled_at")}
        clean = {"id": article_id, "topics": list(label.topics), "tone": label.tone, "source": "gold",
                 **extra,
                 "annotator": record.get("annotator") or default_annotator,
                 "labeled_at": record.get("labeled_at") or imported_at,
                 "imported_at": imported_at, "origin": origin}
        if article_id in checked:
            first_where, first = checked[article_id]
            if (first["topics"], first["tone"]) != (clean["topics"], clean["tone"]):
                raise ArtclfError(f"{where}: id '{article_id}' is labeled differently at {first_where}; keep one of them")
        checked[article_id] = (where, clean)

    result = ImportResult(unannotated=unannotated, kind=kind)
    with labelsfile.locked(labels_path):
        existing = labelsfile.read_records(labels_path)
        position = {r.get("id"): i for i, r in enumerate(existing)}
        history = []
        new_records = list(existing)
        appended = []
        for article_id, (_, record) in checked.items():
            if article_id in position:
                old = existing[position[article_id]]
                same = sorted(old.get("topics", [])) == sorted(record["topics"]) and old.get("tone") == record["tone"]
                if same:
                    result.unchanged.append(article_id)
                    continue
                history.append({**old, "replaced_at": imported_at,
                                "replaced_by": {k: record[k] for k in ("topics", "tone", "annotator", "origin")}})
                new_records[position[article_id]] = record
                result.replaced.append(article_id)
            else:
                appended.append(record)
                result.added.append(article_id)
        with labelsfile.no_interrupt():
            if history:
                result.history = labelsfile.history_path(labels_path)
                labelsfile.append_synced(result.history, history)
            if history or (appended and not labels_path.exists()):
                labelsfile.rewrite(labels_path, new_records + appended)
            elif appended:
                labelsfile.append_synced(labels_path, appended)
    return result


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in a container
        return "unknown"


def import_into(path: Path, labels_path: Path, annotator: str | None, config_path: Path | None,
                pool: Path | None, pool_format: str | None = None) -> ImportResult:
    """``import_labels`` with the label set from the config and ids checked against ``pool``
    (default: the config's data source)."""
    from train.config import load_config
    from train.data.inputs import read_source
    from train.label.pool import pool_config

    config = load_config(config_path)
    if pool is not None:
        source_config = pool_config(pool, pool_format, config)
        pool_name = str(pool)
    else:
        source_config = config
        pool_name = f"{config.data.source} (data.source of the config; pass --pool for another)"
    items = read_source(source_config, on_error="skip")
    known = {a.id for a in items.articles} | items.skipped_ids
    return import_labels(path, labels_path, config.labels, known, annotator, pool_name)
