"""Serving stage, streaming side: texts, article files and JSONL records in, one result per
article out, in batches so memory stays flat on long streams. ``artclf predict`` is a thin
wrapper over these functions; the HTTP server will be another.
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

__all__ = ["BATCH", "file_text", "looks_like_model", "predict_stream", "stdin_records"]

BATCH = 256


def looks_like_model(arg: str, models_dir: Path) -> bool:
    """Whether the first positional argument names a model rather than a text to classify."""
    from artclf.errors import ArtclfError
    from artclf.manifest import MANIFEST
    from artclf.refs import read_aliases, version_number

    if arg == "latest" or version_number(arg) is not None:
        return True
    try:
        if arg in read_aliases(models_dir):
            return True
    except ArtclfError:
        pass  # a broken aliases.json is reported when the model is resolved
    if len(arg) >= 4096 or "\n" in arg or "\x00" in arg:
        return False
    path = Path(arg)
    try:
        if path.is_dir() and (path / MANIFEST).is_file():
            return True
        # An existing path ("../archive/v2", "/srv/models", "topic.joblib") was meant as a model:
        # let resolve_ref refuse it by name rather than classify the path's text with `latest`.
        path_like = "/" in arg or arg.startswith(".") or arg.endswith((".joblib", ".skops", ".json"))
        return path_like and path.exists()
    except OSError:
        return False


def file_text(path: Path, encoding: str = "utf-8") -> str:
    """An article file's text in ``encoding``: parsed when in wire format, else taken whole."""
    import codecs

    from artclf.errors import ArtclfError
    from train.data.parse import parse_article, read_text

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ArtclfError(f"--encoding {encoding}: not a text encoding Python knows; e.g. utf-8, latin-1, cp1252") from None
    raw = read_text(path, encoding)
    try:
        return parse_article(raw, path.stem, str(path)).text
    except ArtclfError:
        if raw.strip():
            return raw.strip()
        raise


def stdin_records(stream: TextIO) -> Iterator[tuple[Any, str]]:
    """(id, text) for each JSONL record {"id"?, "title"?, "text"} on the stream."""
    from artclf.errors import ArtclfError
    from artclf.text import article_text

    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line.lstrip("\ufeff") if number == 1 else line)
        except json.JSONDecodeError as exc:
            raise ArtclfError(f"stdin:{number}: malformed JSON ({exc.msg})") from None
        except (ValueError, RecursionError) as exc:
            # Valid JSON that Python refuses: an integer over 4300 digits, nesting too deep.
            raise ArtclfError(f"stdin:{number}: unreadable JSON ({str(exc).splitlines()[0]}); fix the record") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise ArtclfError(f'stdin:{number}: expected an object with a "text" string')
        title = obj.get("title")
        text = article_text(title if isinstance(title, str) else None, obj["text"])
        yield obj.get("id"), text


def predict_stream(model: Any, items: Iterable[tuple[Any, str]], explain: int = 0) -> Iterator[dict[str, Any]]:
    """One result per (id, text), classified in batches so memory stays flat on long streams.
    With ``explain`` > 0 each result also carries the top ``explain`` n-grams per predicted label."""
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        texts = [t for _, t in batch]
        results = model.explain_batch(texts, explain) if explain > 0 else model.classify(texts)
        for (item_id, _), result in zip(batch, results):
            yield ({"id": item_id} if item_id is not None else {}) | result
