"""Label stage: read gold labels (``labels.jsonl``) and check them against the label set."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
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
    # file:line, for messages about this label
    where: str = ""
    # Whether a label the config does not list was dropped from the topics / the tone.
    dropped_topics: bool = False
    dropped_tone: bool = False


def close_label(name: str, configured: Sequence[str]) -> list[str]:
    """The configured label ``name`` is most likely a typo of (same letters but case, or nearly)."""
    return [c for c in configured if c.lower() == name.lower()] or difflib.get_close_matches(name, configured, n=1, cutoff=0.8)


@dataclass
class Unlisted:
    """Labels found in the data that the config does not list, for a task that is on
    (``labels.unlisted``): dropped with a count, or an error naming where the first one is.

    ``auto`` drops them, except a name close to a configured one ("enrgy", "Sport" for "sport"),
    which is most likely a typo and is an error. A task that is off ignores its labels entirely.
    """

    labels: LabelsConfig
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {"topics": Counter(), "tone": Counter()})

    def keep(self, task: str, names: Sequence[str], where: str) -> list[str]:
        """The configured names among ``names``; the others are counted or refused."""
        configured = self.labels.topics if task == "topics" else self.labels.tone
        kept = []
        for name in names:
            if name in configured:
                kept.append(name)
                continue
            close = close_label(name, configured)
            policy = self.labels.unlisted
            if policy == "error" or (policy == "auto" and close):
                what = "topic label(s)" if task == "topics" else "tone"
                hint = f"did you mean '{close[0]}'? fix the label" if close else \
                    f'list it in labels.{task}, or set labels.unlisted = "drop" to train without it'
                raise ArtclfError(f"{where}: unknown {what} {name if task == 'topics' else repr(name)}; "
                                  f"known {'topics' if task == 'topics' else 'tones'}: {', '.join(configured)}; {hint}")
            self.counts[task][name] += 1
        return kept

    def report(self) -> dict[str, dict[str, int]]:
        """Dropped labels per task: {"topics": {name: articles}, "tone": {...}} (tasks with any)."""
        return {task: dict(sorted(c.items())) for task, c in self.counts.items() if c}


def check_label(record: dict[str, Any], labels: LabelsConfig, where: str, unlisted: Unlisted | None = None) -> Label:
    """Validate one ``{"topics": [...], "tone": ...}`` record; ``where`` is ``file:line``.

    A task that is off (an empty label list) ignores what the record says for it. Labels the
    config does not list are errors, or handled by ``unlisted`` (dropped and counted) when given;
    an article's tone dropped that way is left unknown ("")."""
    topics = record.get("topics", []) if labels.topics else []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ArtclfError(f"{where}: 'topics' must be a list of label names, got {topics!r}")
    given_topics, given_tone = len(topics), record.get("tone")
    if unlisted is not None:
        topics = unlisted.keep("topics", topics, where)
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
    elif unlisted is not None and isinstance(tone, str) and tone:
        tone = (unlisted.keep("tone", [tone], where) or [""])[0]
    elif tone not in labels.tone:
        raise ArtclfError(f"{where}: unknown tone {tone!r}; known tones: {', '.join(labels.tone)}")
    source = record.get("source", "gold")
    if not isinstance(source, str) or not source:
        raise ArtclfError(f"{where}: 'source' must be a non-empty string such as \"gold\", got {source!r}")
    ordered = tuple(t for t in labels.topics if t in topics)
    return Label(topics=ordered, tone=tone, source=source, where=where, dropped_topics=len(topics) < given_topics,
                 dropped_tone=bool(labels.tone) and bool(given_tone) and not tone)


def text_codec(encoding: str) -> str:
    """The codec to decode ``[data] encoding`` text with: utf-8 also skips a leading BOM (a file
    saved by a Windows editor starts with one; it is not data)."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def encoding_name(encoding: str) -> str:
    """How messages name an encoding ("UTF-8", as people write it, else as configured)."""
    return "UTF-8" if text_codec(encoding) == "utf-8-sig" else encoding


def decode_error(path: Path | str, data: bytes, exc: UnicodeDecodeError, encoding: str) -> ArtclfError:
    """One line naming the file, the bad byte and both ways out (another encoding, or skip it)."""
    encoding = encoding_name(encoding)
    return ArtclfError(
        f"{path}: not valid {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
        f"set the file's encoding with --set data.encoding=latin-1 (or cp1252, ...; --encoding for predict), "
        f"re-save it as {encoding}, or pass --on-error skip to leave it out"
    )


def read_jsonl(path: Path, encoding: str = "utf-8") -> Iterable[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; malformed lines name their number."""
    try:
        handle = path.open(encoding=text_codec(encoding))
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
            raise ArtclfError(f"{path}: not valid {encoding_name(encoding)}; set data.encoding to the file's encoding "
                              f"(e.g. --set data.encoding=latin-1) or re-save it as {encoding_name(encoding)}") from None


def read_labels(
    path: Path, labels: LabelsConfig, known_ids: set[str], unlisted: Unlisted | None = None, encoding: str = "utf-8"
) -> dict[str, Label]:
    """Map article id -> Label; every id must name a known article and appear once."""
    out: dict[str, Label] = {}
    for number, record in read_jsonl(path, encoding):
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
        out[article_id] = check_label(record, labels, where, unlisted)
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
