"""An unlabeled pool of articles, in any source format the dataset builder reads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from artclf.errors import ArtclfError
from train.config import Config, load_config

FORMATS = ("seeds", "folders", "jsonl", "csv", "parquet")
_SUFFIX = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet", ".txt": "seeds"}


@dataclass(frozen=True)
class PoolItem:
    id: str
    title: str
    text: str


def detect_format(path: Path) -> str:
    """``seeds`` for a folder of .txt articles, ``folders`` for one of label sub-folders, else the
    table format its files' suffix names."""
    if path.is_file():
        fmt = _SUFFIX.get(path.suffix.lower())
        if fmt is None or fmt == "seeds":
            raise ArtclfError(f"{path}: cannot tell the pool format from the suffix '{path.suffix}'; "
                              f"pass --pool-format ({', '.join(FORMATS)})")
        return fmt
    if not path.is_dir():
        raise ArtclfError(f"{path}: pool not found; pass a folder of .txt articles or a .jsonl/.csv/.parquet file")
    if any(path.glob("*.txt")):
        return "seeds"
    if any(p.is_dir() and any(p.glob("*.txt")) for p in path.iterdir()):
        return "folders"
    for suffix in (".jsonl", ".csv", ".parquet"):
        if any(path.glob(f"*{suffix}")):
            return _SUFFIX[suffix]
    raise ArtclfError(f"{path}: no articles found (.txt files, label sub-folders, or .jsonl/.csv/.parquet files)")


def pool_config(path: Path, fmt: str | None = None, config: Config | None = None) -> Config:
    """The config that reads ``path`` as a source: the given config's [columns] and labels, this
    source and format, no gold labels file."""
    config = config or load_config(None)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ArtclfError(f"unknown pool format '{fmt}'; use one of {', '.join(FORMATS)}")
    data = dataclasses.replace(config.data, format=fmt, source=str(path), labels="")
    return dataclasses.replace(config, data=data)


def read_pool(path: Path, fmt: str | None = None, config: Config | None = None, on_error: str = "stop") -> list[PoolItem]:
    """The pool's articles (id, title, model text), in source order."""
    from train.data.inputs import read_source

    items = read_source(pool_config(path, fmt, config), on_error)
    return [PoolItem(a.id, a.title, a.text) for a in items.articles]
