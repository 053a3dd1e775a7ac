"""Read articles (and any labels they carry) from the configured source.

Formats (``[data] format``):

- ``seeds``: a folder of wire-format ``.txt`` articles (see ``train/parse.py``); id = file stem.
- ``folders``: one sub-folder per label (label = folder name, as in BBC News); ``none`` = no topic.
- ``jsonl``, ``csv``, ``parquet``: a file, or a folder of such files, read through
  ``datasets.load_dataset`` with the ``[columns]`` mapping.
- ``hub``: a Hugging Face Hub dataset by name (needs the network), same column mapping.

Labels a source carries may be partial (topics known, tone not, or the reverse); labeling rules
fill what is missing later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.config import ColumnsConfig, Config
from artclf.errors import ArtclfError
from artclf.text import article_text, is_blank
from train.data.labels import close_label, encoding_name, text_codec
from train.data.parse import Article, parse_article, read_article


@dataclass(frozen=True)
class PartialLabel:
    """Labels known for an article; None where the source says nothing."""

    topics: tuple[str, ...] | None
    tone: str | None
    source: str = "gold"
    # file:line or row, for messages about these labels
    where: str = ""
    # Whether a label the config does not list was dropped from the topics / the tone.
    dropped_topics: bool = False
    dropped_tone: bool = False


@dataclass
class SourceItems:
    articles: list[Article]
    labels: dict[str, PartialLabel] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    # Ids of articles skipped with --on-error skip: their gold labels are not errors, just unused.
    skipped_ids: set[str] = field(default_factory=set)


def read_source(config: Config, on_error: str = "stop") -> SourceItems:
    fmt, source = config.data.format, config.data.source
    if fmt == "seeds":
        return _read_txt_folder(Path(source), on_error, config.data.encoding)
    if fmt == "folders":
        return _read_label_folders(Path(source), config, on_error)
    return _read_table(config, on_error)


def _read_txt_folder(folder: Path, on_error: str, encoding: str = "utf-8") -> SourceItems:
    if not folder.is_dir():
        raise ArtclfError(f"{folder}: seeds folder not found; create it or set data.source in the config")
    paths = sorted(p for p in folder.glob("*.txt") if p.is_file())
    if not paths:
        raise ArtclfError(f"{folder}: no articles (*.txt files) found; add articles or point data.source elsewhere")
    items = SourceItems([])
    for path in paths:
        try:
            items.articles.append(read_article(checked_path(path, folder), encoding))
        except ArtclfError as exc:
            if on_error == "stop":
                raise
            items.skipped.append(str(exc))
            items.skipped_ids.add(path.stem)
    return items


def checked_path(path: Path, root: Path) -> Path:
    """``path`` if it is safe to read as an article of the folder ``root``, else a per-file error.

    Refused: a symlink leading outside ``root`` (a scraped folder must not pull in /etc/passwd or
    another user's files), and a file name that is not UTF-8 or holds control characters (it could
    not be stored as an id, nor shown on one line).
    """
    if _bad_name(path.name):
        # Undecodable bytes shown as \xff and control characters escaped, so the message stays one line.
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in os.fsencode(path).decode("utf-8", "backslashreplace"))
        raise ArtclfError(f"{shown}: file name is not UTF-8 or holds control characters; rename the file")
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise ArtclfError(f"{path}: symlink to {target}, outside {root}; refusing to read it; "
                              "copy the file into the folder or remove the link")
    return path


def _bad_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept by Python as lone surrogates
        return True
    return any(ord(c) < 32 or ord(c) == 127 for c in name)


def _read_label_folders(root: Path, config: Config, on_error: str) -> SourceItems:
    if not root.is_dir():
        raise ArtclfError(f"{root}: folder not found; set data.source to a folder with one sub-folder per label")
    task = config.data.folder_task
    known = config.labels.topics if task == "topics" else config.labels.tone
    if not known:
        raise ArtclfError(f"{root}: data.folder_task is {task!r} but labels.{task} is empty (that task is off); "
                          f"set data.folder_task to the task the folder names label, or list them in labels.{task}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ArtclfError(f"{root}: no label sub-folders; expected e.g. {root}/energy/*.txt")
    items = SourceItems([])
    for folder in folders:
        name = folder.name
        if name not in known and not (task == "topics" and name == "none") and config.labels.unlisted != "drop":
            close = close_label(name, known)
            if config.labels.unlisted == "error" or close:
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ArtclfError(
                    f"{folder}: folder name '{name}' is not a known {task} label ({', '.join(known)}"
                    f"{', none' if task == 'topics' else ''}); {hint}rename it or add the label to [labels]"
                    + ("" if close else ', or set labels.unlisted = "drop" to leave it out')
                )
        for path in sorted(p for p in folder.glob("*.txt") if p.is_file()):
            try:
                article = read_article(checked_path(path, root), config.data.encoding)
            except ArtclfError as exc:
                if on_error == "stop":
                    raise
                items.skipped.append(str(exc))
                items.skipped_ids.add(f"{name}/{path.stem}")
                continue
            article_id = f"{name}/{article.id}"
            items.articles.append(Article(**{**article.__dict__, "id": article_id}))
            topics = (() if name == "none" else (name,)) if task == "topics" else None
            items.labels[article_id] = PartialLabel(topics, name if task == "tone" else None, f"folder:{name}", str(path))
    if not items.articles and not items.skipped:
        raise ArtclfError(f"{root}: no articles (*.txt) in any label sub-folder")
    return items


_BUILDERS = {"jsonl": "json", "csv": "csv", "parquet": "parquet"}


def _utf8_copies(files: list[str], encoding: str) -> list[str]:
    """UTF-8 copies (in a temporary folder removed at exit) of JSONL files in another encoding."""
    import atexit
    import shutil
    import tempfile

    from train.data.labels import decode_error

    folder = tempfile.mkdtemp(prefix="artclf-utf8-")
    atexit.register(shutil.rmtree, folder, True)
    out = []
    for i, name in enumerate(files):
        data = Path(name).read_bytes()
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise decode_error(name, data, exc, encoding) from None
        target = Path(folder) / f"{i}.jsonl"
        target.write_text(text, encoding="utf-8")
        out.append(str(target))
    return out


def _read_table(config: Config, on_error: str) -> SourceItems:
    import datasets

    datasets.disable_progress_bars()
    fmt, source, cols = config.data.format, config.data.source, config.columns
    if fmt == "hub":
        where = f"hub dataset {source}"
        try:
            table = datasets.load_dataset(source, split=config.data.hub_split)
        except Exception as exc:  # network, auth, missing split: all reported the same way
            raise ArtclfError(f"{where}: cannot load ({type(exc).__name__}: {exc}); check the name, split and network") from None
    else:
        path = Path(source)
        where = str(path)
        if path.is_dir():
            files = sorted(str(p) for p in path.glob(f"*.{fmt}"))
            if not files:
                raise ArtclfError(f"{path}: no *.{fmt} files in this folder")
        elif path.is_file():
            files = [str(path)]
        else:
            raise ArtclfError(f"{path}: not found; set data.source to a .{fmt} file or a folder of them")
        options = {"encoding": config.data.encoding} if fmt in ("jsonl", "csv") else {}
        if fmt == "jsonl" and text_codec(config.data.encoding) != "utf-8-sig":
            # Arrow's JSON reader reads UTF-8 only: re-encode other encodings first.
            files, options = _utf8_copies(files, config.data.encoding), {}
        try:
            table = datasets.load_dataset(_BUILDERS[fmt], data_files=files, split="train", **options)
        except ArtclfError:
            raise
        except Exception as exc:  # pyarrow parse errors come in many types
            text = str(exc).splitlines()[0] if str(exc) else ""
            hint = ""
            if isinstance(exc, UnicodeDecodeError) or "decode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
                hint = (f"; the file is not valid {encoding_name(config.data.encoding)}: set its encoding with "
                        "--set data.encoding=latin-1 (or cp1252, ...)")
            raise ArtclfError(f"{path}: cannot read as {fmt} ({type(exc).__name__}: {text}){hint}") from None

    present = set(table.column_names)
    defaults = ColumnsConfig()
    for key in ("id", "title", "text", "topics", "tone", "published"):
        column = getattr(cols, key)
        # A column left at its default name may simply be absent; one the user named must exist.
        if column and column not in present and (key == "text" or column != getattr(defaults, key)):
            raise ArtclfError(
                f"{where}: mapped column '{column}' (columns.{key}) is missing; columns present: "
                f"{', '.join(sorted(present))}; fix the [columns] mapping"
            )

    def get(row: dict[str, Any], key: str) -> Any:
        column = getattr(cols, key)
        return row.get(column) if column and column in present else None

    has_topics = bool(cols.topics) and cols.topics in present
    items = SourceItems([])
    first_row: dict[str, int] = {}
    for number, row in enumerate(table, start=1):
        at = f"{where}: row {number}"
        raw_id = get(row, "id")
        article_id = str(raw_id) if raw_id not in (None, "") else str(number)
        text = get(row, "text")
        try:
            if article_id in first_row:
                raise ArtclfError(f"{at}: duplicate id '{article_id}' (first at row {first_row[article_id]}); ids must be unique")
            first_row[article_id] = number
            if not isinstance(text, str) or is_blank(text):
                raise ArtclfError(f"{at}: empty text; remove the row or fill columns.text ('{cols.text}')")
            title = get(row, "title")
            title = title.strip() if isinstance(title, str) else ""
            article = (
                parse_article(article_text(title, text), article_id, at) if title
                else Article(id=article_id, title="", body=text.strip())
            )
            published = get(row, "published")
            if published:
                article = Article(**{**article.__dict__, "published": str(published)})
            label = _row_label(get(row, "topics"), get(row, "tone"), cols.topics_separator, at, has_topics)
        except ArtclfError as exc:
            if on_error == "stop":
                raise
            items.skipped.append(str(exc))
            continue
        items.articles.append(article)
        if label is not None:
            items.labels[article_id] = label
    if not items.articles and not items.skipped:
        raise ArtclfError(f"{where}: no rows")
    return items


def _row_label(topics: Any, tone: Any, separator: str, at: str, has_topics: bool = True) -> PartialLabel | None:
    """Labels from one row. In a topics column an empty cell means no topic and "?" means
    unknown (left to the rules); a missing or empty tone cell means unknown."""
    if isinstance(topics, str) and topics.strip() == "?":
        topics = None
    elif has_topics and topics in (None, ""):
        topics = []
    if isinstance(topics, str):
        topics = [t.strip() for t in topics.split(separator) if t.strip()]
    if topics is not None and not (isinstance(topics, list) and all(isinstance(t, str) for t in topics)):
        raise ArtclfError(f"{at}: topics must be a list of names or a '{separator}'-separated string, got {topics!r}")
    if tone is not None and not isinstance(tone, str):
        raise ArtclfError(f"{at}: tone must be a string, got {tone!r}")
    if topics is None and not tone:
        return None
    return PartialLabel(tuple(topics) if topics is not None else None, tone or None, "gold", at)
