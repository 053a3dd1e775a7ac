"""One annotator's labeling session, kept apart from the terminal so it can be tested without one.

The session walks the pool's unlabeled articles, most uncertain first by the current model. Topic
keys toggle a draft; a tone key saves the label (topics as toggled, that tone) at once: one
fsynced line appended to ``labels.jsonl`` under its lock. Skip puts an article aside, undo takes
back the last label (removed from the file, kept in ``labels.history.jsonl``) or skip. The state
(skips, the undo history) is a small JSON file beside the labels, ``<labels>.session.json``,
rewritten atomically after every action, so quitting (or a crash) loses nothing and the next
session resumes where this one stopped; what is labeled is read from the labels file itself.

Every ``refit_every`` labels the model is refitted in a background thread on the base training
labels plus the pool's new ones; when it is done, the remaining queue is re-ranked by it. The UI
never waits for it.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from artclf.errors import ArtclfError
from train.fsutil import write_json_atomic
from train.label import labelsfile
from train.label.importer import now_iso
from train.label.pool import PoolItem

RESERVED = {"s": "skip", "z": "undo", "q": "quit"}
_PREFERRED_TONE_KEYS = {"positive": "g", "neutral": "n", "negative": "b"}


def state_path(labels: Path) -> Path:
    return labels.with_name(labels.name + ".session.json")


def key_map(topic_labels: Sequence[str], tone_labels: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Single keys: topics 1..9 (toggle), tones g(ood)/n(eutral)/b(ad) or the first free letter of
    the name; s, z and q are skip, undo and quit."""
    if len(topic_labels) > 9:
        raise ArtclfError(f"the labeling session has single keys for at most 9 topics, got {len(topic_labels)}")
    topics = {str(i + 1): t for i, t in enumerate(topic_labels)}
    tones: dict[str, str] = {}
    used = set(RESERVED) | set(topics)
    for tone in tone_labels:
        candidates = [_PREFERRED_TONE_KEYS.get(tone, "")] + [c for c in tone.lower() if c.isalpha()] + list("acdefhijklmoprtuvwxy")
        key = next(c for c in candidates if c and c not in used)
        tones[key] = tone
        used.add(key)
    return topics, tones


@dataclass
class View:
    """What the screen shows for the current article."""

    item: PoolItem | None
    position: int  # 1-based among the articles still to label
    remaining: int
    draft_topics: list[str]
    prediction: dict[str, Any]
    evidence: dict[str, list[str]]
    status: str
    message: str
    labeled_this_session: int


class LabelSession:
    def __init__(self, items: Sequence[PoolItem], labels_path: Path, topic_labels: Sequence[str],
                 tone_labels: Sequence[str], model: Any = None, refit_every: int = 0,
                 refit: Callable[[list[tuple[str, str, tuple[str, ...], str]]], Any] | None = None,
                 annotator: str = "unknown", pool_name: str = "", on_change: Callable[[], None] | None = None) -> None:
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ArtclfError(f"{pool_name}: the pool has duplicate ids; each article needs its own id")
        labelsfile.check_writable(labels_path)
        self.items = {item.id: item for item in items}
        self.pool_order = ids
        self.labels_path = labels_path
        self.state_file = state_path(labels_path)
        self.topic_labels, self.tone_labels = list(topic_labels), list(tone_labels)
        self.topic_keys, self.tone_keys = key_map(self.topic_labels, self.tone_labels)
        self.model = model
        self.refit_every = refit_every
        self._refit = refit
        self.annotator = annotator
        self.pool_name = pool_name
        self.on_change = on_change or (lambda: None)
        self._lock = threading.RLock()
        self.done = {str(r.get("id")) for r in labelsfile.read_records(labels_path)} & set(ids)
        self.skipped: list[str] = []
        self.actions: list[list[str]] = []  # ["label" | "skip", id], oldest first
        self.front: list[str] = []  # articles put back by undo, shown before the queue
        self._load_state()
        self.order: list[str] = self._rank(self.model)
        self.draft: set[str] = set()
        self.message = ""
        self.labeled_this_session = 0
        self.since_refit = 0
        self.refits = 0
        self.status = f"model {model.version}" if model is not None else "no model: pool order"
        self._refit_thread: threading.Thread | None = None
        self._predict_cache: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {}

    # -- state -----------------------------------------------------------------------------------
    def _load_state(self) -> None:
        import json

        if not self.state_file.exists():
            return
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.skipped = [i for i in state.get("skipped", []) if i in self.items]
            self.actions = [a for a in state.get("actions", []) if isinstance(a, list) and len(a) == 2 and a[1] in self.items]
        except (ValueError, AttributeError, TypeError):
            raise ArtclfError(f"{self.state_file}: unreadable session state; delete it to start the queue afresh "
                              "(your labels are in the labels file and stay)") from None

    def save_state(self) -> None:
        write_json_atomic(self.state_file, {"pool": self.pool_name, "labels": str(self.labels_path),
                                            "skipped": self.skipped, "actions": self.actions[-1000:], "saved_at": now_iso()})

    # -- the queue -------------------------------------------------------------------------------
    def _todo(self) -> list[str]:
        skipped = set(self.skipped)
        return [i for i in self.pool_order if i not in self.done and i not in skipped]

    def _rank(self, model: Any) -> list[str]:
        todo = self._todo()
        if model is None or not todo:
            return todo
        from train.label.queue import select

        topic, tone = model.scores([self.items[i].text for i in todo])
        picks, _ = select("uncertainty", len(todo), topic=topic, tone=tone)
        return [todo[k] for k in picks]

    def remaining(self) -> list[str]:
        with self._lock:
            waiting = set(self._todo())
            front = [i for i in self.front if i in waiting]
            rest = [i for i in self.order if i in waiting and i not in front]
            # Anything the ranking has not seen yet (put back by an undo after a re-rank).
            rest += [i for i in self._todo() if i not in set(front) | set(rest)]
            return front + rest

    def current(self) -> PoolItem | None:
        remaining = self.remaining()
        return self.items[remaining[0]] if remaining else None

    def prediction(self, item: PoolItem) -> tuple[dict[str, Any], dict[str, list[str]]]:
        model = self.model
        if model is None:
            return {}, {}
        key = f"{id(model)}:{item.id}"
        if key not in self._predict_cache:
            from train.label.queue import evidence_ngrams

            prediction = model.classify([item.text])[0]
            self._predict_cache[key] = (prediction, evidence_ngrams(model, item.text, prediction, 8))
        return self._predict_cache[key]

    def view(self) -> View:
        item = self.current()
        remaining = len(self.remaining())
        prediction, evidence = self.prediction(item) if item is not None else ({}, {})
        return View(item, 1 if item else 0, remaining, [t for t in self.topic_labels if t in self.draft],
                    prediction, evidence, self.status, self.message, self.labeled_this_session)

    # -- actions ---------------------------------------------------------------------------------
    def press(self, key: str) -> str | None:
        """Handle one key; returns "quit" when the session should end."""
        if key in self.topic_keys:
            self.toggle(self.topic_keys[key])
        elif key in self.tone_keys:
            self.choose_tone(self.tone_keys[key])
        elif RESERVED.get(key) == "skip":
            self.skip()
        elif RESERVED.get(key) == "undo":
            self.undo()
        elif RESERVED.get(key) == "quit":
            self.save_state()
            return "quit"
        return None

    def toggle(self, topic: str) -> None:
        if self.current() is None:
            return
        self.draft ^= {topic}
        self.message = ""

    def choose_tone(self, tone: str) -> None:
        item = self.current()
        if item is None:
            self.message = "nothing left to label"
            return
        topics = [t for t in self.topic_labels if t in self.draft]
        record = {"id": item.id, "topics": topics, "tone": tone, "source": "gold", "annotator": self.annotator,
                  "labeled_at": now_iso(), "origin": f"artclf-label:{self.pool_name}"}
        labelsfile.append_label(self.labels_path, record)
        with self._lock:
            self.done.add(item.id)
            self.front = [i for i in self.front if i != item.id]
            self.actions.append(["label", item.id])
        self.save_state()
        self.labeled_this_session += 1
        self.since_refit += 1
        self.draft = set()
        self.message = f"saved {item.id}: {', '.join(topics) or 'no topic'} / {tone}"
        if self.refit_every and self.since_refit >= self.refit_every and self._refit is not None:
            self.start_refit()

    def skip(self) -> None:
        item = self.current()
        if item is None:
            return
        with self._lock:
            self.skipped.append(item.id)
            self.front = [i for i in self.front if i != item.id]
            self.actions.append(["skip", item.id])
        self.save_state()
        self.draft = set()
        self.message = f"skipped {item.id}"

    def undo(self) -> None:
        if not self.actions:
            self.message = "nothing to undo"
            return
        kind, article_id = self.actions.pop()
        draft: set[str] = set()
        if kind == "label":
            removed = labelsfile.remove_label(self.labels_path, article_id, "undo in artclf label", now_iso())
            if removed:
                draft = set(removed.get("topics", []))
            with self._lock:
                self.done.discard(article_id)
            self.labeled_this_session = max(0, self.labeled_this_session - 1)
        else:
            with self._lock:
                self.skipped = [i for i in self.skipped if i != article_id]
        with self._lock:
            self.front = [article_id] + [i for i in self.front if i != article_id]
        self.save_state()
        self.draft = draft
        self.message = f"undid the {kind} of {article_id}"

    # -- background refit ------------------------------------------------------------------------
    def start_refit(self) -> bool:
        """Refit in a background thread (not if one is running); True when one was started."""
        if self._refit_thread is not None and self._refit_thread.is_alive():
            return False
        self.since_refit = 0
        records = labelsfile.read_records(self.labels_path)
        labeled = [(r["id"], self.items[r["id"]].text, tuple(r.get("topics", [])), r.get("tone", ""))
                   for r in records if r.get("id") in self.items]
        self.status = f"refitting on {len(labeled)} new label(s) in the background..."
        self._refit_thread = threading.Thread(target=self._refit_worker, args=(labeled,), daemon=True)
        self._refit_thread.start()
        return True

    def _refit_worker(self, labeled: list[tuple[str, str, tuple[str, ...], str]]) -> None:
        try:
            model = self._refit(labeled)  # type: ignore[misc]
            order = self._rank(model)
            with self._lock:
                self.model = model
                self.order = order
                self.refits += 1
            self.status = f"model refit #{self.refits} on {len(labeled)} new label(s); queue re-ranked"
        except Exception as exc:  # the session goes on with the old model
            self.status = f"refit failed ({type(exc).__name__}: {exc}); keeping the previous model"
            with open(self.state_file.with_suffix(".refit-error.log"), "w", encoding="utf-8") as log:
                traceback.print_exc(file=log)
        self.on_change()

    def wait_for_refit(self, timeout: float | None = None) -> None:
        if self._refit_thread is not None:
            self._refit_thread.join(timeout)
