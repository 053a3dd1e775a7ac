"""Label stage: read gold labels (``labels.jsonl``) and check them against the label set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from train.config import LabelsConfig
from artclf.errors import ArtclfError


@dataclass(frozen=True)
class Label:
    topics: tuple[str, ...]
    tone: str
    # "gold" for human labels; a rule name for weak labels.
    source: str = "gold"


def check_label(record: dict[str, Any], labels: LabelsConfig, where: str) -> Label:
    """Validate one ``{"topics": [...], "tone": ...}`` record; ``where`` is ``file:line``."""
    topics = record.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ArtclfError(f"{where}: 'topics' must be a list of label names, got {topics!r}")
    unknown = sorted(set(topics) - set(labels.topics))
    if unknown:
        raise ArtclfError(
            f"{where}: unknown topic label(s) {', '.join(unknown)}; known topics: {', '.join(labels.topics)}"
        )
    tone = record.get("tone")
    if not labels.tone:
        tone = ""  # no tone task configured: whatever the record says is ignored
    elif tone is None:
        raise ArtclfError(f"{where}: missing 'tone'; expected one of: {', '.join(labels.tone)}")
    elif tone not in labels.tone:
        raise ArtclfError(f"{where}: unknown tone {tone!r}; known tones: {', '.join(labels.tone)}")
    source = record.get("source", "gold")
    if not isinstance(source, str) or not source:
        raise ArtclfError(f"{where}: 'source' must be a non-empty string such as \"gold\", got {source!r}")
    ordered = tuple(t for t in labels.topics if t in topics)
    return Label(topics=ordered, tone=tone, source=source)


def read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; malformed lines name their number."""
    try:
        # utf-8-sig: a labels file saved by a Windows editor starts with a BOM; it is not data.
        handle = path.open(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ArtclfError(f"{path}: file not found") from None
    except OSError as exc:
        raise ArtclfError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ArtclfError(f"{path}:{number}: malformed JSON ({exc.msg}); fix or remove the line") from None
                except (ValueError, RecursionError) as exc:
                    # Valid JSON that Python refuses: an integer over 4300 digits, nesting too deep.
                    raise ArtclfError(f"{path}:{number}: unreadable JSON ({_first_line(exc)}); fix or remove the line") from None
                if not isinstance(obj, dict):
                    raise ArtclfError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
                yield number, obj
        except UnicodeDecodeError:
            raise ArtclfError(f"{path}: not valid UTF-8; re-save the file as UTF-8") from None


def read_labels(path: Path, labels: LabelsConfig, known_ids: set[str]) -> dict[str, Label]:
    """Map article id -> Label; every id must name a known article and appear once."""
    out: dict[str, Label] = {}
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        article_id = record.get("id")
        if article_id is None or article_id == "":
            raise ArtclfError(f"{where}: missing 'id' (the article's file stem)")
        if not isinstance(article_id, str):
            raise ArtclfError(f"{where}: 'id' must be a string (the article's file stem), got {article_id!r}")
        if article_id not in known_ids:
            raise ArtclfError(
                f"{where}: label for unknown article '{article_id}' (no {article_id}.txt in the seeds "
                "folder); remove the line or add the article"
            )
        if article_id in out:
            raise ArtclfError(f"{where}: second label for '{article_id}'; keep one line per article")
        out[article_id] = check_label(record, labels, where)
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def topic_matrix(topic_sets: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """Topic label lists as a 0/1 matrix with one column per configured label (fit and metrics)."""
    index = {label: j for j, label in enumerate(labels)}
    Y = np.zeros((len(topic_sets), len(labels)), dtype=np.int8)
    for i, topics in enumerate(topic_sets):
        for t in topics:
            Y[i, index[t]] = 1
    return Y
