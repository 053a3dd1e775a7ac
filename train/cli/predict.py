"""`artclf predict`: classify texts, article files, or JSONL records from stdin."""

from __future__ import annotations

import json
import sys
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, TextIO

import typer

from train.cli._util import cli_errors

BATCH = 256


def looks_like_model(arg: str, models_dir: Path) -> bool:
    """Whether the first positional argument names a model rather than a text to classify."""
    from artclf.errors import ArtclfError
    from train.store.registry import MANIFEST, read_aliases, version_number

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


def file_text(path: Path) -> str:
    """An article file's text: parsed when in wire format, else taken whole."""
    from artclf.errors import ArtclfError
    from train.data.parse import parse_article

    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ArtclfError(f"{path}: not valid UTF-8; re-save the file as UTF-8") from None
    except OSError as exc:
        raise ArtclfError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return parse_article(raw, path.stem, str(path)).text
    except ArtclfError:
        if raw.strip():
            return raw.strip()
        raise


def stdin_records(stream: TextIO) -> Iterator[tuple[Any, str]]:
    """(id, text) for each JSONL record {"id"?, "title"?, "text"} on the stream."""
    from artclf.errors import ArtclfError

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
        text = f"{title}\n\n{obj['text']}" if isinstance(title, str) and title else obj["text"]
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


def predict_cli(
    args: Optional[list[str]] = typer.Argument(None, help="[MODEL] then texts; '-' reads JSONL records from stdin."),
    file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="An article file to classify (repeatable)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model reference (default: latest)."),
    models_dir: Path = typer.Option(Path("models"), help="Where model versions live."),
    explain: bool = typer.Option(False, "--explain", help="Add the n-grams that pushed each predicted label most."),
    top: int = typer.Option(5, "--top", min=1, help="How many n-grams per label with --explain."),
    version_policy: str = typer.Option("warn", "--version-policy", help="Library version mismatch: warn, strict (refuse) or ignore."),
) -> None:
    """Print one JSON line per article: topics, topic_scores, tone, tone_scores (and explanation)."""
    with cli_errors():
        from artclf.errors import ArtclfError
        from train.store.registry import load_model

        args = list(args or [])
        if model is None and args and looks_like_model(args[0], models_dir):
            model = args.pop(0)
        loaded = load_model(model or "latest", models_dir, version_policy=version_policy)
        items: list[tuple[Any, str]] = [(None, t) for t in args if t != "-"]
        items += [(p.stem, file_text(p)) for p in file or []]
        if not items and "-" not in args:
            raise ArtclfError("nothing to classify; pass texts, --file PATH, or '-' to read JSONL from stdin")
        stream: Iterable[tuple[Any, str]] = items
        if "-" in args:
            stream = [*items, *stdin_records(sys.stdin)] if items else stdin_records(sys.stdin)
        for result in predict_stream(loaded, stream, top if explain else 0):
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
