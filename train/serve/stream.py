"""Serving stage, streaming side: texts, article files and JSONL records in, one result per
article out, in batches so memory stays flat on long streams. ``artclf predict`` is a thin
wrapper over these functions; the HTTP server will be another.

A stream is answered record by record, in order: a bad record is a :class:`BadRecord` in its
place, which ``predict_stream`` either reports after every earlier result (``on_error="stop"``)
or answers with ``{"line": N, "error": ...}`` (``"skip"``). With ``delay`` set, a batch is
classified as soon as the input pauses for that long, so a caller can drive the stream one
line at a time (a co-process) without waiting for 256 lines.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence, Union

__all__ = [
    "BATCH", "DELAY", "BadRecord", "RecordError", "check_record", "file_text", "json_refusal", "parse_record", "predict_stream", "split_model_arg",
    "stdin_records", "timed_batches",
]

BATCH = 256
# How long a partial batch waits for more input before it is classified (seconds).
DELAY = 0.05
# Lines longer than this are never taken for a model reference (they are texts).
_MAX_REF = 4096


def split_model_arg(args: Sequence[str], models_dir: Path, model: str | None = None,
                    forced_texts: int = 0) -> tuple[str, list[str]]:
    """(model reference, texts) from ``predict``'s positional arguments.

    With ``model`` (``-m``) every positional is a text. Otherwise the first positional is the
    model when it resolves to one; when it does not but looks like a reference (``latest``, a
    version, a path, anything on disk, a near miss of a version or alias: see
    ``artclf.refs.looks_like_ref``) it is an error naming what exists; anything else (any text
    with a space, for one) is a text and ``latest`` answers. The last ``forced_texts``
    positionals came after ``--`` and are texts whatever they look like.
    """
    from artclf.errors import ModelNotFoundError
    from artclf.refs import looks_like_ref, resolve_ref

    args = list(args)
    if model is not None or not args or len(args) <= forced_texts:
        return model or "latest", args
    first = args[0]
    if first == "-" or len(first) > _MAX_REF or "\n" in first or "\r" in first or "\x00" in first:
        return "latest", args
    try:
        resolve_ref(first, models_dir)
    except ModelNotFoundError as exc:
        if not looks_like_ref(first, models_dir):
            return "latest", args
        if Path(first).is_file():
            raise ModelNotFoundError(f"{exc}; to classify the file's text, pass --file {first}") from None
        raise ModelNotFoundError(f"{exc}; to classify '{first}' as a text, put -- before it or pass -m latest") from None
    return first, args[1:]


def file_text(path: Path, encoding: str = "utf-8") -> str:
    """An article file's text in ``encoding``: parsed when in wire format, else taken whole. An
    empty or whitespace-only file is the empty text (answered as empty, like any empty input)."""
    import codecs

    from artclf.errors import ArtclfError
    from artclf.text import is_blank
    from train.data.parse import parse_article, read_text

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ArtclfError(f"--encoding {encoding}: not a text encoding Python knows; e.g. utf-8, latin-1, cp1252") from None
    raw = read_text(path, encoding)
    if is_blank(raw):
        return ""
    try:
        return parse_article(raw, path.stem, str(path)).text
    except ArtclfError:
        return raw.strip()


@dataclass(frozen=True)
class BadRecord:
    """A stream line that cannot be classified: where it is and what is wrong with it."""

    source: str
    line: int
    error: str
    id: Any = None

    def message(self) -> str:
        return f"{self.source}:{self.line}: {self.error}"

    def answer(self) -> dict[str, Any]:
        return {"line": self.line, **({"id": self.id} if self.id is not None else {}), "error": self.error}


Item = Union[tuple[Any, str], BadRecord]


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return _encodable(value)
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class RecordError(ValueError):
    """A parsed record that cannot be classified: the field at fault and what is wrong with it."""

    def __init__(self, field: str, message: str, record_id: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.id = record_id


def check_record(obj: Any) -> tuple[Any, str]:
    """(id, text) of a decoded record ``{"id"?, "title"?, "text"}``; a :class:`RecordError`
    naming the field otherwise. Shared by JSONL streams and the HTTP server."""
    from artclf.text import article_text

    if not isinstance(obj, dict):
        raise RecordError("", f'expected a JSON object with a "text" string, got {_json_type(obj)}')
    record_id = obj.get("id")
    if record_id is not None and not _valid_id(record_id):
        raise RecordError("id", f"'id' must be a string or a number, got {_json_type(record_id)}")
    text, title = obj.get("text"), obj.get("title")
    if text is None:
        raise RecordError("text", 'missing "text"; every record needs a "text" string (it may be empty)', record_id)
    if not isinstance(text, str):
        raise RecordError("text", f"'text' must be a string, got {_json_type(text)}", record_id)
    if title is not None and not isinstance(title, str):
        raise RecordError("title", f"'title' must be a string, got {_json_type(title)}", record_id)
    if not _encodable(text) or (title and not _encodable(title)):
        raise RecordError("text" if not _encodable(text) else "title",
                          "text holds a lone surrogate escape (\\ud800-\\udfff); send valid Unicode", record_id)
    return record_id, article_text(title, text)


def parse_record(raw: bytes | str, number: int, source: str = "stdin") -> Item:
    """(id, text) for one JSONL line ``{"id"?, "title"?, "text"}``, or a BadRecord saying why not.
    ``raw`` is the line as read (bytes are decoded here, so one undecodable line spoils only itself)."""

    def bad(error: str, record_id: Any = None) -> BadRecord:
        return BadRecord(source, number, error, record_id)

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return bad(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); re-encode the input as UTF-8")
    if number == 1:
        raw = raw.lstrip("\ufeff")
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return bad(f"malformed JSON ({exc.msg} at column {exc.colno}); fix or remove the line")
    except (ValueError, RecursionError) as exc:
        return bad(f"unreadable JSON ({json_refusal(exc)}); fix the record")
    try:
        return check_record(obj)
    except RecordError as exc:
        return bad(exc.message, exc.id)


def json_refusal(exc: BaseException) -> str:
    """Why valid JSON was refused by Python (an integer over 4300 digits, nesting too deep), in one line."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return reason.split("; use sys.")[0]  # Python's own advice is not the user's to follow


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (not a finite number)"
    return names.get(type(value), type(value).__name__)


def stdin_records(stream: BinaryIO | Iterable[bytes], source: str = "stdin") -> Iterator[Item]:
    """(id, text) or a BadRecord for each non-blank line of a JSONL byte stream, in order."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        yield parse_record(line, number, source)


_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def timed_batches(items: Iterable[Any], size: int = BATCH, delay: float = DELAY) -> Iterator[list[Any]]:
    """Lists of up to ``size`` items, each handed out at most ``delay`` seconds after its first
    item arrived (sooner when full or at the end). ``items`` is read by a background thread, so
    a slow or interactive source (a pipe from an app) never holds back an answer; a bounded
    queue keeps memory flat when the source is faster than the consumer."""
    pending: queue.Queue[Any] = queue.Queue(maxsize=4 * size)
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                pending.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there in order
            put(_Failure(exc))
            return
        put(_END)

    reader = threading.Thread(target=read, name="artclf-stream-reader", daemon=True)
    reader.start()
    try:
        batch: list[Any] = []
        deadline = 0.0
        while True:
            try:
                item = pending.get(timeout=max(0.0, deadline - time.monotonic()) if batch else None)
            except queue.Empty:
                yield batch
                batch = []
                continue
            if item is _END or isinstance(item, _Failure):
                if batch:
                    yield batch
                if isinstance(item, _Failure):
                    raise item.exc
                return
            if not batch:
                deadline = time.monotonic() + delay
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    finally:
        stop.set()


def predict_stream(model: Any, items: Iterable[Item], explain: int = 0, on_error: str = "stop",
                   delay: float | None = None, min_confidence: float | None = None) -> Iterator[dict[str, Any]]:
    """One result per item, in order, classified in batches so memory stays flat on long streams.

    An item is (id, text) or a :class:`BadRecord`. On a BadRecord, ``on_error="stop"`` raises a
    ``DataError`` naming its line after yielding every earlier result; ``"skip"`` yields
    ``{"line": N, "error": ...}`` in its place and goes on. ``delay`` (seconds) hands a partial
    batch to the model once the input pauses that long (see :func:`timed_batches`); without it
    batches are filled first. With ``explain`` > 0 each result also carries the top ``explain``
    n-grams per predicted label. ``min_confidence`` withholds decisions below it ("uncertain",
    see ``artclf.outputs.abstain``); the HTTP server is to take it as a query parameter and pass
    it here."""
    from artclf.outputs import check_min_confidence

    check_min_confidence(min_confidence)
    if on_error not in ("stop", "skip"):
        raise ValueError(f"on_error must be 'stop' or 'skip', got {on_error!r}")
    iterator = iter(items)
    batches = timed_batches(iterator, BATCH, delay) if delay else iter(lambda: list(islice(iterator, BATCH)), [])
    try:
        yield from _answer(model, batches, explain, on_error, min_confidence)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stops the reader thread of timed_batches


def _answer(model: Any, batches: Iterable[list[Item]], explain: int, on_error: str,
            min_confidence: float | None = None) -> Iterator[dict[str, Any]]:
    from artclf.errors import DataError
    from artclf.outputs import abstain

    for batch in batches:
        good = [item for item in batch if not isinstance(item, BadRecord)]
        texts = [text for _, text in good]
        results = iter((model.explain_batch(texts, explain) if explain > 0 else model.classify(texts)) if texts else [])
        for item in batch:
            if isinstance(item, BadRecord):
                if on_error == "stop":
                    raise DataError(f"{item.message()}; nothing after it was answered "
                                    "(--on-error skip answers it with an error object and goes on)")
                yield item.answer()
                continue
            item_id, _ = item
            yield ({"id": item_id} if item_id is not None else {}) | abstain(next(results), min_confidence)
